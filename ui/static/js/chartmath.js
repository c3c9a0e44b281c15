// Pure helpers for the canvas chart (chart.js): axis ticks, value and time
// formatting, stacking, lookups, colours and series names. No DOM access, so
// everything here runs under Node's test runner as well as in the browser.

/** Relative range below which two axis bounds are treated as equal. */
const EPSILON_REL = 1e-10;

/** Rounds away binary noise such as 0.30000000000000004. */
function clean(x) {
  return parseFloat(x.toPrecision(15));
}

/** A 1/2/5 x 10^n step at least as large as `raw` (raw > 0). */
function niceStep(raw) {
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  let f;
  if (norm <= 1) f = 1;
  else if (norm <= 2) f = 2;
  else if (norm <= 5) f = 5;
  else f = 10;
  return f * mag;
}

/**
 * Normalised axis bounds: non-finite inputs ignored (both missing → [0, 1]),
 * swapped when reversed, and min == max widened to include 0 (0 → [0, 1],
 * v > 0 → [0, 2v], v < 0 → [2v, 0]).
 */
function axisBounds(min, max) {
  let lo = Number.isFinite(min) ? min : NaN;
  let hi = Number.isFinite(max) ? max : NaN;
  if (Number.isNaN(lo) && Number.isNaN(hi)) return [0, 1];
  if (Number.isNaN(lo)) lo = hi;
  else if (Number.isNaN(hi)) hi = lo;
  if (lo > hi) [lo, hi] = [hi, lo];
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  if (hi - lo <= scale * EPSILON_REL) {
    const v = (lo + hi) / 2;
    if (v === 0) return [0, 1];
    return v > 0 ? [0, 2 * v] : [2 * v, 0];
  }
  return [lo, hi];
}

/** maxCount as an integer in [1, 1000] (default 5). */
function tickCount(maxCount) {
  const count = Math.floor(Number(maxCount));
  if (!Number.isFinite(count) || count < 1) return 1;
  return Math.min(count, 1000);
}

/** Multiples of step from <= lo to >= hi (falls back to [lo, hi] on overflow). */
function stepTicks(lo, hi, step, limit) {
  if (!Number.isFinite(step) || step <= 0) return [lo, hi];
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  if (!Number.isFinite(first) || !Number.isFinite(last)) return [lo, hi];
  const ticks = [];
  for (let k = first; k <= last && ticks.length <= limit; k++) {
    const v = clean(k * step);
    if (ticks.length === 0 || v !== ticks[ticks.length - 1]) ticks.push(v);
  }
  return ticks;
}

/**
 * "Nice" axis ticks (1/2/5 x 10^n steps) covering [min, max]: the first tick is
 * <= min and the last >= max, so callers can use them as the axis bounds.
 * Non-finite inputs are ignored (both missing → [0, 1]); min == max is widened
 * to include 0 (0 → [0, 1], v > 0 → [0, 2v], v < 0 → [2v, 0]).
 * @param {number} min
 * @param {number} max
 * @param {number} [maxCount=5] approximate number of intervals wanted
 * @returns {number[]} ascending tick values
 */
export function niceTicks(min, max, maxCount = 5) {
  const [lo, hi] = axisBounds(min, max);
  const count = tickCount(maxCount);
  return stepTicks(lo, hi, niceStep((hi - lo) / count), 2 * count + 2);
}

/**
 * Axis ticks suited to a formatValue unit: for 'bytes', 1/2/5 steps of the
 * binary unit in use (0, 256 MiB, 512 MiB … rather than 0, 200 MB …); for
 * 'seconds' over minutes or more, clock steps (1m, 2m, 5m … 1h, 3h … 1d …);
 * otherwise niceTicks.
 * @param {number} min
 * @param {number} max
 * @param {number} [maxCount=5]
 * @param {string} [unit='']
 * @returns {number[]}
 */
export function unitTicks(min, max, maxCount = 5, unit = '') {
  const [lo, hi] = axisBounds(min, max);
  const count = tickCount(maxCount);
  if (unit === 'bytes') {
    const scale = Math.max(Math.abs(lo), Math.abs(hi));
    const k = scale >= 1024 ? Math.min(6, Math.floor(Math.log(scale) / Math.log(1024))) : 0;
    const f = Math.pow(1024, k);
    return niceTicks(lo / f, hi / f, count).map((v) => clean(v * f));
  }
  const raw = (hi - lo) / count;
  if (unit === 'seconds' && raw > 30) {
    let step = TIME_STEPS.find((s) => s >= raw);
    if (step === undefined) step = niceStep(raw / DAY) * DAY;
    return stepTicks(lo, hi, step, 2 * count + 2);
  }
  return niceTicks(lo, hi, count);
}

