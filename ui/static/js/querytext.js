// Query-text helpers, pure and tested under Node: the metrics → logs link (a LogQL selector from a
// series' container / pod labels) and back, the line filters of a LogQL query (for highlighting
// matches), and the log-volume query.

/** Labels that name where a container's output comes from, in selector order. */
export const IDENTITY_LABELS = ['namespace', 'pod', 'container', 'compose_project', 'compose_service', 'service_name'];

/** Quotes a label value as a LogQL / PromQL double-quoted string. */
export function quote(value) {
  return `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/**
 * The LogQL selector for the logs of the container a series belongs to, or null when the series
 * carries no container / pod label.
 * @param {Record<string, string>} labels a series' labels
 * @returns {string|null}
 */
export function logsSelectorFor(labels) {
  if (!labels || !(labels.container || labels.pod || labels.container_name || labels.pod_name)) return null;
  const pairs = [];
  for (const name of IDENTITY_LABELS) if (labels[name]) pairs.push(`${name}=${quote(labels[name])}`);
  // cAdvisor's older names.
  if (!labels.container && labels.container_name) pairs.push(`container=${quote(labels.container_name)}`);
  if (!labels.pod && labels.pod_name) pairs.push(`pod=${quote(labels.pod_name)}`);
  return `{${pairs.join(', ')}}`;
}

/**
 * The PromQL selector for the metrics of the container a log stream belongs to (the way back), or
 * null when the stream has no container / pod label.
 * @param {Record<string, string>} labels a stream's labels
 * @returns {string|null}
 */
export function metricsSelectorFor(labels) {
  if (!labels || !(labels.container || labels.pod)) return null;
  const pairs = [];
  // Only the labels a scrape target usually shares with its logs: `namespace` is a log label from
  // the pod path but often not a metric label, and a matcher on it would hide every series.
  for (const name of ['pod', 'container']) if (labels[name]) pairs.push(`${name}=${quote(labels[name])}`);
  return `{${pairs.join(', ')}}`;
}

/** Reads a LogQL string literal starting at `i` ("…" with escapes, or `…`); returns [value, end] or null. */
function readString(text, i) {
  const q = text[i];
  if (q === '`') {
    const end = text.indexOf('`', i + 1);
    return end < 0 ? null : [text.slice(i + 1, end), end + 1];
  }
  if (q !== '"') return null;
  let out = '';
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '"') return [out, j + 1];
    if (c === '\\' && j + 1 < text.length) {
      const n = text[++j];
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
    } else {
      out += c;
    }
  }
  return null;
}

/**
 * The positive line filters of a LogQL query (`|= "x"`, `|~ "re"`, with `or` alternatives), for
 * highlighting what matched. Negative filters are left out (they match nothing that is shown).
 * @param {string} query
 * @returns {Array<{kind: 'literal'|'regex', value: string}>}
 */
export function lineFilters(query) {
  const text = String(query ?? '');
  const out = [];
  let i = 0;
  let inBraces = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === '`') {
      const s = readString(text, i);
      if (!s) break;
      i = s[1];
      continue;
    }
    if (c === '{') inBraces += 1;
    if (c === '}') inBraces = Math.max(0, inBraces - 1);
    const op = text.slice(i, i + 2);
    if (!inBraces && (op === '|=' || op === '|~')) {
      let j = i + 2;
      const kind = op === '|=' ? 'literal' : 'regex';
      for (;;) {
        while (/\s/.test(text[j] || '')) j += 1;
        const s = readString(text, j);
        if (!s) break;
        if (s[0]) out.push({ kind, value: s[0] });
        j = s[1];
        const rest = /^\s*or\s+/.exec(text.slice(j));
        if (!rest) break;
        j += rest[0].length;
      }
      i = j;
      continue;
    }
    i += 1;
  }
  return out;
}

