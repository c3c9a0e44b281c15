import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseDuration, formatDuration, parseTime, resolveRange, autoStep, isoTime, rangeLabel, viewRange, viewParams,
} from '../static/js/timerange.js';

test('durations', () => {
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.ok(Number.isNaN(parseDuration('5x')));
  assert.ok(Number.isNaN(parseDuration('')));
  assert.equal(formatDuration(90), '1m30s');
  assert.equal(formatDuration(0.25), '250ms');
  assert.equal(formatDuration(90061), '1d1h1m1s');
});

test('times: relative, ISO (UTC without a zone), Unix seconds', () => {
  const now = 1_800_000_000;
  assert.equal(parseTime('now', now), now);
  assert.equal(parseTime('now-1h', now), now - 3600);
  assert.equal(parseTime('now+5m', now), now + 300);
  assert.equal(parseTime('2026-11-22T10:00:00Z', now), 1795341600);
  assert.equal(parseTime('2026-11-22 10:00', now), 1795341600);
  assert.equal(parseTime('2026-11-22T11:00:00+01:00', now), 1795341600);
  assert.equal(parseTime('1795341600', now), 1795341600);
  assert.ok(Number.isNaN(parseTime('yesterday', now)));
  assert.deepEqual(resolveRange('now-1h', 'now', now), { start: now - 3600, end: now });
  assert.match(resolveRange('now', 'now-1h', now).error, /after its start/);
  assert.match(resolveRange('bad', 'now', now).error, /invalid start time "bad"/);
  assert.deepEqual(viewRange('bad', 'now', now), { start: now - 3600, end: now, error: 'invalid start time "bad"' });
  assert.equal(isoTime(1795341600.4), '2026-11-22T10:00:00Z');
  assert.equal(rangeLabel('now-1h', 'now'), 'Last 1 hour');
  assert.equal(rangeLabel('now-90m', 'now'), 'now-90m to now');
});

test('steps stay nice and under 11,000 points', () => {
  assert.equal(autoStep(0, 3600, 500), 10);
  assert.equal(autoStep(0, 300, 500), 1);
  assert.equal(autoStep(0, 86400, 500), 300);
  assert.equal(autoStep(0, 86400 * 365, 500, 1), 86400);
  assert.ok(86400 * 30 / autoStep(0, 86400 * 30, 100000) <= 11000);
});

test('view parameters default to the last hour', () => {
  assert.deepEqual(viewParams({}), { q: '', from: 'now-1h', to: 'now', refresh: '' });
  assert.deepEqual(viewParams({ q: 'up', from: 'now-5m', refresh: '10s' }), { q: 'up', from: 'now-5m', to: 'now', refresh: '10s' });
});
