import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  completionContext, rankCandidates, applyCompletion, staticCandidates, tokenize, quoteString,
  PROMQL_FUNCTIONS, PROMQL_KEYWORDS, LOGQL_KEYWORDS,
} from '../static/js/completecore.js';

// '¦' marks the cursor; it is removed from the text.
const at = (marked, lang = 'promql') => {
  const cursor = marked.indexOf('¦');
  assert.ok(cursor >= 0, 'cursor marker missing');
  const text = marked.slice(0, cursor) + marked.slice(cursor + 1);
  return { text, cursor, ctx: completionContext(text, cursor, lang) };
};

// Picks the fields a case asserts on.
const pick = (ctx, keys) => Object.fromEntries(keys.filter((k) => k in ctx).map((k) => [k, ctx[k]]));
const K = ['kind', 'prefix', 'start', 'end', 'metric', 'labelName', 'matchers'];

const cases = [
  // PromQL
  ['promql', 'http_req¦', { kind: 'metric', prefix: 'http_req', start: 0, end: 8 }],
  ['promql', 'rate(http_req¦uests_total[5m])', { kind: 'metric', prefix: 'http_req', start: 5, end: 24 }],
  ['promql', 'sum(¦', { kind: 'metric', prefix: '', start: 4, end: 4 }],
  ['promql', 'job:request_rate:5¦', { kind: 'metric', prefix: 'job:request_rate:5', start: 0, end: 18 }],
  ['promql', 'http_requests_total{¦', { kind: 'labelName', prefix: '', start: 20, end: 20,
    metric: 'http_requests_total', matchers: '' }],
  ['promql', 'http_requests_total{jo¦}', { kind: 'labelName', prefix: 'jo', start: 20, end: 22,
    metric: 'http_requests_total', matchers: '' }],
  ['promql', 'rate(http_requests_total{job="api", code=~"5¦..", instance="x"}[5m])',
    { kind: 'labelValue', prefix: '5', start: 42, end: 47, metric: 'http_requests_total', labelName: 'code',
      matchers: '{job="api",instance="x"}' }],
  ['promql', 'up{job="a", inst¦="h"}', { kind: 'labelName', prefix: 'inst', start: 12, end: 16, metric: 'up',
    matchers: '{job="a"}' }],
  ['promql', 'up{job="a", ¦}', { kind: 'labelName', prefix: '', start: 12, end: 12, metric: 'up', matchers: '{job="a"}' }],
  ['promql', 'up{path="/a\\"b¦', { kind: 'labelValue', prefix: '/a"b', start: 8, end: 14, labelName: 'path',
    metric: 'up', matchers: '' }],
  ['promql', 'up{path="x\\"y", job="¦"}', { kind: 'labelValue', prefix: '', start: 20, end: 22, labelName: 'job',
    metric: 'up', matchers: '{path="x\\"y"}' }],
  ['promql', 'up{path=\'a¦\'}', { kind: 'labelValue', prefix: 'a', start: 8, end: 11, labelName: 'path' }],
  ['promql', 'up{path=`C:\\¦`}', { kind: 'labelValue', prefix: 'C:\\', start: 8, end: 13, labelName: 'path' }],
  ['promql', 'up{job=¦', { kind: 'labelValue', prefix: '', start: 7, end: 7, labelName: 'job', metric: 'up' }],
  ['promql', '{__name__="x", j¦', { kind: 'labelName', prefix: 'j', start: 15, end: 16, matchers: '{__name__="x"}' }],
  ['promql', '{__name__="¦"}', { kind: 'labelValue', prefix: '', start: 10, end: 12, labelName: '__name__', matchers: '' }],
  ['promql', '{"my.metric", env="¦', { kind: 'labelValue', prefix: '', start: 18, end: 19, labelName: 'env',
    metric: 'my.metric', matchers: '' }],
  ['promql', 'up{job="a"¦}', { kind: 'none' }],
  ['promql', 'rate(x[5¦', { kind: 'duration', prefix: '5', start: 7, end: 8 }],
  ['promql', 'rate(x[¦])', { kind: 'duration', prefix: '', start: 7, end: 7 }],
  ['promql', 'max_over_time(rate(x[1m])[1h:¦])', { kind: 'duration', prefix: '', start: 29, end: 29 }],
  ['promql', 'x offset 1¦', { kind: 'duration', prefix: '1', start: 9, end: 10 }],
  ['promql', 'sum by (job, inst¦) (rate(x[5m]))', { kind: 'labelName', prefix: 'inst', start: 13, end: 17 }],
  ['promql', 'sum by (job) (ra¦', { kind: 'metric', prefix: 'ra', start: 14, end: 16 }],
  ['promql', 'sum(rate(x[5m])) without (¦', { kind: 'labelName', prefix: '', start: 26, end: 26 }],
  ['promql', 'a * on(instance) group_left(no¦) b', { kind: 'labelName', prefix: 'no', start: 28, end: 30 }],
  ['promql', 'label_replace(up, "ds¦', { kind: 'none' }],
  ['promql', 'topk(5¦', { kind: 'none' }],
  ['promql', 'up # rate(fo¦', { kind: 'none' }],
  ['promql', 'up # comment\n+ ra¦', { kind: 'metric', prefix: 'ra', start: 15, end: 17 }],
  ['promql', 'up}}) ] {a="b"}) + fo¦', { kind: 'metric', prefix: 'fo' }],
  // LogQL
  ['logql', '{¦', { kind: 'labelName', prefix: '', start: 1, end: 1, matchers: '' }],
  ['logql', '{container="web", ¦}', { kind: 'labelName', prefix: '', start: 18, end: 18, matchers: '{container="web"}' }],
  ['logql', '{container="w¦"}', { kind: 'labelValue', prefix: 'w', start: 11, end: 14, labelName: 'container',
    matchers: '' }],
  ['logql', '{container="web", app=~"¦', { kind: 'labelValue', prefix: '', start: 23, end: 24, labelName: 'app',
    matchers: '{container="web"}' }],
  ['logql', '{container="web"} |= "err¦', { kind: 'none' }],
  ['logql', '{container="web"} |= "error" | js¦', { kind: 'metric', prefix: 'js', start: 31, end: 33 }],
  ['logql', '{container="web"} | json | level="err¦', { kind: 'none' }],
  ['logql', '{app="a"} | line_format "{{.msg}} {" | la¦', { kind: 'metric', prefix: 'la', start: 39, end: 41 }],
  ['logql', '{app="a"} | label_format x="{{ .y }}" | logfmt | ¦', { kind: 'metric', prefix: '', start: 49, end: 49 }],
  ['logql', 'sum by (container) (count_over_time({container="web"} | json | line_format "{{.a}}" [5¦]))',
    { kind: 'duration', prefix: '5', start: 85, end: 86 }],
  ['logql', 'sum by (cont¦) (count_over_time({a="b"}[5m]))', { kind: 'labelName', prefix: 'cont', start: 8, end: 12 }],
  ['logql', 'sum by (container) (count_over_¦', { kind: 'metric', prefix: 'count_over_', start: 20, end: 31 }],
  ['logql', 'rate({app="a"}[5m]) > 1 and co¦', { kind: 'metric', prefix: 'co' }],
  ['logql', '{app=\'a¦', { kind: 'none' }],
  ['logql', '{app="a"} # {lab¦', { kind: 'none' }],
];

