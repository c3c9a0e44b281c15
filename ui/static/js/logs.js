// The logs explorer: a LogQL box, a log-volume histogram by level over the range, the lines newest
// first (older ones loaded on scroll) with matches highlighted, and live tail. A metric query is
// drawn as a graph instead. State: `#/logs?q=…&from=…&to=…&refresh=…&live=1`.

import { h, clear, message, count } from './dom.js';
import { timePicker, queryEditor, every } from './controls.js';
import { viewRange, viewParams, autoStep, isoTime } from './timerange.js';
import { graphPanel, streamEntries, logRow } from './panels.js';
import { Chart } from './chart.js';
import {
  lineFilters, isLogQuery, volumeQuery, levelOf, LEVELS, metricsSelectorFor,
} from './querytext.js';
import * as api from './api.js';

/** Lines per request. */
const PAGE = 100;
/** Most lines kept on the page (older ones are dropped while tailing). */
const MAX_LINES = 5000;

/**
 * Mounts the page.
 * @param {HTMLElement} root
 * @param {Record<string, string>} params
 * @param {object} nav the router (see app.js)
 */
export function mount(root, params, nav) {
  let state = normalise(params);
  let stopRefresh = () => {};
  let socket = null;
  let generation = 0;
  /** Entries shown, newest first, and their keys (for de-duplication across pages and tail). */
  let entries = [];
  let seen = new Set();
  let exhausted = false;
  let loading = false;

  const picker = timePicker(state, (r) => {
    state = { ...state, ...r };
    save(false);
    run();
  });
  const liveButton = h('button', {
    type: 'button',
    className: 'live-toggle',
    attrs: { 'aria-pressed': 'false' },
    on: {
      click: () => {
        state.live = state.live === '1' ? '' : '1';
        save(false);
        run();
      },
    },
  }, 'Live');
  const editor = queryEditor({
    lang: 'logql',
    value: state.q,
    getRange: () => range(),
    onRun: (q) => {
      state.q = q;
      save(true);
      run();
    },
  });
  const volumeBox = h('div', { className: 'panel volume' });
  const volume = new Chart(volumeBox, { height: 110, onZoom: zoom });
  const graphBox = h('div', { className: 'panel result-graph' });
  const graph = graphPanel(graphBox, { nav, height: 300, onZoom: zoom });
  const info = h('div', { className: 'log-info muted', attrs: { 'aria-live': 'polite' } });
  const lines = h('div', { className: 'log-lines', attrs: { role: 'log', 'aria-label': 'Log lines' } });
  const sentinel = h('div', { className: 'log-sentinel muted' });
  const errorBox = h('div', { className: 'panel-error' });
  root.append(h('section', { className: 'page logs-page' },
    h('div', { className: 'toolbar' }, picker.el, liveButton),
    editor.el,
    errorBox,
    volumeBox,
    graphBox,
    info,
    lines,
    sentinel));
  const observer = new IntersectionObserver((records) => {
    if (records.some((r) => r.isIntersecting)) loadOlder();
  });
  observer.observe(sentinel);
  const redraw = () => volume.redraw();
  window.addEventListener('loupe-theme', redraw);

  function zoom(from, to) {
    state.from = isoTime(from);
    state.to = isoTime(to);
    state.live = '';
    picker.set(state);
    save(true);
    run();
  }

  function range() {
    return viewRange(state.from, state.to, Date.now() / 1000);
  }

  function save(push) {
    nav.set({ q: state.q, from: state.from, to: state.to, refresh: state.refresh, live: state.live }, { replace: !push });
  }

  function metricsLink(labels) {
    const selector = metricsSelectorFor(labels);
    if (!selector) return null;
    const r = range();
    return h('a', {
      className: 'metrics-link',
      href: nav.href('metrics', { q: selector, from: String(Math.floor(r.start)), to: String(Math.ceil(r.end)) }),
      title: `Metrics of ${selector}`,
    }, 'metrics');
  }

  const key = (e) => `${e.ts}\u0000${JSON.stringify(e.labels)}\u0000${e.line}`;

  function showLines(fresh, atTop) {
    const filters = lineFilters(state.q);
    const rows = fresh.map((e) => logRow(e, filters, metricsLink));
    if (atTop) lines.prepend(...rows);
    else lines.append(...rows);
    while (lines.childElementCount > MAX_LINES) lines.lastElementChild.remove();
    entries = atTop ? fresh.concat(entries) : entries.concat(fresh);
    if (entries.length > MAX_LINES) entries.length = MAX_LINES;
    info.textContent = `${count(entries.length)} lines shown${exhausted ? ' (all in range)' : ''}${socket ? ' · live' : ''}`;
  }

  function addNew(batch, atTop) {
    const fresh = [];
    for (const e of batch) {
      const k = key(e);
      if (seen.has(k)) continue;
      seen.add(k);
      fresh.push(e);
    }
    if (fresh.length) showLines(fresh, atTop);
    return fresh.length;
  }

  async function loadOlder() {
    if (loading || exhausted || !entries.length || !isLogQuery(state.q) || socket) return;
    loading = true;
    const gen = generation;
    const r = range();
    const oldest = entries[entries.length - 1].ts;
    try {
      // `end` is exclusive: one nanosecond past the oldest shown, so lines sharing its timestamp
      // that did not fit in the last page come back (the shown ones are de-duplicated).
      const data = await api.lokiRange(state.q, r.start, r.end, { limit: PAGE, direction: 'backward', endNs: `${BigInt(oldest) + 1n}` });
      if (gen !== generation) return;
      const batch = streamEntries(data.result);
      const added = addNew(batch, false);
      if (batch.length < PAGE || added === 0) {
        exhausted = true;
        sentinel.textContent = 'no older lines in this range';
        showLines([], false);
      }
    } catch (e) {
      if (gen === generation) errorBox.append(message(e.message, 'error'));
    } finally {
      loading = false;
    }
  }

  async function loadVolume(r, gen) {
    const step = autoStep(r.start, r.end, 120, 1);
    try {
      const data = await api.lokiRange(volumeQuery(state.q, step), r.start, r.end, { step: `${step}s` });
      if (gen !== generation) return;
      const byLevel = new Map();
      for (const s of data.result || []) {
        const level = levelOf(s.metric);
        const points = byLevel.get(level) || new Map();
        for (const [t, v] of s.values) points.set(Number(t), (points.get(Number(t)) || 0) + Number(v));
        byLevel.set(level, points);
      }
      const css = getComputedStyle(document.documentElement);
      const series = LEVELS.filter(([level]) => byLevel.has(level)).map(([level, variable]) => ({
        name: level,
        labels: { level },
        color: css.getPropertyValue(variable).trim() || undefined,
        points: [...byLevel.get(level).entries()].sort((a, b) => a[0] - b[0]),
      }));
      volume.setData({ series, from: r.start, to: r.end, step, kind: 'bars', stacked: true, unit: '' });
    } catch {
      volume.setData({ series: [], from: r.start, to: r.end, kind: 'bars', stacked: true });
    }
  }

  function startTail(r) {
    socket = api.lokiTail(state.q, Math.max(r.start, Date.now() / 1000 - 3600), PAGE);
    const mine = socket;
    socket.addEventListener('message', (event) => {
      if (mine !== socket) return;
      let body;
      try {
        body = JSON.parse(event.data);
      } catch {
        return;
      }
      const batch = streamEntries(body.streams || []);
      addNew(batch, true);
    });
    socket.addEventListener('close', (event) => {
      if (mine !== socket) return;
      socket = null;
      if (event.reason) errorBox.append(message(`live tail closed: ${event.reason}`, 'error'));
      showLines([], true);
    });
  }

  function stopTail() {
    if (socket) {
      const s = socket;
      socket = null;
      s.close();
    }
  }

  async function run() {
    generation += 1;
    const gen = generation;
    stopRefresh();
    stopTail();
    clear(errorBox);
    clear(lines);
    entries = [];
    seen = new Set();
    exhausted = false;
    sentinel.textContent = '';
    liveButton.setAttribute('aria-pressed', String(state.live === '1'));
    const r = range();
    if (r.error) {
      editor.showError(r.error);
      return;
    }
    const logQuery = isLogQuery(state.q);
    volumeBox.hidden = !logQuery || !state.q;
    graphBox.hidden = logQuery || !state.q;
    if (!state.q) {
      info.textContent = '';
      lines.append(message('Enter a LogQL query, e.g. {container="web"} |= "error", and press Enter.'));
      return;
    }
    if (!logQuery) {
      info.textContent = '';
      await graph.run({ query: state.q, lang: 'logql', start: r.start, end: r.end, step: autoStep(r.start, r.end, 300, 1) });
      stopRefresh = every(state.refresh, run);
      return;
    }
    loadVolume(r, gen);
    if (state.live === '1') {
      startTail(r);
      info.textContent = 'live';
      return;
    }
    info.textContent = 'loading…';
    try {
      const data = await api.lokiRange(state.q, r.start, r.end, { limit: PAGE, direction: 'backward' });
      if (gen !== generation) return;
      const batch = streamEntries(data.result);
      exhausted = batch.length < PAGE;
      if (exhausted) sentinel.textContent = batch.length ? 'no older lines in this range' : '';
      addNew(batch, false);
      if (!batch.length) {
        info.textContent = '';
        lines.append(message('no log lines in this range'));
      }
    } catch (e) {
      if (gen !== generation) return;
      info.textContent = '';
      errorBox.append(message(e.message, 'error'));
    }
    stopRefresh = every(state.refresh, run);
  }

  run();
  return {
    update(next) {
      state = normalise(next);
      picker.set(state);
      editor.set(state.q);
      run();
    },
    unmount() {
      generation += 1;
      stopRefresh();
      stopTail();
      observer.disconnect();
      window.removeEventListener('loupe-theme', redraw);
      volume.destroy();
      graph.destroy();
    },
  };
}

function normalise(params) {
  return {
    ...viewParams(params),
    live: params.live === '1' ? '1' : '',
  };
}
