// Query-box completion for PromQL and LogQL: context detection, ranking and insertion.
// Pure functions only (no DOM, no fetch) so Node can test them.

const fn = (kind, suffix) => ([name, detail]) => ({ name, detail, kind, suffix });

/** Every PromQL 3.x function and aggregation operator, as {name, detail, kind, suffix}. */
export const PROMQL_FUNCTIONS = [
  ...[
    ['sum', 'sum over dimensions'], ['min', 'minimum over dimensions'], ['max', 'maximum over dimensions'],
    ['avg', 'average over dimensions'], ['group', 'all values become 1'],
    ['stddev', 'population standard deviation'], ['stdvar', 'population standard variance'],
    ['count', 'number of elements'], ['count_values', 'count elements with the same value'],
    ['topk', 'largest k elements by value'], ['bottomk', 'smallest k elements by value'],
    ['quantile', 'φ-quantile over dimensions'], ['limitk', 'k pseudo-random elements'],
    ['limit_ratio', 'pseudo-random ratio of elements'],
  ].map(fn('aggregation', '(')),
  ...[
    ['abs', 'absolute value'], ['absent', '1-element vector if no series'],
    ['absent_over_time', '1-element vector if range is empty'], ['acos', 'arccosine'], ['acosh', 'inverse hyperbolic cosine'],
    ['asin', 'arcsine'], ['asinh', 'inverse hyperbolic sine'], ['atan', 'arctangent'], ['atanh', 'inverse hyperbolic tangent'],
    ['avg_over_time', 'average over the range'], ['ceil', 'round up'], ['changes', 'number of value changes'],
    ['clamp', 'clamp to [min, max]'], ['clamp_max', 'clamp to a maximum'], ['clamp_min', 'clamp to a minimum'],
    ['cos', 'cosine'], ['cosh', 'hyperbolic cosine'], ['count_over_time', 'number of samples in the range'],
    ['day_of_month', 'day of month (UTC)'], ['day_of_week', 'day of week (UTC, 0 = Sunday)'],
    ['day_of_year', 'day of year (UTC)'], ['days_in_month', 'days in the month (UTC)'], ['deg', 'radians to degrees'],
    ['delta', 'difference over the range (gauges)'], ['deriv', 'per-second derivative (linear regression)'],
    ['double_exponential_smoothing', 'smoothed value (experimental)'], ['end', 'evaluation end time (experimental)'],
    ['exp', 'exponential'], ['first_over_time', 'oldest sample in the range'], ['floor', 'round down'],
    ['histogram_avg', 'mean of native histograms'], ['histogram_count', 'observation count of native histograms'],
    ['histogram_fraction', 'fraction of observations in [lower, upper]'],
    ['histogram_quantile', 'φ-quantile from histogram buckets'],
    ['histogram_quantiles', 'several quantiles as a label (experimental)'],
    ['histogram_stddev', 'standard deviation of native histograms'],
    ['histogram_stdvar', 'standard variance of native histograms'],
    ['histogram_sum', 'sum of observations of native histograms'], ['hour', 'hour of day (UTC)'],
    ['idelta', 'difference of the last two samples'], ['increase', 'increase over the range (counters)'],
    ['info', 'add info-metric labels (experimental)'], ['irate', 'per-second rate from the last two samples'],
    ['label_join', 'join label values into a new label'], ['label_replace', 'regex-replace into a label'],
    ['last_over_time', 'newest sample in the range'], ['ln', 'natural logarithm'], ['log10', 'decimal logarithm'],
    ['log2', 'binary logarithm'], ['mad_over_time', 'median absolute deviation (experimental)'],
    ['max_of', 'larger of two scalars (experimental)'], ['max_over_time', 'maximum over the range'],
    ['min_of', 'smaller of two scalars (experimental)'], ['min_over_time', 'minimum over the range'],
    ['minute', 'minute of hour (UTC)'], ['month', 'month of year (UTC)'], ['pi', 'π'],
    ['predict_linear', 'predicted value t seconds ahead'], ['present_over_time', '1 for series with samples'],
    ['quantile_over_time', 'φ-quantile over the range'], ['rad', 'degrees to radians'],
    ['range', 'query range in seconds (experimental)'], ['rate', 'per-second average rate (counters)'],
    ['resets', 'number of counter resets'], ['round', 'round to nearest (multiple)'],
    ['scalar', 'single-element vector as scalar'], ['sgn', 'sign'], ['sin', 'sine'], ['sinh', 'hyperbolic sine'],
    ['sort', 'sort ascending by value'], ['sort_by_label', 'sort by label values (experimental)'],
    ['sort_by_label_desc', 'sort by label values, descending (experimental)'], ['sort_desc', 'sort descending by value'],
    ['sqrt', 'square root'], ['start', 'evaluation start time (experimental)'],
    ['start_timestamp', 'start timestamps of samples (experimental)'],
    ['stddev_over_time', 'standard deviation over the range'], ['stdvar_over_time', 'standard variance over the range'],
    ['step', 'query step in seconds (experimental)'], ['sum_over_time', 'sum over the range'], ['tan', 'tangent'],
    ['tanh', 'hyperbolic tangent'], ['time', 'evaluation time in seconds'], ['timestamp', 'timestamps of samples'],
    ['ts_of_first_over_time', 'time of the oldest sample (experimental)'],
    ['ts_of_last_over_time', 'time of the newest sample (experimental)'],
    ['ts_of_max_over_time', 'time of the maximum (experimental)'],
    ['ts_of_min_over_time', 'time of the minimum (experimental)'],
    ['vector', 'scalar as a label-less vector'], ['year', 'year (UTC)'],
  ].map(fn('function', '(')),
];