/** Time-axis steps in seconds; beyond the last one, nice multiples of a year. */
const TIME_STEPS = [
  1, 2, 5, 10, 15, 30,
  60, 120, 300, 600, 900, 1800,
  3600, 7200, 10800, 21600, 43200,
  86400, 172800, 604800, 1209600, 2592000, 7776000, 31536000,
];
const DAY = 86400;

function pad2(n) {
  return String(n).padStart(2, '0');
}

/** Offset in seconds east of UTC at time t (seconds): fixed, or the local zone's. */
function offsetAt(t, tzOffsetMin) {
  if (tzOffsetMin !== undefined && tzOffsetMin !== null) return tzOffsetMin * 60;
  return -new Date(t * 1000).getTimezoneOffset() * 60;
}

/** Wall-clock fields of t (seconds) in the given zone (offset in minutes, or local). */
function wallClock(t, tzOffsetMin) {
  const d = new Date((t + offsetAt(t, tzOffsetMin)) * 1000);
  return {
    y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(),
    h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds(),
    ms: d.getUTCMilliseconds(),
  };
}

/**
 * Axis ticks at nice time steps (1s, 2s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m,
 * 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d, 2d, 7d, …), aligned to wall-clock time:
 * the smallest step giving at most maxCount intervals over the range.
 * Labels: 'HH:MM:SS' for second steps, 'HH:MM' for minute/hour steps (with
 * 'MM-DD' at midnight), 'MM-DD' for day steps, 'YYYY-MM-DD' for steps >= 30d.
 * @param {number} fromSec
 * @param {number} toSec
 * @param {number} [maxCount=6]
 * @param {number} [tzOffsetMin] fixed zone offset in minutes east of UTC (0 = UTC);
 *   omitted → the browser's local time zone (DST-aware)
 * @returns {{t: number, label: string}[]}
 */
export function timeTicks(fromSec, toSec, maxCount = 6, tzOffsetMin = undefined) {
  if (!Number.isFinite(fromSec) || !Number.isFinite(toSec)) return [];
  let from = fromSec;
  let to = toSec;
  if (from > to) [from, to] = [to, from];
  if (from === to) return [];
  let count = Math.floor(Number(maxCount));
  if (!Number.isFinite(count) || count < 1) count = 1;
  const raw = (to - from) / count;
  let step = TIME_STEPS.find((s) => s >= raw);
  if (step === undefined) step = niceStep(raw / 31536000) * 31536000;
  const off0 = offsetAt(from, tzOffsetMin);
  const ticks = [];
  // Walk in wall-clock seconds; convert each aligned instant back with the
  // offset in force at that instant (so local midnight stays midnight across DST).
  let local = Math.ceil((from + off0) / step) * step;
  for (let i = 0; i < 2 * count + 4; i++, local += step) {
    const guess = local - off0;
    const t = local - offsetAt(guess, tzOffsetMin);
    if (t > to) break;
    if (t < from) continue;
    ticks.push({ t, label: timeLabel(t, step, tzOffsetMin) });
  }
  return ticks;
}

/** Label of one time tick for the given step. */
function timeLabel(t, step, tzOffsetMin) {
  const c = wallClock(t, tzOffsetMin);
  const date = `${pad2(c.mo)}-${pad2(c.d)}`;
  if (step >= 30 * DAY) return `${c.y}-${date}`;
  if (step >= DAY) return date;
  if (step >= 60) {
    if (c.h === 0 && c.mi === 0 && c.s === 0) return date;
    return `${pad2(c.h)}:${pad2(c.mi)}`;
  }
  return `${pad2(c.h)}:${pad2(c.mi)}:${pad2(c.s)}`;
}

/**
 * Full timestamp for tooltips: 'YYYY-MM-DD HH:MM:SS' (with '.mmm' when t has a
 * fractional part).
 * @param {number} tSec
 * @param {number} [tzOffsetMin] as in timeTicks
 * @returns {string}
 */
export function formatTime(tSec, tzOffsetMin = undefined) {
  if (!Number.isFinite(tSec)) return String(tSec);
  const c = wallClock(tSec, tzOffsetMin);
  const ms = c.ms ? `.${String(c.ms).padStart(3, '0')}` : '';
  return `${c.y}-${pad2(c.mo)}-${pad2(c.d)} ${pad2(c.h)}:${pad2(c.mi)}:${pad2(c.s)}${ms}`;
}

/**
 * x with `digits` significant digits, trailing zeros dropped ('1.50' → '1.5');
 * integer digits are never rounded away (1023 stays '1023').
 */
function sig(x, digits) {
  const intDigits = Math.abs(x) >= 1 ? Math.floor(Math.log10(Math.abs(x))) + 1 : 1;
  return String(Number(x.toPrecision(Math.min(100, Math.max(digits, intDigits)))));
}

