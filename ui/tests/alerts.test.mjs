import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countStates, explorerHref } from '../static/js/alerts.js';

test('countStates counts alerting rules only', () => {
  const groups = [
    { rules: [{ type: 'alerting', state: 'firing' }, { type: 'recording' }, { type: 'alerting', state: 'pending' }] },
    { rules: [{ type: 'alerting', state: 'inactive' }, { type: 'alerting', state: 'firing' }] },
  ];
  assert.deepEqual(countStates(groups), { firing: 2, pending: 1, inactive: 1 });
  assert.deepEqual(countStates(undefined), { firing: 0, pending: 0, inactive: 0 });
});

test('explorerHref picks the explorer by the group language', () => {
  const nav = { href: (page, params) => `#/${page}?${new URLSearchParams(params)}` };
  assert.equal(explorerHref({}, 'up == 0', nav), '#/metrics?q=up+%3D%3D+0&from=now-1h&to=now');
  assert.equal(explorerHref({ lang: 'logql' }, 'sum(rate({a="b"}[5m])) > 1', nav),
    '#/logs?q=sum%28rate%28%7Ba%3D%22b%22%7D%5B5m%5D%29%29+%3E+1&from=now-1h&to=now');
});
