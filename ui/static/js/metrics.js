// The metrics explorer: a PromQL box (completion, inline parse errors), a time range with refresh,
// and the answer as a graph (range query) or a table (instant query). State: `#/metrics?q=…&from=…
// &to=…&refresh=…&tab=graph|table&stacked=1`.

import { h, clear, message } from './dom.js';
import { timePicker, queryEditor, every } from './controls.js';
import { viewRange, viewParams, autoStep, isoTime } from './timerange.js';
import { graphPanel, resultTable } from './panels.js';
import * as api from './api.js';

/**
 * Mounts the page.
 * @param {HTMLElement} root
 * @param {Record<string, string>} params
 * @param {object} nav the router (see app.js)
 */
export function mount(root, params, nav) {
  let state = normalise(params);
  let stopRefresh = () => {};

  const picker = timePicker(state, (r) => {
    state = { ...state, ...r };
    save(false);
    run();
  });
  const tabs = h('div', { className: 'tabs', attrs: { role: 'tablist', 'aria-label': 'Result view' } });
  const tabButtons = ['graph', 'table'].map((name) => h('button', {
    type: 'button',
    className: 'tab',
    attrs: { role: 'tab' },
    data: { tab: name },
    on: {
      click: () => {
        state.tab = name;
        save(false);
        show();
        run();
      },
    },
  }, name === 'graph' ? 'Graph' : 'Table'));
  tabs.append(...tabButtons);
  const stacked = h('input', {
    type: 'checkbox',
    checked: state.stacked === '1',
    on: {
      change: () => {
        state.stacked = stacked.checked ? '1' : '';
        save(false);
        run();
      },
    },
  });
  const stackedLabel = h('label', { className: 'check' }, stacked, ' stacked');
  const editor = queryEditor({
    lang: 'promql',
    value: state.q,
    getRange: () => range(),
    onRun: (q) => {
      state.q = q;
      save(true);
      run();
    },
  });
  const graphBox = h('div', { className: 'panel result-graph' });
  const tableBox = h('div', { className: 'panel result-table-box' });
  const graph = graphPanel(graphBox, {
    nav,
    height: 320,
    onZoom: (from, to) => {
      state.from = isoTime(from);
      state.to = isoTime(to);
      picker.set(state);
      save(true);
      run();
    },
  });
  root.append(h('section', { className: 'page metrics-page' },
    h('div', { className: 'toolbar' }, picker.el, tabs, stackedLabel),
    editor.el,
    graphBox,
    tableBox));

  function range() {
    return viewRange(state.from, state.to, Date.now() / 1000);
  }

  function save(push) {
    nav.set({ q: state.q, from: state.from, to: state.to, refresh: state.refresh, tab: state.tab === 'graph' ? '' : state.tab, stacked: state.stacked }, { replace: !push });
  }

  function show() {
    for (const b of tabButtons) b.setAttribute('aria-selected', String(b.dataset.tab === state.tab));
    graphBox.hidden = state.tab !== 'graph';
    tableBox.hidden = state.tab !== 'table';
    stackedLabel.hidden = state.tab !== 'graph';
  }

  async function run() {
    stopRefresh();
    stopRefresh = every(state.refresh, run);
    const r = range();
    if (r.error) {
      editor.showError(r.error);
      return;
    }
    if (!state.q) {
      clear(tableBox);
      tableBox.append(message('Enter a PromQL query and press Enter.'));
      graph.chart.setData({ series: [], from: r.start, to: r.end, kind: 'line', stacked: false });
      return;
    }
    if (state.tab === 'graph') {
      const width = graphBox.clientWidth || 1000;
      await graph.run({ query: state.q, lang: 'promql', start: r.start, end: r.end, step: autoStep(r.start, r.end, Math.max(100, width / 2)), stacked: state.stacked === '1' });
    } else {
      clear(tableBox);
      tableBox.append(message('loading…'));
      try {
        const data = await api.promInstant(state.q, r.end);
        clear(tableBox);
        tableBox.append(resultTable(data, { nav, range: r }));
      } catch (e) {
        clear(tableBox);
        tableBox.append(message(e.message, 'error'));
      }
    }
  }

  show();
  run();
  return {
    update(next) {
      state = normalise(next);
      picker.set(state);
      editor.set(state.q);
      stacked.checked = state.stacked === '1';
      show();
      run();
    },
    unmount() {
      stopRefresh();
      graph.destroy();
    },
  };
}

function normalise(params) {
  return {
    ...viewParams(params),
    tab: params.tab === 'table' ? 'table' : 'graph',
    stacked: params.stacked === '1' ? '1' : '',
  };
}
