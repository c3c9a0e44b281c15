// Time ranges as they appear in the URL: `now`, `now-1h`, `now-30m`, an ISO date-time
// (`2026-11-22T10:00:00Z`) or Unix seconds. Pure functions, tested under Node.

/** Relative ranges offered in the picker. */
export const PRESETS = [
  ['now-5m', 'Last 5 minutes'], ['now-15m', 'Last 15 minutes'], ['now-30m', 'Last 30 minutes'],
  ['now-1h', 'Last 1 hour'], ['now-3h', 'Last 3 hours'], ['now-6h', 'Last 6 hours'],
  ['now-12h', 'Last 12 hours'], ['now-24h', 'Last 24 hours'], ['now-2d', 'Last 2 days'], ['now-7d', 'Last 7 days'],
];

/** Refresh intervals offered in the picker ('' = off). */
export const REFRESH = ['', '5s', '10s', '30s', '1m', '5m', '15m'];

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };

/**
 * Parses a Prometheus-style duration (`1h30m`, `15s`, `500ms`, `2d`) into seconds; NaN when invalid.
 * @param {string} text
 * @returns {number}
 */
export function parseDuration(text) {
  const s = String(text ?? '').trim();
  if (!s) return NaN;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/gy;
  let total = 0;
  let end = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    end = re.lastIndex;
  }
  return end === s.length ? total : NaN;
}

/**
 * Formats seconds as the shortest duration string (`90` → `1m30s`, `0.5` → `500ms`).
 * @param {number} sec
 * @returns {string}
 */
export function formatDuration(sec) {
  if (!Number.isFinite(sec) || sec <= 0) return '0s';
  if (sec < 1) return `${Math.round(sec * 1000)}ms`;
  let rest = Math.round(sec);
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/**
 * Resolves one end of a range to Unix seconds, or NaN when it does not parse.
 * @param {string} text `now`, `now-1h`, `now+5m`, ISO 8601, or Unix seconds
 * @param {number} nowSec the current time in seconds
 * @returns {number}
 */
export function parseTime(text, nowSec) {
  const s = String(text ?? '').trim();
  if (s === 'now') return nowSec;
  const rel = /^now([+-])(.+)$/.exec(s);
  if (rel) {
    const d = parseDuration(rel[2]);
    return Number.isNaN(d) ? NaN : nowSec + (rel[1] === '-' ? -d : d);
  }
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s)) {
    // Without a zone an ISO date-time is read as UTC, so a shared link means one instant everywhere.
    let iso = s.replace(' ', 'T');
    if (iso.length === 10) iso += 'T00:00:00';
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? NaN : ms / 1000;
  }
  return NaN;
}

/**
 * Resolves a `from`/`to` pair to `{start, end}` in seconds, or `{error}`.
 * @param {string} from
 * @param {string} to
 * @param {number} nowSec
 * @returns {{start?: number, end?: number, error?: string}}
 */
export function resolveRange(from, to, nowSec) {
  const start = parseTime(from, nowSec);
  const end = parseTime(to, nowSec);
  if (Number.isNaN(start)) return { error: `invalid start time ${JSON.stringify(from)}` };
  if (Number.isNaN(end)) return { error: `invalid end time ${JSON.stringify(to)}` };
  if (end <= start) return { error: 'the end of the range must be after its start' };
  return { start, end };
}

const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/**
 * Picks a query step for a range drawn `points` wide: range/points rounded up to a nice step,
 * never below `minStep` seconds and never more than 11,000 points (Prometheus's limit).
 * @param {number} start seconds
 * @param {number} end seconds
 * @param {number} [points] about how many points to draw
 * @param {number} [minStep]
 * @returns {number} seconds
 */
export function autoStep(start, end, points = 500, minStep = 1) {
  const range = Math.max(0, end - start);
  const raw = Math.max(range / Math.max(1, points), range / 11000, minStep);
  for (const s of NICE_STEPS) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

/**
 * Formats Unix seconds as an ISO date-time in UTC without milliseconds (`2026-11-22T10:00:00Z`),
 * the absolute form used in URLs after a zoom.
 * @param {number} sec
 * @returns {string}
 */
export function isoTime(sec) {
  return new Date(Math.round(sec) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * A short human label for a range (`Last 1 hour`, or the two ends).
 * @param {string} from
 * @param {string} to
 * @returns {string}
 */
export function rangeLabel(from, to) {
  if (to === 'now') {
    const preset = PRESETS.find(([f]) => f === from);
    if (preset) return preset[1];
  }
  return `${from} to ${to}`;
}

/**
 * The range of a view's `from` / `to`: resolved, or the last hour with the error when they do not
 * parse (the view still shows something and the error next to the picker).
 * @param {string} from
 * @param {string} to
 * @param {number} nowSec
 * @returns {{start: number, end: number, error?: string}}
 */
export function viewRange(from, to, nowSec) {
  const r = resolveRange(from, to, nowSec);
  return r.error ? { start: nowSec - 3600, end: nowSec, error: r.error } : r;
}

/**
 * The URL parameters every explorer shares, with their defaults (last hour, no refresh).
 * @param {Record<string, string>} params
 * @returns {{q: string, from: string, to: string, refresh: string}}
 */
export function viewParams(params) {
  return {
    q: params.q || '',
    from: params.from || 'now-1h',
    to: params.to || 'now',
    refresh: params.refresh || '',
  };
}