/** PromQL keywords and binary operators spelled as words, as {name, detail, kind, suffix}. */
export const PROMQL_KEYWORDS = [
  ...[['by', 'keep only these labels'], ['without', 'drop these labels'], ['on', 'match only on these labels'],
    ['ignoring', 'match ignoring these labels']].map(fn('keyword', ' (')),
  ...[['group_left', 'many-to-one matching'], ['group_right', 'one-to-many matching'], ['bool', 'comparison returns 0/1'],
    ['offset', 'shift evaluation time back'], ['and', 'intersection'], ['or', 'union'], ['unless', 'complement'],
    ['atan2', 'arctangent of two operands']].map(fn('keyword', ' ')),
  ...[['inf', 'positive infinity'], ['nan', 'not a number']].map(fn('keyword', '')),
];

/** Every LogQL keyword: range and vector aggregations, parsers, formatters, other pipeline stages,
 *  unwrap conversions and grouping/binary keywords, as {name, detail, kind, suffix}. Kinds: 'range',
 *  'aggregation', 'function', 'parser', 'formatter', 'stage', 'conversion', 'keyword'. */
export const LOGQL_KEYWORDS = [
  ...[
    ['count_over_time', 'log lines in the range'], ['rate', 'log lines per second'],
    ['rate_counter', 'per-second rate of an unwrapped counter'], ['bytes_over_time', 'bytes of log lines in the range'],
    ['bytes_rate', 'bytes of log lines per second'], ['absent_over_time', '1-element vector if range is empty'],
    ['sum_over_time', 'sum of unwrapped values'], ['avg_over_time', 'average of unwrapped values'],
    ['min_over_time', 'minimum of unwrapped values'], ['max_over_time', 'maximum of unwrapped values'],
    ['first_over_time', 'first unwrapped value'], ['last_over_time', 'last unwrapped value'],
    ['stddev_over_time', 'standard deviation of unwrapped values'],
    ['stdvar_over_time', 'standard variance of unwrapped values'], ['quantile_over_time', 'φ-quantile of unwrapped values'],
  ].map(fn('range', '(')),
  ...[
    ['sum', 'sum over labels'], ['avg', 'average over labels'], ['min', 'minimum over labels'],
    ['max', 'maximum over labels'], ['count', 'number of elements'], ['stddev', 'standard deviation over labels'],
    ['stdvar', 'standard variance over labels'], ['topk', 'largest k elements'], ['bottomk', 'smallest k elements'],
    ['sort', 'sort ascending by value'], ['sort_desc', 'sort descending by value'],
    ['approx_topk', 'approximate largest k elements'],
  ].map(fn('aggregation', '(')),
  ...[['label_replace', 'regex-replace into a label'], ['vector', 'scalar as a vector'],
    ['ip', 'match an IP, range or CIDR']].map(fn('function', '(')),
  ...[['json', 'extract labels from JSON'], ['logfmt', 'extract labels from logfmt'], ['unpack', 'unpack packed labels'],
    ['decolorize', 'strip ANSI colour codes']].map(fn('parser', '')),
  ...[['regexp', 'extract labels with a regex'], ['pattern', 'extract labels with a pattern']].map(fn('parser', ' ')),
  ...[['line_format', 'rewrite the line with a template'], ['label_format', 'rename or template labels']]
    .map(fn('formatter', ' ')),
  ...[['drop', 'drop labels'], ['keep', 'keep only these labels'], ['unwrap', 'use a label as the sample value']]
    .map(fn('stage', ' ')),
  ...[['bytes', 'parse sizes like 5 MB'], ['duration', 'parse Go durations to seconds'],
    ['duration_seconds', 'parse Go durations to seconds']].map(fn('conversion', '(')),
  ...[['by', 'keep only these labels'], ['without', 'drop these labels'], ['on', 'match only on these labels'],
    ['ignoring', 'match ignoring these labels']].map(fn('keyword', ' (')),
  ...[['group_left', 'many-to-one matching'], ['group_right', 'one-to-many matching'], ['bool', 'comparison returns 0/1'],
    ['offset', 'shift evaluation time back'], ['and', 'intersection'], ['or', 'union'], ['unless', 'complement']]
    .map(fn('keyword', ' ')),
];

