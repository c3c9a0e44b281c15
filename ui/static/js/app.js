// The page shell: a hash router (`#/metrics?q=…&from=now-1h&to=now`), the navigation bar and the
// theme switch. Every view keeps its whole state in the URL, so a view can be shared as a link.

import { h, clear } from './dom.js';

/** Pages by route name; each module exports `mount(root, params, nav)` → `{update?, unmount?}`. */
const PAGES = {
  metrics: { title: 'Metrics', load: () => import('./metrics.js') },
  logs: { title: 'Logs', load: () => import('./logs.js') },
  dashboards: { title: 'Dashboards', load: () => import('./dashboards.js') },
  alerts: { title: 'Alerts', load: () => import('./alerts.js') },
  status: { title: 'Status', load: () => import('./status.js') },
};

/**
 * Splits a location hash into a page name and its parameters.
 * @param {string} hash e.g. `#/logs?q=%7Bjob%3D%22a%22%7D`
 * @returns {{page: string, params: Record<string, string>}}
 */
export function parseHash(hash) {
  const body = String(hash || '').replace(/^#\/?/, '');
  const q = body.indexOf('?');
  const page = (q < 0 ? body : body.slice(0, q)) || 'metrics';
  const params = Object.fromEntries(new URLSearchParams(q < 0 ? '' : body.slice(q + 1)));
  return { page: PAGES[page] ? page : 'metrics', params };
}

/**
 * Builds a hash from a page name and parameters (empty values left out).
 * @param {string} page
 * @param {Record<string, string>} params
 * @returns {string}
 */
export function buildHash(page, params = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return `#/${page}${s ? `?${s}` : ''}`;
}

let current = { page: '', view: null, token: 0 };
/** The hash last rendered (or set by a page), so the popstate + hashchange pair renders once. */
let lastHash = null;

const nav = {
  /** Goes to a page (a new history entry unless `replace`). */
  go(page, params = {}, { replace = false } = {}) {
    const hash = buildHash(page, params);
    if (hash === location.hash) return;
    if (replace) history.replaceState(null, '', hash);
    else history.pushState(null, '', hash);
    route();
  },
  /** Updates the current page's URL without re-rendering it. */
  set(params, { replace = true } = {}) {
    const hash = buildHash(current.page, params);
    if (hash === location.hash) return;
    if (replace) history.replaceState(null, '', hash);
    else history.pushState(null, '', hash);
    lastHash = location.hash;
  },
  /** A link (`href`) to a page with parameters. */
  href: (page, params) => buildHash(page, params),
};

async function route() {
  if (location.hash === lastHash && current.page) return;
  lastHash = location.hash;
  const { page, params } = parseHash(location.hash);
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('nav.pages a')) {
    if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (current.page === page && current.view && current.view.update) {
    current.view.update(params);
    return;
  }
  if (current.view && current.view.unmount) current.view.unmount();
  const token = ++current.token;
  current = { page, view: null, token };
  const module = await PAGES[page].load();
  if (token !== current.token) return;
  clear(main);
  document.title = `${PAGES[page].title} · Loupe`;
  current.view = module.mount(main, params, nav) || null;
}

/** Applies and remembers the theme: 'light', 'dark' or '' (follow the system). */
function setTheme(theme) {
  if (theme) document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
  try {
    if (theme) localStorage.setItem('loupe-theme', theme);
    else localStorage.removeItem('loupe-theme');
  } catch {
    // Storage may be unavailable (private mode); the choice then lasts for this page only.
  }
  window.dispatchEvent(new Event('loupe-theme'));
}

function effectiveTheme() {
  const set = document.documentElement.dataset.theme;
  if (set) return set;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

function shell() {
  let saved = '';
  try {
    saved = localStorage.getItem('loupe-theme') || '';
  } catch {
    saved = '';
  }
  if (saved) document.documentElement.dataset.theme = saved;
  const toggle = h('button', {
    type: 'button',
    className: 'theme-toggle',
    title: 'Switch light / dark theme',
    attrs: { 'aria-label': 'Switch light or dark theme' },
    on: { click: () => setTheme(effectiveTheme() === 'dark' ? 'light' : 'dark') },
  }, '◐');
  const links = Object.entries(PAGES).map(([name, p]) =>
    h('a', { href: `#/${name}`, data: { page: name } }, p.title));
  const header = h('header', { className: 'topbar' },
    h('a', { className: 'brand', href: '#/metrics' }, 'Loupe'),
    h('nav', { className: 'pages', attrs: { 'aria-label': 'Pages' } }, links),
    toggle);
  document.body.prepend(header);
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () =>
    window.dispatchEvent(new Event('loupe-theme')));
}

if (typeof document !== 'undefined' && document.getElementById('main')) {
  shell();
  window.addEventListener('hashchange', route);
  window.addEventListener('popstate', route);
  route();
}