for (const [lang, marked, want] of cases) {
  test(`completionContext ${lang}: ${marked}`, () => {
    const { ctx } = at(marked, lang);
    assert.deepEqual(pick(ctx, K), pick({ ...ctx, ...want }, K));
    assert.equal(ctx.kind, want.kind);
  });
}

test('completionContext: LogQL stages and unwrap', () => {
  assert.equal(at('{a="b"} | ¦', 'logql').ctx.stage, 'pipe');
  assert.equal(at('{a="b"} | unwrap du¦', 'logql').ctx.stage, 'unwrap');
  assert.equal(at('sum(¦', 'logql').ctx.stage, undefined);
  assert.equal(at('up{job=~"¦', 'promql').ctx.op, '=~');
  assert.equal(at('up{job="¦', 'promql').ctx.quote, '"');
});

test('completionContext never throws on odd input', () => {
  const inputs = ['', '{', '}', '"', '\\', '{a="\\', '((((', ']]]', '{a=`', 'x[', 'x{a=~"b"}[5m:', '# ', '!', '{,,,}',
    '{a="b" c="d"}', 'sum by (', '\u{1F600}{a="', 'a\n"b\nc'];
  for (const lang of ['promql', 'logql']) {
    for (const s of inputs) {
      for (let i = 0; i <= s.length; i++) {
        const ctx = completionContext(s, i, lang);
        assert.ok(['metric', 'labelName', 'labelValue', 'duration', 'none'].includes(ctx.kind));
        assert.ok(ctx.start <= i && i <= ctx.end, `${s} @${i}`);
      }
    }
  }
  assert.equal(completionContext(null, 5, 'promql').kind, 'metric');
  assert.equal(completionContext('abc', 99, 'promql').end, 3);
  assert.equal(completionContext('abc', -4, 'promql').start, 0);
});