/** Range durations offered inside `[…]` and after `offset`. */
export const DURATIONS = ['1m', '5m', '10m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '7d'];

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const NOT_METRIC = new Set([...GROUPING, 'and', 'or', 'unless', 'offset', 'bool', 'atan2']);
const MATCH_OPS = new Set(['=', '!=', '=~', '!~']);
const OPS = ['|=', '|~', '|>', '!>', '!=', '!~', '=~', '==', '>=', '<=', '='];
const LEGACY_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const isIdentStart = (c, lang) => /[a-zA-Z_]/.test(c) || (lang === 'promql' && c === ':');
const isIdentChar = (c, lang) => /[a-zA-Z0-9_]/.test(c) || (lang === 'promql' && c === ':');

/**
 * Splits a query into tokens {type, text, start, end, …} without ever failing. Types: 'ident',
 * 'number', 'string' (with quote, closed, value), 'comment', 'op' (punctuation and operators).
 * In PromQL `:` belongs to identifiers outside `[…]`.
 */
export function tokenize(text, lang = 'promql') {
  const toks = [];
  const open = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const start = i;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl;
      toks.push({ type: 'comment', text: text.slice(start, i), start, end: i });
      continue;
    }
    if (c === '"' || c === '`' || (c === '\'' && lang === 'promql')) {
      i++;
      let closed = false;
      while (i < text.length) {
        const d = text[i];
        if (d === c) { closed = true; i++; break; }
        if (d === '\n' && c !== '`') break;
        if (d === '\\' && c !== '`') i++;
        i++;
      }
      i = Math.min(i, text.length);
      const inner = text.slice(start + 1, closed ? i - 1 : i);
      toks.push({ type: 'string', text: text.slice(start, i), start, end: i, quote: c, closed,
        value: unescapeString(inner, c) });
      continue;
    }
    const inBrackets = open[open.length - 1] === '[';
    if (isIdentStart(c, lang) && !(c === ':' && inBrackets)) {
      while (i < text.length && isIdentChar(text[i], lang) && !(text[i] === ':' && inBrackets)) i++;
      toks.push({ type: 'ident', text: text.slice(start, i), start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] || ''))) {
      while (i < text.length && /[0-9a-zA-Z_.]/.test(text[i])) i++;
      toks.push({ type: 'number', text: text.slice(start, i), start, end: i });
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i)) || c;
    i += op.length;
    if ('([{'.includes(op)) open.push(op);
    else if (')]}'.includes(op)) open.pop();
    toks.push({ type: 'op', text: op, start, end: i });
  }
  return toks;
}