/** Turns a Go RE2 pattern into a JS RegExp (a leading `(?i)` becomes the `i` flag); null if invalid. */
export function toRegExp(pattern) {
  let source = pattern;
  let flags = 'g';
  const m = /^\(\?([imsU]+)\)/.exec(source);
  if (m) {
    source = source.slice(m[0].length);
    if (m[1].includes('i')) flags += 'i';
    if (m[1].includes('s')) flags += 's';
    if (m[1].includes('m')) flags += 'm';
  }
  try {
    return new RegExp(source, flags);
  } catch {
    return null;
  }
}

/**
 * Splits a line into segments, marking the ranges matched by the filters.
 * @param {string} line
 * @param {Array<{kind: string, value: string}>} filters
 * @returns {Array<{text: string, match: boolean}>}
 */
export function highlight(line, filters) {
  const marks = new Uint8Array(line.length);
  let any = false;
  for (const f of filters) {
    if (f.kind === 'literal') {
      for (let at = line.indexOf(f.value); at >= 0 && f.value; at = line.indexOf(f.value, at + f.value.length)) {
        marks.fill(1, at, at + f.value.length);
        any = true;
      }
    } else {
      const re = toRegExp(f.value);
      if (!re) continue;
      let guard = 0;
      for (let m = re.exec(line); m && guard < 1000; m = re.exec(line), guard++) {
        if (m[0].length === 0) {
          re.lastIndex += 1;
          continue;
        }
        marks.fill(1, m.index, m.index + m[0].length);
        any = true;
      }
    }
  }
  if (!any) return [{ text: line, match: false }];
  const out = [];
  let start = 0;
  for (let i = 1; i <= line.length; i++) {
    if (i === line.length || marks[i] !== marks[start]) {
      out.push({ text: line.slice(start, i), match: marks[start] === 1 });
      start = i;
    }
  }
  return out;
}

/**
 * True when a LogQL query is a log query (a selector and pipeline) rather than a metric query.
 * @param {string} query
 * @returns {boolean}
 */
export function isLogQuery(query) {
  return String(query ?? '').trim().startsWith('{');
}

/**
 * The log-volume query for a log query: lines per step by level (`level` label or the
 * `detected_level` Loki and Loupe attach at ingestion).
 * @param {string} query a log query
 * @param {number} stepSec
 * @returns {string}
 */
export function volumeQuery(query, stepSec) {
  return `sum by (level, detected_level) (count_over_time(${query.trim()} [${Math.max(1, Math.round(stepSec))}s]))`;
}

/** Canonical level names, in stacking order, and the CSS colour variable of each. */
export const LEVELS = [
  ['error', '--danger'], ['warn', '--warn'], ['info', '--ok'], ['debug', '--accent'], ['unknown', '--muted'],
];

/**
 * The canonical level of a volume series' labels (`critical`/`fatal` count as error, `warning` as warn,
 * `trace` as debug; anything else unknown).
 * @param {Record<string, string>} labels
 * @returns {string}
 */
export function levelOf(labels) {
  const raw = String((labels && (labels.detected_level || labels.level)) || '').toLowerCase();
  if (['error', 'err', 'critical', 'crit', 'fatal', 'panic', 'emerg', 'alert'].includes(raw)) return 'error';
  if (['warn', 'warning'].includes(raw)) return 'warn';
  if (['info', 'information', 'notice'].includes(raw)) return 'info';
  if (['debug', 'trace', 'dbg'].includes(raw)) return 'debug';
  return 'unknown';
}

/**
 * Replaces dashboard variables (`$name` or `${name}`) in a query; longer names first, so `$a` does not
 * eat `$ab`. Values are regex alternations (the UI passes `.+` for "all").
 * @param {string} query
 * @param {Record<string, string>} values
 * @returns {string}
 */
export function substituteVariables(query, values) {
  let out = String(query ?? '');
  const names = Object.keys(values).sort((a, b) => b.length - a.length);
  for (const name of names) {
    out = out.split(`\${${name}}`).join(values[name]).split(`$${name}`).join(values[name]);
  }
  return out;
}