test('tokenize keeps escaped quotes inside strings', () => {
  const toks = tokenize('{a="x\\"}", b=~"y"}', 'promql');
  assert.deepEqual(toks.map((t) => t.type), ['op', 'ident', 'op', 'string', 'op', 'ident', 'op', 'string', 'op']);
  assert.equal(toks[3].value, 'x"}');
  assert.equal(toks[6].text, '=~');
});

test('rankCandidates: prefix first, shorter first, then case-insensitive, substring, fuzzy', () => {
  const list = ['node_cpu_seconds_total', 'http_requests_total', 'http_req', 'HTTP_up', 'go_http_x', 'xhttpy',
    'h_t_t_p', 'unrelated'];
  assert.deepEqual(rankCandidates(list, 'http').map((c) => c.text),
    ['http_req', 'http_requests_total', 'HTTP_up', 'go_http_x', 'xhttpy', 'h_t_t_p']);
  assert.deepEqual(rankCandidates(list, 'http', 2).map((c) => c.text), ['http_req', 'http_requests_total']);
});

test('rankCandidates: objects keep detail; duplicates dropped; empty prefix keeps order', () => {
  const out = rankCandidates([{ text: 'rate', detail: 'd' }, 'rate', 'irate', { text: 'increase' }], 'rate');
  assert.deepEqual(out, [{ text: 'rate', detail: 'd' }, { text: 'irate' }]);
  assert.deepEqual(rankCandidates(['b', 'a', 'b', 'c'], '').map((c) => c.text), ['b', 'a', 'c']);
  assert.deepEqual(rankCandidates(['b', 'a', 'c'], '', 2).map((c) => c.text), ['b', 'a']);
  assert.deepEqual(rankCandidates(null, 'x'), []);
});

test('rankCandidates: fuzzy prefers tighter matches', () => {
  assert.deepEqual(rankCandidates(['h_x_x_x_r_t', 'hst_rt', 'rate'], 'hrt').map((c) => c.text), ['hst_rt', 'h_x_x_x_r_t']);
  assert.deepEqual(rankCandidates(['sum_over_time', 'count_over_time', 'over'], 'over').map((c) => c.text),
    ['over', 'sum_over_time', 'count_over_time']);
});

const applyAt = (marked, item, lang = 'promql') => {
  const { text, ctx } = at(marked, lang);
  const r = applyCompletion(text, ctx, item);
  return r.text.slice(0, r.cursor) + '¦' + r.text.slice(r.cursor);
};