/** Undoes the escapes of a quoted string's inner text (raw for backticks; unknown escapes kept). */
export function unescapeString(s, quote) {
  if (quote === '`') return s;
  const simple = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', '"': '"', '\'': '\'' };
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|[\s\S]?)/g, (m, e) => {
    if (e === '') return m;
    if (e.length === 1) return e in simple ? simple[e] : m;
    const code = /^[0-7]/.test(e) ? parseInt(e, 8) : parseInt(e.slice(1), 16);
    try { return String.fromCodePoint(code); } catch { return m; }
  });
}

const prevSignificant = (toks, idx) => {
  for (let j = idx - 1; j >= 0; j--) if (toks[j].type !== 'comment') return toks[j];
  return null;
};

/**
 * Works out what is being typed at `cursor` (index into text) for lang 'promql' | 'logql'.
 * Returns {kind, prefix, start, end, lang, …} with kind 'metric' (identifier outside braces:
 * metric/function/keyword names), 'labelName' (in `{…}` before an operator, or in
 * by/without/on/ignoring/group_left/group_right lists), 'labelValue' (after `=`, `!=`, `=~`, `!~` in
 * braces; `labelName`, `op` and `quote` set — quote '' when none typed yet — and prefix the unescaped
 * text typed inside the quote so far), 'duration' (inside `[…]` or after `offset`) or 'none'.
 * `start`/`end` bound the text the completion replaces (for label values, the quotes included).
 * In braces `metric` is the PromQL metric name the braces belong to and `matchers` the other
 * complete matchers of the same braces as a selector string like '{job="a",instance=~"b.*"}' ('' if
 * none). For LogQL 'metric' contexts, `stage` is 'pipe' right after `|` and 'unwrap' after `unwrap`.
 * Never throws; partial and unbalanced input is fine.
 */
export function completionContext(text, cursor, lang) {
  const src = typeof text === 'string' ? text : String(text ?? '');
  const lg = lang === 'logql' ? 'logql' : 'promql';
  let pos = Number.isFinite(cursor) ? Math.trunc(cursor) : src.length;
  pos = Math.max(0, Math.min(src.length, pos));
  const none = { kind: 'none', prefix: '', start: pos, end: pos, lang: lg };
  try {
    return detect(src, pos, lg) || none;
  } catch {
    return none;
  }
}

