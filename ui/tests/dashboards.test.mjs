import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ALL, isValidId, escapeRegex, encodeSelection, substituteQuery, selectionsFrom, unionValues,
  cleanDashboard, moveItem, copyId, panelStep, varParam,
} from '../static/js/dashboards.js';

test('isValidId: the server rule', () => {
  assert.equal(isValidId('my-dash_1'), true);
  assert.equal(isValidId('a'), true);
  assert.equal(isValidId('a'.repeat(64)), true);
  assert.equal(isValidId('a'.repeat(65)), false);
  assert.equal(isValidId(''), false);
  assert.equal(isValidId('-x'), false);
  assert.equal(isValidId('_x'), false);
  assert.equal(isValidId('Upper'), false);
  assert.equal(isValidId('a b'), false);
  assert.equal(isValidId('a/b'), false);
  assert.equal(isValidId(undefined), false);
});

test('escapeRegex: RE2 metacharacters', () => {
  assert.equal(escapeRegex('web-1'), 'web-1');
  assert.equal(escapeRegex('a.b'), 'a\\.b');
  assert.equal(escapeRegex('x+(y)|[z]{1}^$*?\\'), 'x\\+\\(y\\)\\|\\[z\\]\\{1\\}\\^\\$\\*\\?\\\\');
});

test('encodeSelection: All, and per string context', () => {
  assert.equal(encodeSelection('', '"'), ALL);
  assert.equal(encodeSelection(undefined), ALL);
  assert.equal(encodeSelection(ALL, '"'), ALL);
  assert.equal(encodeSelection('a.b', '"'), 'a\\\\.b');
  assert.equal(encodeSelection('a.b', '`'), 'a\\.b');
  assert.equal(encodeSelection('a.b', ''), 'a\\.b');
  assert.equal(encodeSelection('say "hi"', '"'), 'say \\"hi\\"');
  assert.equal(encodeSelection("it's", "'"), "it\\'s");
  assert.equal(encodeSelection('a`b', '`'), 'a\\x60b');
  assert.equal(encodeSelection('a\nb', '"'), 'a\\nb');
});

test('substituteQuery: All and single values in double quotes', () => {
  const q = 'sum(rate(x{container=~"$container"}[5m]))';
  assert.equal(substituteQuery(q, { container: '' }), 'sum(rate(x{container=~".+"}[5m]))');
  assert.equal(substituteQuery(q, { container: 'web.1' }), 'sum(rate(x{container=~"web\\\\.1"}[5m]))');
  assert.equal(substituteQuery(q, { container: 'web' }), 'sum(rate(x{container=~"web"}[5m]))');
});

test('substituteQuery: ${name}, longest names first, raw strings, escapes and unknown names', () => {
  assert.equal(substituteQuery('{a=~"${a}", ab=~"$ab"}', { a: 'x', ab: 'y.z' }), '{a=~"x", ab=~"y\\\\.z"}');
  assert.equal(substituteQuery('{a=~`$a`}', { a: 'p.q' }), '{a=~`p\\.q`}');
  assert.equal(substituteQuery('{a=~"\\"$a"}', { a: 'v' }), '{a=~"\\"v"}');
  assert.equal(substituteQuery('{a=~"$other"} |= "$"', { a: 'v' }), '{a=~"$other"} |= "$"');
  assert.equal(substituteQuery('{a=~"${nope}"}', { a: 'v' }), '{a=~"${nope}"}');
  assert.equal(substituteQuery('up', {}), 'up');
  assert.equal(substituteQuery('{c=~"$c"} |~ "(?i)$c"', { c: '' }), '{c=~".+"} |~ "(?i).+"');
});

test('selectionsFrom: URL parameters, default All', () => {
  const vars = [{ name: 'container', label: 'container' }, { name: 'job', label: 'job' }];
  assert.deepEqual(selectionsFrom(vars, { 'var-container': 'web', 'var-job': ALL }), { container: 'web', job: '' });
  assert.deepEqual(selectionsFrom(undefined, {}), {});
  assert.equal(varParam('x'), 'var-x');
});

test('unionValues: sorted, de-duplicated, numeric-aware, junk dropped', () => {
  assert.deepEqual(unionValues(['web', 'db', 'app10'], ['app2', 'web', '', 3], null), ['app2', 'app10', 'db', 'web']);
  assert.deepEqual(unionValues(), []);
});

test('cleanDashboard: known fields only, defaults, empty optional fields dropped', () => {
  const doc = cleanDashboard({
    title: '  T ',
    description: ' ',
    extra: 1,
    variables: [{ name: 'c', label: 'container', match: '' }, { name: '', label: '', match: '' }],
    panels: [
      { title: 'A', query: ' up \n', lang: 'promql', kind: 'graph', unit: '', stacked: false, junk: true },
      { title: 'B', query: '{a="b"}', lang: 'logql', kind: 'logs', unit: 'bytes', stacked: true },
      { query: 'x', kind: 'pie' },
    ],
  });
  assert.deepEqual(doc, {
    title: 'T',
    variables: [{ name: 'c', label: 'container' }],
    panels: [
      { title: 'A', query: 'up', lang: 'promql', kind: 'graph' },
      { title: 'B', query: '{a="b"}', lang: 'logql', kind: 'logs', unit: 'bytes', stacked: true },
      { title: '', query: 'x', lang: 'promql', kind: 'graph' },
    ],
  });
  assert.deepEqual(Object.keys(cleanDashboard({ title: 'x', description: 'd', panels: [] })), ['title', 'description', 'panels']);
  assert.deepEqual(cleanDashboard({ title: 'x', variables: [{ name: 'v', label: 'l', match: '{a="b"}' }] }).variables,
    [{ name: 'v', label: 'l', match: '{a="b"}' }]);
});

test('moveItem: moves within bounds, copies otherwise', () => {
  const list = ['a', 'b', 'c'];
  assert.deepEqual(moveItem(list, 1, -1), ['b', 'a', 'c']);
  assert.deepEqual(moveItem(list, 1, 1), ['a', 'c', 'b']);
  assert.deepEqual(moveItem(list, 0, -1), ['a', 'b', 'c']);
  assert.deepEqual(moveItem(list, 2, 1), ['a', 'b', 'c']);
  assert.deepEqual(list, ['a', 'b', 'c']);
});

test('copyId: first free -copy suffix, within 64 characters', () => {
  assert.equal(copyId('containers', []), 'containers-copy');
  assert.equal(copyId('containers', ['containers-copy', 'containers-copy-2']), 'containers-copy-3');
  const long = 'x'.repeat(64);
  assert.equal(copyId(long, []).length, 64);
  assert.equal(isValidId(copyId(long, [])), true);
});

test('panelStep: ~300 points, PromQL at least 15 s', () => {
  assert.equal(panelStep(0, 3600, 'promql'), 15);
  assert.equal(panelStep(0, 300, 'promql'), 15);
  assert.equal(panelStep(0, 300, 'logql'), 1);
  assert.equal(panelStep(0, 86400, 'promql'), 300);
  assert.equal(panelStep(0, 3600, 'logql'), 15);
});