const SI_BIG = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const SI_SMALL = ['', 'm', 'µ', 'n', 'p', 'f'];
const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** SI-prefixed short form: 1.2k, 3.4M, 12m. */
function formatSI(v, digits) {
  const a = Math.abs(v);
  if (a >= 1) {
    let i = 0;
    let x = v;
    while (i < SI_BIG.length - 1 && Math.abs(Number(x.toPrecision(digits))) >= 1000) {
      x /= 1000;
      i++;
    }
    if (Math.abs(Number(x.toPrecision(digits))) >= 1000) return v.toPrecision(digits);
    return sig(x, digits) + SI_BIG[i];
  }
  let i = 0;
  let x = v;
  while (i < SI_SMALL.length - 1 && Math.abs(Number(x.toPrecision(digits))) < 1) {
    x *= 1000;
    i++;
  }
  if (Math.abs(Number(x.toPrecision(digits))) < 1) return v.toPrecision(digits);
  return sig(x, digits) + SI_SMALL[i];
}

/** Binary byte sizes: 512 B, 1.5 KiB, 2 MiB. */
function formatBytes(v, digits) {
  let i = 0;
  let x = v;
  while (i < BINARY.length - 1 && Math.abs(x) >= 1024) {
    x /= 1024;
    i++;
  }
  return `${sig(x, digits)} ${BINARY[i]}`;
}

/** Durations: 350ms, 1.5s, 2m 5s, 3h, 2d 4h. */
function formatSeconds(v, digits) {
  const sign = v < 0 ? '-' : '';
  const a = Math.abs(v);
  if (Number(a.toPrecision(digits)) < 1) {
    const sub = formatSI(a, digits); // e.g. '350m', '12µ'
    return sign + sub + 's';
  }
  if (Number(a.toPrecision(digits)) < 60) return `${sign}${sig(a, digits)}s`;
  const secs = Math.round(a);
  if (secs < 3600) {
    const m = Math.floor(secs / 60);
    const s = secs % 60;
    return sign + (s ? `${m}m ${s}s` : `${m}m`);
  }
  const mins = Math.round(a / 60);
  if (mins < 1440) {
    const h = Math.floor(mins / 60);
    const m = mins % 60;
    return sign + (m ? `${h}h ${m}m` : `${h}h`);
  }
  const hours = Math.round(a / 3600);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return sign + (h ? `${d}d ${h}h` : `${d}d`);
}

/**
 * Human-readable value with about `digits` significant digits.
 * Units: '' (SI short: 1.2k, 3.4M, 5G, 12m), 'bytes' (binary: 1.5 KiB, 2 MiB),
 * 'seconds' (350ms, 1.5s, 2m 5s, 3h, 2d), 'percent' (0..1 ratio → '45.2%'),
 * 'percent100' (0..100 → '45.2%'); any other unit string is appended to the SI
 * form after a space ('5 req/s'). 0 → '0' (with unit suffix where one applies),
 * NaN → 'NaN', ±Infinity → '+Inf' / '-Inf'.
 * @param {number} v
 * @param {string} [unit='']
 * @param {number} [digits=3] significant digits (axes may ask for more)
 * @returns {string}
 */
export function formatValue(v, unit = '', digits = 3) {
  if (typeof v !== 'number') v = Number(v);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const d = Math.max(1, Math.min(21, Math.floor(digits) || 3));
  switch (unit || '') {
    case '':
      return v === 0 ? '0' : formatSI(v, d);
    case 'bytes':
      return v === 0 ? '0 B' : formatBytes(v, d);
    case 'seconds':
      return v === 0 ? '0s' : formatSeconds(v, d);
    case 'percent':
      return v === 0 ? '0%' : `${sig(v * 100, d)}%`;
    case 'percent100':
      return v === 0 ? '0%' : `${sig(v, d)}%`;
    default:
      return `${v === 0 ? '0' : formatSI(v, d)} ${unit}`;
  }
}

/**
 * Unit guessed from a Prometheus metric name's suffix: '_bytes' → 'bytes',
 * '_seconds' → 'seconds', '_ratio' → 'percent' (also before '_total' or
 * '_sum'), else ''.
 * @param {string} metricName
 * @returns {string}
 */
export function guessUnit(metricName) {
  if (typeof metricName !== 'string') return '';
  const base = metricName.replace(/_(total|sum)$/, '');
  if (base.endsWith('_bytes')) return 'bytes';
  if (base.endsWith('_seconds')) return 'seconds';
  if (base.endsWith('_ratio')) return 'percent';
  return '';
}

/**
 * Stacks series that share timestamps (not all present in every series).
 * Each output point is [t, base, top] where base is the sum of the earlier
 * series' values at t (missing or NaN count as 0) and top = base + v. A series
 * keeps its own gaps: only its own timestamps are returned, and a NaN value
 * gives top = NaN (a break in its line).
 * @param {{points: [number, number][]}[]} series
 * @returns {[number, number, number][][]} one array per input series
 */
