// Status (`#/status?tab=…`): scrape targets, log sources and the log store, the TSDB head's
// cardinality, and build / runtime / flags / configuration, as tabs refreshed every 10 s while the
// page is visible. Pure helpers first (tested under Node), then the view.

import { h, message, count, bytes } from './dom.js';
import { getJSON } from './api.js';
import { every } from './controls.js';

/** The tabs, as [name, label]. */
export const TABS = [['targets', 'Targets'], ['logs', 'Logs'], ['tsdb', 'TSDB'], ['build', 'Build & config']];

/**
 * The tab named by a URL parameter (the first tab when unknown).
 * @param {string|undefined} name
 * @returns {string}
 */
export function tabFor(name) {
  return TABS.some(([n]) => n === name) ? name : TABS[0][0];
}

/**
 * The tab a key moves to from `current` (arrows wrap, Home / End), or null for other keys.
 * @param {string} current
 * @param {string} key a KeyboardEvent key
 * @returns {string|null}
 */
export function nextTab(current, key) {
  const i = TABS.findIndex(([n]) => n === current);
  const last = TABS.length - 1;
  const to = { ArrowRight: i === last ? 0 : i + 1, ArrowLeft: i <= 0 ? last : i - 1, Home: 0, End: last }[key];
  return to === undefined ? null : TABS[to][0];
}

/**
 * Groups active targets by scrape pool (pools sorted by name, targets by URL) with up/total counts.
 * @param {Array<{scrapePool: string, scrapeUrl: string, health: string}>} targets
 * @returns {Array<{pool: string, up: number, total: number, targets: object[]}>}
 */
export function groupTargets(targets) {
  const pools = new Map();
  for (const t of targets || []) {
    const pool = t.scrapePool || '';
    if (!pools.has(pool)) pools.set(pool, []);
    pools.get(pool).push(t);
  }
  return [...pools.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pool, list]) => ({
      pool,
      up: list.filter((t) => t.health === 'up').length,
      total: list.length,
      targets: [...list].sort((a, b) => String(a.scrapeUrl).localeCompare(String(b.scrapeUrl))),
    }));
}

/**
 * How long ago an RFC 3339 time was (`12s ago`, `3m 4s ago`, `2h 5m ago`, `1d 2h ago`); `never` for a
 * missing or zero time (year 1), `just now` under a second or in the future.
 * @param {string} iso
 * @param {number} nowMs
 * @returns {string}
 */
export function ago(iso, nowMs) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t) || t < Date.UTC(1971, 0, 1)) return 'never';
  const sec = Math.floor((nowMs - t) / 1000);
  if (sec < 1) return 'just now';
  if (sec < 60) return `${sec}s ago`;
  const parts = [[86400, 'd'], [3600, 'h'], [60, 'm'], [1, 's']];
  const first = parts.findIndex(([size]) => sec >= size);
  const [big, bigUnit] = parts[first];
  const [small, smallUnit] = parts[first + 1];
  const rest = Math.floor((sec % big) / small);
  return `${Math.floor(sec / big)}${bigUnit}${rest ? ` ${rest}${smallUnit}` : ''} ago`;
}

/**
 * A duration in seconds for humans: `500µs`, `12.3ms`, `1.50s`, `12.3s`; `—` when not a number.
 * @param {number} sec
 * @returns {string}
 */
export function formatSeconds(sec) {
  const s = Number(sec);
  if (!Number.isFinite(s) || s < 0) return '—';
  if (s < 0.001) return `${Math.round(s * 1e6)}µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)}ms`;
  return `${s.toFixed(s < 10 ? 2 : 1)}s`;
}

/**
 * Labels as `name="value"` pairs, sorted by name, joined by `, `.
 * @param {Record<string, string>} labels
 * @returns {string}
 */
