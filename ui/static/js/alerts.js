// Alerts (`#/alerts`): every rule group from `/api/v1/rules` — alerting rules with their state,
// since when, labels, annotations and the query behind them (with a link to the explorer), and
// recording rules with their health. Refreshed every 10 s while visible. `?state=firing|pending`
// narrows the list.

import { h, clear, message, count } from './dom.js';
import { getJSON } from './api.js';
import { every } from './controls.js';
import { ago, labelsText, formatSeconds } from './status.js';

/** Display order of rule states. */
const ORDER = { firing: 0, pending: 1, inactive: 2 };

/**
 * Counts alerting rules by state over groups.
 * @param {Array<{rules: Array<{type: string, state?: string}>}>} groups
 * @returns {{firing: number, pending: number, inactive: number}}
 */
export function countStates(groups) {
  const out = { firing: 0, pending: 0, inactive: 0 };
  for (const g of groups || []) {
    for (const r of g.rules || []) if (r.type === 'alerting' && r.state in out) out[r.state] += 1;
  }
  return out;
}

/**
 * The explorer link for a rule's query: the logs explorer for LogQL groups, else metrics.
 * @param {{lang?: string}} group
 * @param {string} query
 * @param {{href: Function}} nav
 * @returns {string}
 */
export function explorerHref(group, query, nav) {
  return nav.href(group.lang === 'logql' ? 'logs' : 'metrics', { q: query, from: 'now-1h', to: 'now' });
}

function badge(state) {
  return h('span', { className: `health health-${state} badge` }, state);
}

function pairsList(obj) {
  const entries = Object.entries(obj || {});
  if (!entries.length) return h('span', { className: 'muted' }, '—');
  return h('dl', { className: 'pairs' }, entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function alertRule(group, rule, nav, now) {
  const alerts = rule.alerts || [];
  const head = h('div', { className: 'rule-head' },
    badge(rule.state),
    h('strong', { className: 'rule-name' }, rule.name),
    rule.duration ? h('span', { className: 'muted' }, `for ${formatSeconds(rule.duration)}`) : null,
    rule.keepFiringFor ? h('span', { className: 'muted' }, `keep firing for ${formatSeconds(rule.keepFiringFor)}`) : null,
    rule.health === 'err' ? h('span', { className: 'health health-down' }, 'error') : null);
  const query = h('div', { className: 'rule-query' },
    h('code', { className: 'mono' }, rule.query),
    ' ',
    h('a', { className: 'explorer-link', href: explorerHref(group, rule.query, nav) }, 'open in explorer'));
  const rows = alerts
    .slice()
    .sort((a, b) => (ORDER[a.state] ?? 3) - (ORDER[b.state] ?? 3))
    .map((a) => h('tr', { data: { state: a.state } },
      h('td', {}, badge(a.state)),
      h('td', { title: a.activeAt }, ago(a.activeAt, now)),
      h('td', { className: 'mono' }, labelsText(a.labels)),
      h('td', {}, pairsList(a.annotations)),
      h('td', { className: 'num mono' }, a.value)));
  return h('article', { className: 'panel rule', data: { rule: rule.name, state: rule.state } },
    head,
    query,
    rule.lastError ? message(rule.lastError, 'error') : null,
    h('div', { className: 'rule-meta' }, h('span', { className: 'muted' }, 'labels '), pairsList(rule.labels)),
    Object.keys(rule.annotations || {}).length
      ? h('div', { className: 'rule-meta' }, h('span', { className: 'muted' }, 'annotations '), pairsList(rule.annotations))
      : null,
    rows.length
      ? h('table', { className: 'grid alerts-table' },
        h('thead', {}, h('tr', {}, ['state', 'since', 'labels', 'annotations', 'value'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))
      : null);
}

function recordingRule(group, rule, nav) {
  return h('article', { className: 'panel rule', data: { rule: rule.name } },
    h('div', { className: 'rule-head' },
      h('span', { className: `health health-${rule.health === 'ok' ? 'up' : rule.health === 'err' ? 'down' : 'unknown'} badge` }, rule.health),
      h('strong', { className: 'rule-name mono' }, rule.name),
      h('span', { className: 'muted' }, 'recording rule')),
    h('div', { className: 'rule-query' },
      h('code', { className: 'mono' }, rule.query),
      ' ',
      h('a', { className: 'explorer-link', href: nav.href('metrics', { q: rule.name, from: 'now-1h', to: 'now' }) }, 'graph the output')),
    rule.lastError ? message(rule.lastError, 'error') : null);
}

/**
 * Mounts the page.
 * @param {HTMLElement} root
 * @param {Record<string, string>} params
 * @param {object} nav the router (see app.js)
 */
export function mount(root, params, nav) {
  let filter = params.state || '';
  const summary = h('div', { className: 'alerts-summary', attrs: { 'aria-live': 'polite' } });
  const body = h('div', { className: 'alerts-body' });
  const select = h('select', {
    attrs: { 'aria-label': 'Show' },
    on: {
      change: () => {
        filter = select.value;
        nav.set({ state: filter });
        load();
      },
    },
  }, h('option', { value: '' }, 'all rules'), h('option', { value: 'firing' }, 'firing'), h('option', { value: 'pending' }, 'pending'));
  select.value = filter;
  root.append(h('section', { className: 'page alerts-page' },
    h('div', { className: 'toolbar' }, h('h1', {}, 'Alerts'), select, summary),
    body));

  async function load() {
    let data;
    try {
      data = await getJSON('/api/v1/rules');
    } catch (e) {
      clear(body);
      body.append(message(e.message, 'error'));
      return;
    }
    const groups = data.groups || [];
    const states = countStates(groups);
    summary.textContent = `${count(states.firing)} firing, ${count(states.pending)} pending, ${count(states.inactive)} inactive`;
    clear(body);
    if (!groups.length) {
      body.append(message('No rules are loaded. Add rule files with rule_files in the configuration.'));
      return;
    }
    const now = Date.now();
    for (const group of groups) {
      const rules = (group.rules || []).filter((r) => !filter || (r.type === 'alerting' && r.state === filter));
      if (!rules.length) continue;
      rules.sort((a, b) => (a.type === b.type ? 0 : a.type === 'alerting' ? -1 : 1)
        || (ORDER[a.state] ?? 3) - (ORDER[b.state] ?? 3));
      body.append(h('section', { className: 'rule-group', data: { group: group.name } },
        h('h2', {}, group.name, ' ', h('span', { className: 'muted' }, `${group.file} · every ${formatSeconds(group.interval)}${group.lang === 'logql' ? ' · LogQL' : ''}`)),
        rules.map((r) => (r.type === 'alerting' ? alertRule(group, r, nav, now) : recordingRule(group, r, nav)))));
    }
    if (!body.childElementCount) body.append(message(`No ${filter} alerts.`));
  }

  load();
  const stop = every('10s', load);
  return {
    update(next) {
      filter = next.state || '';
      select.value = filter;
      load();
    },
    unmount() {
      stop();
    },
  };
}