export function stackSeries(series) {
  const sums = new Map(); // t → running total of the series stacked so far
  return (series || []).map((s) => {
    const out = [];
    for (const [t, v] of s.points || []) {
      const base = sums.get(t) || 0;
      if (Number.isFinite(v)) {
        out.push([t, base, base + v]);
        sums.set(t, base + v);
      } else {
        out.push([t, base, NaN]);
      }
    }
    return out;
  });
}

/**
 * Value range over the finite values of all series (the stacked tops and 0
 * when stacked). Empty or all-NaN input gives {min: 0, max: 1}.
 * @param {{points: [number, number][]}[]} series
 * @param {boolean} [stacked=false]
 * @returns {{min: number, max: number}}
 */
export function valueRange(series, stacked = false) {
  let min = Infinity;
  let max = -Infinity;
  if (stacked) {
    for (const pts of stackSeries(series)) {
      for (const p of pts) {
        if (!Number.isFinite(p[2])) continue;
        if (p[2] < min) min = p[2];
        if (p[2] > max) max = p[2];
      }
    }
  } else {
    for (const s of series || []) {
      for (const p of s.points || []) {
        if (!Number.isFinite(p[1])) continue;
        if (p[1] < min) min = p[1];
        if (p[1] > max) max = p[1];
      }
    }
  }
  if (min > max) return { min: 0, max: 1 };
  if (stacked) {
    min = Math.min(min, 0);
    max = Math.max(max, 0);
  }
  return { min, max };
}

/**
 * Index of the point whose timestamp (p[0]) is nearest to t, by binary search
 * over points sorted by time; on a tie the earlier point. -1 when empty.
 * @param {Array<number[]>} points
 * @param {number} t
 * @returns {number}
 */
export function nearestIndex(points, t) {
  if (!points || points.length === 0) return -1;
  let lo = 0;
  let hi = points.length - 1;
  if (!(t > points[lo][0])) return lo; // also NaN t
  if (t >= points[hi][0]) return hi;
  // Invariant: points[lo][0] < t <= points[hi][0].
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] < t) lo = mid;
    else hi = mid;
  }
  return t - points[lo][0] <= points[hi][0] - t ? lo : hi;
}

/**
 * Runs of drawable points, for lines: [start, end) index pairs. A run breaks at
 * a non-finite value (at index `valueIndex`) and, when step > 0, where two
 * consecutive timestamps are more than 1.5 × step apart.
 * @param {Array<number[]>} points sorted by time
 * @param {number} [step] seconds; 0/undefined → only NaN breaks
 * @param {number} [valueIndex=1] which element holds the value (2 for stacked tops)
 * @returns {[number, number][]}
 */
export function segments(points, step = 0, valueIndex = 1) {
  const runs = [];
  const maxGap = step > 0 ? step * 1.5 : Infinity;
  let start = -1;
  for (let i = 0; i < (points || []).length; i++) {
    const ok = Number.isFinite(points[i][valueIndex]);
    if (start >= 0 && (!ok || points[i][0] - points[i - 1][0] > maxGap)) {
      runs.push([start, i]);
      start = -1;
    }
    if (ok && start < 0) start = i;
  }
  if (start >= 0) runs.push([start, points.length]);
  return runs;
}

/** Palette: mid-lightness hues readable on both light and dark backgrounds. */
const PALETTE = [
  '#3d7fdb', // blue
  '#e8871e', // orange
  '#2fa56b', // green
  '#d9434c', // red
  '#8e63d6', // violet
  '#1ba3b5', // cyan
  '#d45fa4', // pink
  '#8aa12a', // olive
  '#c9a227', // mustard
  '#5f73d9', // indigo
  '#a0724a', // brown
  '#7f8c99', // slate
];

/**
 * Colour of the i-th series from a 12-colour palette, cycling.
 * @param {number} i
 * @returns {string} '#rrggbb'
 */
export function seriesColor(i) {
  const n = PALETTE.length;
  const k = Math.floor(Number(i)) || 0;
  return PALETTE[((k % n) + n) % n];
}

/** Escapes a label value the way Prometheus prints it. */
function escapeLabelValue(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Prometheus-style series name: metric{a="b", c="d"} with __name__ first and
 * the other labels sorted by name; '{}' for no labels, 'metric' for a name only.
 * @param {Object<string, string>} labels
 * @returns {string}
 */
export function seriesName(labels) {
  const l = labels || {};
  const name = l.__name__ || '';
  const keys = Object.keys(l).filter((k) => k !== '__name__').sort();
  if (keys.length === 0) return name || '{}';
  const body = keys.map((k) => `${k}="${escapeLabelValue(l[k])}"`).join(', ');
  return `${name}{${body}}`;
}