export function labelsText(labels) {
  return Object.entries(labels || {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(String(v))}`)
    .join(', ');
}

/**
 * An object's entries as [key, text] rows (objects as JSON, null as ''), keys in their order.
 * @param {object} obj
 * @returns {Array<[string, string]>}
 */
export function kvRows(obj) {
  return Object.entries(obj || {}).map(([k, v]) => [k,
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)]);
}

/**
 * Milliseconds since the epoch as an ISO date-time in UTC, or `—` outside years 1970–9999 (the TSDB
 * reports an empty head with extreme values).
 * @param {number} ms
 * @returns {string}
 */
export function msTime(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n < 0 || n > 253402300799999) return '—';
  return new Date(n).toISOString().replace('.000Z', 'Z');
}

// ---- view -------------------------------------------------------------------------------------

/** A table with headings; cells are nodes/strings, or `{v, num}` for right-aligned numbers. */
function grid(headings, rows, className = 'grid') {
  const cell = (c) => (c && typeof c === 'object' && 'v' in c
    ? h('td', { className: 'num', title: c.title || '' }, c.v)
    : h('td', {}, c));
  return h('table', { className },
    h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map(cell)))));
}

/** A two-column key/value table. */
function kvTable(rows, label) {
  return h('table', { className: 'grid kv', attrs: { 'aria-label': label } },
    h('tbody', {}, rows.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { className: 'mono' }, v)))));
}

const section = (title, ...body) => h('section', { className: 'status-section' }, h('h2', {}, title), ...body);
const num = (n, title) => ({ v: count(n), title: title ?? String(n) });

/** Colours a health / state word with the theme's variables (CSSOM, so the CSP allows it). */
function health(state) {
  const node = h('span', { className: `health health-${state}` }, state || 'unknown');
  node.style.color = state === 'up' ? 'var(--ok)' : state === 'down' ? 'var(--danger)' : 'var(--muted)';
  node.style.fontWeight = '600';
  return node;
}

function errorText(text) {
  if (!text) return '';
  const node = h('span', { className: 'error-text mono' }, text);
  node.style.color = 'var(--danger)';
  return node;
}

async function targetsTab() {
  const data = await getJSON('/api/v1/targets');
  const groups = groupTargets(data && data.activeTargets);
  const total = groups.reduce((n, g) => n + g.total, 0);
  const up = groups.reduce((n, g) => n + g.up, 0);
  const down = groups.reduce((n, g) => n + g.targets.filter((t) => t.health === 'down').length, 0);
  const counts = data && data.droppedTargetCounts;
  const dropped = counts && typeof counts === 'object'
    ? Object.values(counts).reduce((n, c) => n + (Number(c) || 0), 0)
    : ((data && data.droppedTargets) || []).length;
  const now = Date.now();
  const out = [h('p', { className: 'status-summary' },
    `${count(total)} active target${total === 1 ? '' : 's'} in ${count(groups.length)} pool${groups.length === 1 ? '' : 's'}: `,
    health('up'), ` ${count(up)}, `, health('down'), ` ${count(down)}`,
    total - up - down ? [', ', health('unknown'), ` ${count(total - up - down)}`] : '',
    `; ${count(dropped)} dropped by relabelling.`)];
  if (!groups.length) out.push(message('No scrape targets: add scrape_configs to the configuration.'));
  for (const g of groups) {
    const interval = g.targets[0] && g.targets[0].scrapeInterval;
    out.push(h('section', { className: 'status-section target-pool', data: { pool: g.pool } },
      h('h2', {}, g.pool || '(no pool)', ' ',
        h('span', { className: g.up === g.total ? 'muted' : '' }, `(${g.up}/${g.total} up)`),
        interval ? h('span', { className: 'muted' }, ` every ${interval}`) : ''),
      grid(['Endpoint', 'State', 'Labels', 'Last scrape', 'Duration', 'Error'], g.targets.map((t) => [
        h('span', { className: 'mono' }, t.scrapeUrl || ''),
        health(t.health),
        h('span', { className: 'mono target-labels' }, labelsText(t.labels)),
        h('span', { title: t.lastScrape || '' }, ago(t.lastScrape, now)),
        ago(t.lastScrape, now) === 'never' ? '—' : { v: formatSeconds(t.lastScrapeDuration), title: `${t.lastScrapeDuration} s` },
        errorText(t.lastError),
      ]))));
  }
  return out;
}

async function logsTab() {
  const [sources, stats] = await Promise.allSettled([
    getJSON('/loupe/api/v1/log_sources'),
    getJSON('/loupe/api/v1/status/logs'),
  ]);
  const out = [];
  if (stats.status === 'rejected') {
    out.push(section('Log store', message(stats.reason.message, 'error')));
  } else {
    const s = stats.value || {};
    out.push(section('Log store', kvTable([
      ['Time windows', count(s.windows)],
      ['Streams', count(s.streams)],
      ['Entries', count(s.entries)],
      ['Line bytes', `${bytes(s.lineBytes)} (${count(s.lineBytes)} B)`],
      ['On disk', `${bytes(s.diskBytes)} (${count(s.diskBytes)} B)`],
    ], 'Log store')));
  }
  if (sources.status === 'rejected') {
    out.push(section('Log sources', message(sources.reason.message, 'error')));
    return out;
  }
  const src = sources.value || {};
  const files = [...(src.files || [])].sort((a, b) => String(a.path).localeCompare(String(b.path)));
  const push = h('p', { className: 'muted' }, 'The push API at ', h('code', {}, '/loki/api/v1/push'), ' is always on.');
  if (!src.enabled) {
    out.push(section('Log sources', message('No log sources are configured: no container log files are tailed.'), push));
  } else if (!files.length) {
    out.push(section('Log sources', message('Log sources are configured but no log files were found yet.'), push));
  } else {
    const lagging = files.filter((f) => f.lagBytes > 0).length;
    const failing = files.filter((f) => f.lastError).length;
    out.push(section(`Log sources (${count(files.length)} files)`,
      h('p', { className: 'muted' }, `${count(lagging)} behind, ${count(failing)} with errors.`),
      grid(['File', 'Kind', 'Container', 'Labels', 'Read', 'Lag', 'Malformed lines', 'Error'], files.map((f) => [
        h('span', { className: 'mono', title: f.path }, f.path),
        f.kind || '',
        h('span', { className: 'mono' }, f.container || ''),
        h('span', { className: 'mono' }, labelsText(f.labels)),
        { v: `${bytes(f.offset)} / ${bytes(f.size)}`, title: `${f.offset} of ${f.size} bytes` },
        { v: f.lagBytes > 0 ? bytes(f.lagBytes) : '0', title: `${f.lagBytes} bytes` },
        num(f.malformedLines),
        errorText(f.lastError),
      ])), push));
  }
  return out;
}

async function tsdbTab(nav) {
  const d = (await getJSON('/api/v1/status/tsdb?limit=10')) || {};
  const head = d.headStats || {};
  const top = (title, list, fmt, link) => h('div', { className: 'panel' },
    h('h2', { className: 'panel-title' }, title),
    (list || []).length
      ? grid(['Name', title.startsWith('Memory') ? 'Bytes' : 'Count'], list.map((e) => [
        link ? h('a', { className: 'mono', href: link(e.name) }, e.name) : h('span', { className: 'mono' }, e.name),
        { v: fmt(e.value), title: String(e.value) },
      ]))
      : message('none'));
  return [
    section('Head', kvTable([
      ['Series', count(head.numSeries)],
      ['Label pairs', count(head.numLabelPairs)],
      ['Chunks', count(head.chunkCount)],
      ['Oldest sample', msTime(head.minTime)],
      ['Newest sample', msTime(head.maxTime)],
    ], 'Head')),
    h('div', { className: 'panel-grid' },
      top('Series by metric name', d.seriesCountByMetricName, count, (name) => nav.href('metrics', { q: name })),
      top('Values by label name', d.labelValueCountByLabelName, count),
      top('Memory by label name', d.memoryInBytesByLabelName, bytes),
      top('Series by label pair', d.seriesCountByLabelValuePair, count)),
  ];
}

async function buildTab() {
  const paths = ['/api/v1/status/buildinfo', '/api/v1/status/runtimeinfo', '/api/v1/status/flags', '/api/v1/status/config'];
  const [build, runtime, flags, config] = await Promise.allSettled(paths.map((p) => getJSON(p)));
  const kv = (title, r, sort = false) => {
    if (r.status === 'rejected') return section(title, message(r.reason.message, 'error'));
    const rows = kvRows(r.value);
    if (sort) rows.sort(([a], [b]) => a.localeCompare(b));
    return section(title, rows.length ? kvTable(rows, title) : message('none'));
  };
  return [
    h('div', { className: 'panel-grid' }, kv('Build', build), kv('Runtime', runtime)),
    kv('Flags', flags, true),
    config.status === 'rejected'
      ? section('Configuration', message(config.reason.message, 'error'))
      : section('Configuration', h('pre', { className: 'mono config-yaml', data: { scrollKey: 'config' }, tabIndex: 0 },
        (config.value && config.value.yaml) || '')),
  ];
}

const RENDER = { targets: targetsTab, logs: logsTab, tsdb: tsdbTab, build: buildTab };

/**
 * Mounts the status page.
 * @param {HTMLElement} root
 * @param {Record<string, string>} params `tab`
 * @param {object} nav
 * @returns {{update: (params: object) => void, unmount: () => void}}
 */
export function mount(root, params, nav) {
  let tab = tabFor(params.tab);
  let token = 0;
  let alive = true;
  const buttons = new Map();
  const panel = h('div', { id: 'status-panel', className: 'status-panel', attrs: { role: 'tabpanel', tabindex: '0' } });
  const updated = h('span', { className: 'muted status-updated', attrs: { 'aria-live': 'off' } });
  const tablist = h('div', { className: 'tabs', attrs: { role: 'tablist', 'aria-label': 'Status' } });
  for (const [name, label] of TABS) {
    const b = h('button', {
      type: 'button',
      className: 'tab',
      id: `status-tab-${name}`,
      attrs: { role: 'tab', 'aria-controls': 'status-panel' },
      on: {
        click: () => select(name, true),
        keydown: (e) => {
          const to = nextTab(tab, e.key);
          if (!to) return;
          e.preventDefault();
          select(to, true);
          buttons.get(to).focus();
        },
      },
    }, label);
    buttons.set(name, b);
    tablist.append(b);
  }
  root.append(h('section', { className: 'status-page' },
    h('div', { className: 'toolbar' }, h('h1', {}, 'Status'), updated), tablist, panel));

  async function load(first) {
    const t = ++token;
    const name = tab;
    if (first) panel.replaceChildren(h('p', { className: 'muted' }, 'loading…'));
    let nodes;
    try {
      nodes = await RENDER[name](nav);
    } catch (e) {
      nodes = [message(e.message, 'error')];
    }
    if (!alive || t !== token) return;
    // A refresh must not take away text the user is selecting, or reset a scrolled block.
    const sel = typeof getSelection === 'function' ? getSelection() : null;
    if (!first && sel && !sel.isCollapsed && panel.contains(sel.anchorNode)) return;
    const scrolls = [...panel.querySelectorAll('[data-scroll-key]')].map((e) => [e.dataset.scrollKey, e.scrollTop, e.scrollLeft]);
    panel.replaceChildren(...nodes);
    for (const [key, top, left] of scrolls) {
      const e = panel.querySelector(`[data-scroll-key="${key}"]`);
      if (e) e.scrollTo(left, top);
    }
    panel.dataset.tab = name;
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  }

  function mark() {
    for (const [name, b] of buttons) {
      b.setAttribute('aria-selected', String(name === tab));
      b.tabIndex = name === tab ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `status-tab-${tab}`);
  }

  function select(name, push) {
    if (name === tab && panel.dataset.tab === name) return;
    tab = name;
    if (push) nav.set({ tab }, { replace: false });
    mark();
    load(true);
  }

  mark();
  load(true);
  const stop = every('10s', () => load(false));
  return {
    update(p) {
      select(tabFor(p.tab), false);
    },
    unmount() {
      alive = false;
      stop();
    },
  };
}