function detect(text, cursor, lang) {
  const toks = tokenize(text, lang);
  let curIdx = -1;
  for (let j = 0; j < toks.length && toks[j].start < cursor; j++) {
    const t = toks[j];
    const inside = t.type === 'string' ? cursor < t.end || !t.closed
      : ['ident', 'number', 'comment'].includes(t.type) && cursor <= t.end;
    if (inside) { curIdx = j; break; }
  }
  const cur = curIdx >= 0 ? toks[curIdx] : null;
  const base = { lang, prefix: '', start: cursor, end: cursor };
  if (cur && cur.type === 'comment') return null;

  // Bracket stack from the tokens before the cursor.
  const stack = [];
  const limit = curIdx >= 0 ? curIdx : toks.findIndex((t) => t.start >= cursor);
  const before = limit < 0 ? toks.length : limit;
  for (let j = 0; j < before; j++) {
    const t = toks[j];
    if (t.type !== 'op') continue;
    if (t.text === '(' || t.text === '{' || t.text === '[') {
      const prev = prevSignificant(toks, j);
      const frame = { ch: t.text, idx: j };
      if (t.text === '(') frame.grouping = !!prev && prev.type === 'ident' && GROUPING.has(prev.text);
      if (t.text === '{' && lang === 'promql' && prev && prev.type === 'ident' && !NOT_METRIC.has(prev.text)) {
        frame.metric = prev.text;
      }
      stack.push(frame);
    } else if (t.text === ')' || t.text === '}' || t.text === ']') {
      const want = { ')': '(', '}': '{', ']': '[' }[t.text];
      const at = stack.map((f) => f.ch).lastIndexOf(want);
      if (at >= 0) stack.length = at;
    }
  }
  const top = stack[stack.length - 1];
  if (top && top.ch === '{') return braceContext(text, cursor, lang, toks, top, cur, base);
  if (cur && cur.type === 'string') return null;

  const word = cur && (cur.type === 'ident' || cur.type === 'number') ? cur : null;
  const prefix = word ? text.slice(word.start, cursor) : '';
  const span = { ...base, prefix, start: word ? word.start : cursor, end: word ? word.end : cursor };
  const prev = prevSignificant(toks, word ? curIdx : before);
  const afterOffset = prev && prev.type === 'ident' && prev.text === 'offset';

  if (top && top.ch === '[') {
    if (word && word.type === 'number') return { ...span, kind: 'duration' };
    if (!word && prev && prev.type === 'op' && (prev.text === '[' || prev.text === ':')) return { ...span, kind: 'duration' };
    return null;
  }
  if (afterOffset && (!word || word.type === 'number')) return { ...span, kind: 'duration' };
  if (word && word.type === 'number') return null;
  if (top && top.ch === '(' && top.grouping) return { ...span, kind: 'labelName', inBraces: false };
  const ctx = { ...span, kind: 'metric' };
  if (lang === 'logql' && prev) {
    if (prev.type === 'op' && prev.text === '|') ctx.stage = 'pipe';
    else if (prev.type === 'ident' && prev.text === 'unwrap') ctx.stage = 'unwrap';
  }
  return ctx;
}

/** Splits the matchers of the braces opened at toks[frame.idx] and classifies the cursor in them. */
function braceContext(text, cursor, lang, toks, frame, cur, base) {
  const open = toks[frame.idx];
  const parts = [{ start: open.end, end: text.length, toks: [] }];
  for (let j = frame.idx + 1; j < toks.length; j++) {
    const t = toks[j];
    const last = parts[parts.length - 1];
    if (t.type === 'op' && ['}', '(', ')', '[', ']', '{', '|', '|=', '|~', '|>', '!>'].includes(t.text)) {
      last.end = t.start;
      break;
    }
    if (t.type === 'op' && t.text === ',') {
      last.end = t.start;
      parts.push({ start: t.end, end: text.length, toks: [] });
      continue;
    }
    if (t.type !== 'comment') last.toks.push(t);
  }
  const here = parts.find((p) => p.start <= cursor && cursor <= p.end) || parts[parts.length - 1];
  let metric = frame.metric;
  const others = [];
  for (const p of parts) {
    if (p === here) continue;
    const [a, o, v] = p.toks;
    if (p.toks.length === 1 && a.type === 'string' && a.closed && lang === 'promql') {
      if (metric === undefined) metric = a.value;
    } else if (p.toks.length === 3 && (a.type === 'ident' || (a.type === 'string' && a.closed))
        && o.type === 'op' && MATCH_OPS.has(o.text) && v.type === 'string' && v.closed) {
      others.push(text.slice(a.start, v.end));
    }
  }
  const extra = { inBraces: true, matchers: others.length ? `{${others.join(',')}}` : '' };
  if (metric !== undefined) extra.metric = metric;

  const word = cur && (cur.type === 'ident' || cur.type === 'number') ? cur : null;
  const edge = cur ? cur.start : cursor;
  const pre = here.toks.filter((t) => t.end <= edge);
  const named = pre.length === 2 && (pre[0].type === 'ident' || (pre[0].type === 'string' && pre[0].closed))
    && pre[1].type === 'op' && MATCH_OPS.has(pre[1].text);
  const valueCtx = () => ({ labelName: pre[0].type === 'string' ? pre[0].value : pre[0].text, op: pre[1].text });

  if (cur && cur.type === 'string') {
    if (!named) return null;
    const raw = text.slice(cur.start + 1, cursor);
    return { ...base, ...extra, ...valueCtx(), kind: 'labelValue', quote: cur.quote,
      prefix: unescapeString(raw, cur.quote), start: cur.start, end: cur.closed ? cur.end : cursor };
  }
  const span = { ...base, prefix: word ? text.slice(word.start, cursor) : '',
    start: word ? word.start : cursor, end: word ? word.end : cursor };
  if (pre.length === 0 && (!word || word.type === 'ident')) return { ...span, ...extra, kind: 'labelName' };
  if (named) return { ...span, ...extra, ...valueCtx(), kind: 'labelValue', quote: '' };
  return null;
}

