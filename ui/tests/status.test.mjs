import test from 'node:test';
import assert from 'node:assert/strict';
import {
  TABS, tabFor, nextTab, groupTargets, ago, formatSeconds, labelsText, kvRows, msTime,
} from '../static/js/status.js';

test('tabFor: known names, else the first tab', () => {
  assert.equal(tabFor('logs'), 'logs');
  assert.equal(tabFor('build'), 'build');
  assert.equal(tabFor('nope'), 'targets');
  assert.equal(tabFor(undefined), 'targets');
  assert.deepEqual(TABS.map(([n]) => n), ['targets', 'logs', 'tsdb', 'build']);
});

test('nextTab: arrows wrap, Home/End, other keys null', () => {
  assert.equal(nextTab('targets', 'ArrowRight'), 'logs');
  assert.equal(nextTab('build', 'ArrowRight'), 'targets');
  assert.equal(nextTab('targets', 'ArrowLeft'), 'build');
  assert.equal(nextTab('tsdb', 'ArrowLeft'), 'logs');
  assert.equal(nextTab('tsdb', 'Home'), 'targets');
  assert.equal(nextTab('logs', 'End'), 'build');
  assert.equal(nextTab('logs', 'Enter'), null);
});

test('groupTargets: pools sorted, up counts, targets sorted by URL', () => {
  const groups = groupTargets([
    { scrapePool: 'node', scrapeUrl: 'http://b:9100/metrics', health: 'down' },
    { scrapePool: 'loupe', scrapeUrl: 'http://l/metrics', health: 'up' },
    { scrapePool: 'node', scrapeUrl: 'http://a:9100/metrics', health: 'up' },
    { scrapePool: 'node', scrapeUrl: 'http://c:9100/metrics', health: 'unknown' },
  ]);
  assert.deepEqual(groups.map((g) => [g.pool, g.up, g.total]), [['loupe', 1, 1], ['node', 1, 3]]);
  assert.deepEqual(groups[1].targets.map((t) => t.scrapeUrl),
    ['http://a:9100/metrics', 'http://b:9100/metrics', 'http://c:9100/metrics']);
  assert.deepEqual(groupTargets(undefined), []);
});

test('ago: seconds, minutes, hours, days, never', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  assert.equal(ago('2026-11-22T11:59:48Z', now), '12s ago');
  assert.equal(ago('2026-11-22T11:59:48.5Z', now), '11s ago');
  assert.equal(ago('2026-11-22T12:00:00Z', now), 'just now');
  assert.equal(ago('2026-11-22T12:00:05Z', now), 'just now');
  assert.equal(ago('2026-11-22T11:56:56Z', now), '3m 4s ago');
  assert.equal(ago('2026-11-22T11:57:00Z', now), '3m ago');
  assert.equal(ago('2026-11-22T09:55:00Z', now), '2h 5m ago');
  assert.equal(ago('2026-11-21T10:00:00Z', now), '1d 2h ago');
  assert.equal(ago('0001-01-01T00:00:00Z', now), 'never');
  assert.equal(ago('', now), 'never');
  assert.equal(ago(undefined, now), 'never');
});

test('formatSeconds: µs, ms, s', () => {
  assert.equal(formatSeconds(0.0005), '500µs');
  assert.equal(formatSeconds(0.00123), '1.23ms');
  assert.equal(formatSeconds(0.0123), '12.3ms');
  assert.equal(formatSeconds(1.5), '1.50s');
  assert.equal(formatSeconds(12.34), '12.3s');
  assert.equal(formatSeconds(0), '0µs');
  assert.equal(formatSeconds(NaN), '—');
  assert.equal(formatSeconds(undefined), '—');
});

test('labelsText: sorted, quoted', () => {
  assert.equal(labelsText({ job: 'node', instance: 'a:9100' }), 'instance="a:9100", job="node"');
  assert.equal(labelsText({ a: 'say "x"' }), 'a="say \\"x\\""');
  assert.equal(labelsText(null), '');
});

test('kvRows: values as text', () => {
  assert.deepEqual(kvRows({ version: '3.5.0', ok: true, n: 4, o: { a: 1 }, z: null }),
    [['version', '3.5.0'], ['ok', 'true'], ['n', '4'], ['o', '{"a":1}'], ['z', '']]);
  assert.deepEqual(kvRows(null), []);
});

test('msTime: ISO in UTC, extreme values as a dash', () => {
  assert.equal(msTime(Date.parse('2026-11-22T10:00:00Z')), '2026-11-22T10:00:00Z');
  assert.equal(msTime(Date.parse('2026-11-22T10:00:00.250Z')), '2026-11-22T10:00:00.250Z');
  assert.equal(msTime(9223372036854775807), '—');
  assert.equal(msTime(-9223372036854775808), '—');
});