test('applyCompletion: label values get quotes and escapes', () => {
  assert.equal(applyAt('up{job=¦', 'api'), 'up{job="api"¦');
  assert.equal(applyAt('up{job="a¦', 'a"b\\c'), 'up{job="a\\"b\\\\c"¦');
  assert.equal(applyAt('up{job="a¦"}', 'api'), 'up{job="api"¦}');
  assert.equal(applyAt('up{job=\'a¦\'}', 'it\'s "x"'), 'up{job=\'it\\\'s "x"\'¦}');
  assert.equal(applyAt('up{job=`a¦', 'C:\\x'), 'up{job=`C:\\x`¦');
  assert.equal(applyAt('up{job=`a¦', 'a`b'), 'up{job="a`b"¦');
  assert.equal(applyAt('up{instance=~"1¦"}', '10.0.0.1:9100'), 'up{instance=~"10\\\\.0\\\\.0\\\\.1:9100"¦}');
  assert.equal(applyAt('{app="a¦', 'line\nbreak', 'logql'), '{app="line\\nbreak"¦');
});

test('applyCompletion: label names', () => {
  assert.equal(applyAt('up{jo¦', 'job'), 'up{job="¦');
  assert.equal(applyAt('up{jo¦b!="x"}', 'job'), 'up{job¦!="x"}');
  assert.equal(applyAt('up{¦', 'http.method'), 'up{"http.method"="¦');
  assert.equal(applyAt('sum by (jo¦)', 'job'), 'sum by (job¦)');
  assert.equal(applyAt('{¦', 'container', 'logql'), '{container="¦');
});

test('applyCompletion: functions, keywords, metrics, durations', () => {
  assert.equal(applyAt('ra¦', { text: 'rate' }), 'rate(¦');
  assert.equal(applyAt('ra¦(x[5m])', 'rate'), 'rate(¦x[5m])');
  assert.equal(applyAt('http¦', { text: 'http_requests_total' }), 'http_requests_total¦');
  assert.equal(applyAt('sum b¦', 'by'), 'sum by (¦');
  assert.equal(applyAt('x[5¦]', '5m'), 'x[5m¦]');
  assert.equal(applyAt('{a="b"} | js¦', 'json', 'logql'), '{a="b"} | json¦');
  assert.equal(applyAt('{a="b"} | line¦', 'line_format', 'logql'), '{a="b"} | line_format ¦');
  assert.equal(applyAt('count¦', 'count_over_time', 'logql'), 'count_over_time(¦');
  assert.equal(applyAt('x ¦', { text: 'custom', suffix: '!' }), 'x custom!¦');
});

test('static tables and candidates', () => {
  const names = PROMQL_FUNCTIONS.map((f) => f.name);
  assert.equal(names.length, 104);
  assert.equal(new Set(names).size, names.length);
  for (const n of ['sum', 'rate', 'histogram_quantile', 'limitk', 'limit_ratio', 'label_replace', 'info']) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(PROMQL_KEYWORDS.some((k) => k.name === 'group_left'));
  const lq = LOGQL_KEYWORDS.map((k) => k.name);
  for (const n of ['rate', 'count_over_time', 'json', 'logfmt', 'line_format', 'unwrap', 'duration_seconds']) {
    assert.ok(lq.includes(n), n);
  }
  const pipe = staticCandidates(at('{a="b"} | ¦', 'logql').ctx).map((c) => c.text);
  assert.ok(pipe.includes('json') && !pipe.includes('sum'));
  const top = staticCandidates(at('su¦', 'logql').ctx).map((c) => c.text);
  assert.ok(top.includes('sum') && !top.includes('json'));
  assert.deepEqual(staticCandidates(at('x[¦', 'promql').ctx)[1], { text: '5m', kind: 'duration' });
  assert.deepEqual(staticCandidates(at('x{¦', 'promql').ctx), []);
  assert.equal(quoteString('a\tb'), '"a\\tb"');
});