/**
 * Ranks candidate strings (or {text, detail?, …} objects) for a prefix: case-sensitive prefix
 * matches first, then case-insensitive prefix matches (both shorter first), then substring matches
 * (those starting at a word boundary first, then earlier first), then fuzzy subsequence matches
 * (tighter first). Duplicates are dropped; an empty prefix keeps the input order. Returns at most
 * `limit` items {text, detail?, …}.
 */
export function rankCandidates(candidates, prefix, limit = 50) {
  const seen = new Set();
  const items = [];
  for (const c of Array.isArray(candidates) ? candidates : []) {
    const item = typeof c === 'string' ? { text: c } : c && typeof c.text === 'string' ? { ...c } : null;
    if (!item || seen.has(item.text)) continue;
    seen.add(item.text);
    items.push(item);
  }
  const p = String(prefix ?? '');
  if (!p) return items.slice(0, Math.max(0, limit));
  const lp = p.toLowerCase();
  const scored = [];
  items.forEach((item, index) => {
    const t = item.text;
    const lt = t.toLowerCase();
    let tier;
    let key = 0;
    if (t.startsWith(p)) tier = 0;
    else if (lt.startsWith(lp)) tier = 1;
    else {
      const at = lt.indexOf(lp);
      if (at >= 0) {
        const boundary = /[^a-z0-9]/.test(lt[at - 1]) || (/[a-z]/.test(t[at - 1]) && /[A-Z]/.test(t[at]));
        tier = boundary ? 2 : 3;
        key = at;
      } else {
        const span = subsequenceSpan(lt, lp);
        if (span < 0) return;
        tier = 4;
        key = span;
      }
    }
    scored.push({ item, tier, key, index });
  });
  scored.sort((a, b) => a.tier - b.tier || a.key - b.key || a.item.text.length - b.item.text.length
    || (a.item.text < b.item.text ? -1 : a.item.text > b.item.text ? 1 : 0) || a.index - b.index);
  return scored.slice(0, Math.max(0, limit)).map((s) => s.item);
}

/** Length of the shortest window of `t` holding `p` as a subsequence, or -1. */
function subsequenceSpan(t, p) {
  let best = -1;
  for (let s = t.indexOf(p[0]); s >= 0; s = t.indexOf(p[0], s + 1)) {
    let j = 1;
    let i = s + 1;
    for (; i < t.length && j < p.length; i++) if (t[i] === p[j]) j++;
    if (j < p.length) break;
    if (best < 0 || i - s < best) best = i - s;
  }
  return best;
}

