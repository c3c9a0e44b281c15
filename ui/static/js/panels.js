// Panels shared by the explorers and the dashboards: a graph of a range query (PromQL, or a LogQL
// metric query), a table of an instant query, and log lines.

import { h, clear, message, count } from './dom.js';
import { Chart } from './chart.js';
import { seriesName, formatValue, guessUnit } from './chartmath.js';
import { highlight, logsSelectorFor } from './querytext.js';
import * as api from './api.js';

/**
 * Parses a Prometheus sample value string ("1.5", "NaN", "+Inf", "-Inf").
 * @param {string} v
 * @returns {number}
 */
export function sampleValue(v) {
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

/**
 * Turns a matrix result into chart series.
 * @param {Array<{metric: object, values: Array<[number, string]>}>} result
 * @returns {Array<{name: string, labels: object, points: Array<[number, number]>}>}
 */
export function matrixToSeries(result) {
  return (result || []).map((r) => ({
    name: seriesName(r.metric || {}),
    labels: r.metric || {},
    points: (r.values || []).map(([t, v]) => [Number(t), sampleValue(v)]),
  }));
}

/** The first metric name in a query, for guessing its unit. */
function firstMetricName(query) {
  const m = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[)/.exec(query || '');
  return m ? m[1] : '';
}

/**
 * A link to the logs of the container a series belongs to (metrics → logs), or null.
 * @param {object} labels
 * @param {{start: number, end: number}} range seconds
 * @param {{href: Function}} nav
 * @returns {HTMLElement|null}
 */
export function logsLink(labels, range, nav) {
  const selector = logsSelectorFor(labels);
  if (!selector) return null;
  return h('a', {
    className: 'logs-link',
    href: nav.href('logs', { q: selector, from: String(Math.floor(range.start)), to: String(Math.ceil(range.end)) }),
    title: `Logs of ${selector}`,
  }, 'logs');
}

/**
 * A graph panel. `run` queries and draws; errors and "no data" show in the panel.
 * @param {HTMLElement} container
 * @param {{onZoom?: (from: number, to: number) => void, nav?: object, height?: number}} opts
 */
export function graphPanel(container, opts = {}) {
  const status = h('div', { className: 'panel-status muted' });
  const errorBox = h('div', { className: 'panel-error' });
  const chartBox = h('div', { className: 'panel-chart' });
  container.append(errorBox, chartBox, status);
  let range = { start: 0, end: 0 };
  const chart = new Chart(chartBox, {
    height: opts.height || 260,
    onZoom: opts.onZoom,
    legendExtra: opts.nav ? (s) => logsLink(s.labels, range, opts.nav) : undefined,
  });
  let controller = null;
  const redraw = () => chart.redraw();
  window.addEventListener('loupe-theme', redraw);
  return {
    chart,
    /**
     * @param {{query: string, lang?: string, start: number, end: number, step: number, unit?: string, stacked?: boolean}} q
     */
    async run(q) {
      if (controller) controller.abort();
      controller = new AbortController();
      range = { start: q.start, end: q.end };
      clear(errorBox);
      status.textContent = 'loading…';
      const began = performance.now();
      try {
        const data = q.lang === 'logql'
          ? await api.lokiRange(q.query, q.start, q.end, { step: `${q.step}s` }, controller.signal)
          : await api.promRange(q.query, q.start, q.end, q.step, controller.signal);
        if (data.resultType !== 'matrix') throw new api.ApiError(`expected a matrix, got ${data.resultType}`, 0);
        const series = matrixToSeries(data.result);
        const unit = q.unit !== undefined && q.unit !== '' ? q.unit : guessUnit(firstMetricName(q.query));
        chart.setData({ series, from: q.start, to: q.end, step: q.step, kind: 'line', stacked: !!q.stacked, unit });
        const points = series.reduce((n, s) => n + s.points.length, 0);
        status.textContent = `${count(series.length)} series, ${count(points)} points, ${Math.round(performance.now() - began)} ms`;
      } catch (e) {
        if (e.name === 'AbortError') return;
        chart.setData({ series: [], from: q.start, to: q.end, kind: 'line', stacked: false });
        errorBox.append(message(e.message, 'error'));
        status.textContent = '';
      }
    },
    destroy() {
      if (controller) controller.abort();
      window.removeEventListener('loupe-theme', redraw);
      chart.destroy();
    },
  };
}

/**
 * Renders an instant-query result as a table (vector, scalar or string).
 * @param {{resultType: string, result: any}} data
 * @param {{unit?: string, nav?: object, range?: object}} opts
 * @returns {HTMLElement}
 */
export function resultTable(data, opts = {}) {
  if (data.resultType === 'scalar' || data.resultType === 'string') {
    return h('table', { className: 'grid result-table' }, h('tbody', {},
      h('tr', {}, h('td', {}, data.resultType), h('td', { className: 'num' }, String(data.result[1])))));
  }
  const rows = (data.result || []).map((r) => {
    const value = r.value ? r.value[1] : (r.values && r.values.length ? r.values[r.values.length - 1][1] : '');
    const link = opts.nav && opts.range ? logsLink(r.metric || {}, opts.range, opts.nav) : null;
    return h('tr', {},
      h('td', { className: 'mono' }, seriesName(r.metric || {}), link ? ' ' : '', link),
      h('td', { className: 'num', title: value }, formatValue(sampleValue(value), opts.unit || '')));
  });
  if (!rows.length) return message('no data');
  return h('table', { className: 'grid result-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'series'), h('th', { scope: 'col' }, 'value'))),
    h('tbody', {}, rows));
}

/**
 * Flattens a streams result into entries, newest first (or oldest first when `forward`).
 * @param {Array<{stream: object, values: Array<[string, string]>}>} result
 * @param {boolean} [forward]
 * @returns {Array<{ts: string, line: string, labels: object}>}
 */
export function streamEntries(result, forward = false) {
  const out = [];
  for (const s of result || []) for (const [ts, line] of s.values || []) out.push({ ts, line, labels: s.stream || {} });
  const cmp = (a, b) => (a.ts.length - b.ts.length) || (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);
  out.sort((a, b) => (forward ? cmp(a, b) : cmp(b, a)));
  return out;
}

/** Formats a nanosecond timestamp string as local `YYYY-MM-DD HH:MM:SS.mmm`. */
export function formatNs(ts) {
  const ms = Number(BigInt(ts) / 1000000n);
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * One log line as a row: time, labels (collapsed to the identity ones), the text with matches marked.
 * @param {{ts: string, line: string, labels: object}} entry
 * @param {Array<{kind: string, value: string}>} filters
 * @param {(labels: object) => HTMLElement|null} [extra] e.g. a link to the container's metrics
 * @returns {HTMLElement}
 */
export function logRow(entry, filters, extra) {
  const text = h('span', { className: 'log-text' });
  for (const seg of highlight(entry.line, filters)) {
    text.append(seg.match ? h('mark', {}, seg.text) : document.createTextNode(seg.text));
  }
  const labels = Object.entries(entry.labels).map(([k, v]) => `${k}=${v}`).join(' ');
  const level = (entry.labels.detected_level || entry.labels.level || '').toLowerCase();
  return h('div', { className: 'log-line', data: { ts: entry.ts, level } },
    h('time', { className: 'log-time mono' }, formatNs(entry.ts)),
    h('span', { className: 'log-labels mono muted', title: labels }, labels),
    text,
    extra ? extra(entry.labels) : null);
}