/** Escapes regular-expression metacharacters (RE2 syntax). */
export function escapeRegex(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Quotes `value` as a PromQL/LogQL string literal with `quote` (backticks fall back to `"`
 *  when the value holds one), escaping backslashes, the quote and control characters. */
export function quoteString(value, quote = '"') {
  const v = String(value);
  if (quote === '`' && !v.includes('`')) return `\`${v}\``;
  const q = quote === '\'' ? '\'' : '"';
  const esc = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', [q]: `\\${q}` };
  return q + v.replace(/[\\\n\r\t"']/g, (c) => esc[c] ?? c) + q;
}

/** The suffix inserted after a 'metric'-context item: the item's own `suffix`, else that of the
 *  static function/keyword table entry of the same name, else ''. */
function suffixFor(item, lang) {
  if (typeof item.suffix === 'string') return item.suffix;
  if (item.kind === 'metric') return '';
  const table = lang === 'logql' ? LOGQL_KEYWORDS : [...PROMQL_FUNCTIONS, ...PROMQL_KEYWORDS];
  const hit = table.find((k) => k.name === item.text);
  return hit ? hit.suffix : '';
}

/**
 * Applies a chosen completion `item` ({text, …} or a string) to `text` in context `ctx` (from
 * completionContext) and returns {text, cursor}. Label values are quoted and escaped (keeping the
 * quote the user opened, regex-escaped for `=~`/`!~`); label names in braces get `="` unless an
 * operator already follows (and are quoted in PromQL when not a plain name); functions and
 * aggregations get `(` (unless one follows), keywords a space.
 */
export function applyCompletion(text, ctx, item) {
  const src = typeof text === 'string' ? text : String(text ?? '');
  const it = typeof item === 'string' ? { text: item } : item || { text: '' };
  const value = String(it.text ?? '');
  const c = ctx || { kind: 'none', start: src.length, end: src.length };
  const start = Math.max(0, Math.min(src.length, c.start ?? src.length));
  const end = Math.max(start, Math.min(src.length, c.end ?? start));
  const rest = src.slice(end);
  let insert = value;
  let skip = 0;
  if (c.kind === 'labelValue') {
    const v = c.op === '=~' || c.op === '!~' ? escapeRegex(value) : value;
    insert = quoteString(v, c.lang === 'logql' && c.quote === '\'' ? '"' : c.quote || '"');
  } else if (c.kind === 'labelName') {
    insert = c.lang !== 'logql' && !LEGACY_NAME.test(value) ? quoteString(value) : value;
    if (c.inBraces && !/^\s*(=|!=|!~)/.test(rest)) insert += '="';
  } else if (c.kind === 'metric') {
    const suffix = suffixFor(it, c.lang);
    if (suffix.trim() === '(' && /^\s*\(/.test(rest)) skip = rest.indexOf('(') + 1;
    else if (suffix === ' ' && /^\s/.test(rest)) skip = 1;
    else insert += suffix;
  }
  return { text: src.slice(0, start) + insert + rest, cursor: start + insert.length + skip };
}

/** The built-in candidates of a context (function and keyword names, durations) as
 *  {text, detail, kind, suffix} items; the widget merges them with the provider's. */
export function staticCandidates(ctx) {
  if (!ctx) return [];
  if (ctx.kind === 'duration') return DURATIONS.map((d) => ({ text: d, kind: 'duration' }));
  if (ctx.kind !== 'metric') return [];
  const toItem = (k) => ({ text: k.name, detail: k.detail, kind: k.kind, suffix: k.suffix });
  if (ctx.lang !== 'logql') return [...PROMQL_FUNCTIONS, ...PROMQL_KEYWORDS].map(toItem);
  let list = LOGQL_KEYWORDS;
  if (ctx.stage === 'pipe') list = list.filter((k) => ['parser', 'formatter', 'stage'].includes(k.kind));
  else if (ctx.stage === 'unwrap') list = list.filter((k) => k.kind === 'conversion');
  else list = list.filter((k) => !['parser', 'formatter', 'stage', 'conversion'].includes(k.kind));
  return list.map(toItem);
}
