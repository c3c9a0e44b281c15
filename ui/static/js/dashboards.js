// Dashboards: the list (`#/dashboards`), one dashboard (`#/dashboards?id=…&from=…&var-x=…`) with its
// time range, variables and panels, and the editor (edit, save a copy, new, delete). Pure helpers come
// first (tested under Node), then the views.

import { h, clear, message, table } from './dom.js';
import * as api from './api.js';
import { timePicker, every } from './controls.js';
import { resolveRange, autoStep, isoTime } from './timerange.js';
import { graphPanel, resultTable, streamEntries, logRow } from './panels.js';
import { lineFilters } from './querytext.js';

/** The value of a variable set to "All". */
export const ALL = '.+';
/** Units a panel may declare (as the server accepts them). */
export const UNITS = ['', 'bytes', 'seconds', 'percent', 'percent100'];
/** Panel kinds and query languages. */
export const KINDS = ['graph', 'table', 'logs'];
export const LANGS = ['promql', 'logql'];

/**
 * Whether `id` is a valid dashboard id: 1–64 of a-z, 0-9, `-`, `_`, starting with a letter or digit.
 * @param {string} id
 * @returns {boolean}
 */
export function isValidId(id) {
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(String(id ?? ''));
}

/**
 * Escapes a literal for an RE2 regular expression (`a.b` → `a\.b`).
 * @param {string} value
 * @returns {string}
 */
export function escapeRegex(value) {
  return String(value).replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/**
 * The text that replaces a variable: `.+` for All, else the value regex-escaped and then escaped
 * for the string it stands in (`quote` is `"`, `'`, a backtick, or '' outside a string).
 * @param {string|undefined} value the selection ('' or `.+` = All)
 * @param {string} [quote]
 * @returns {string}
 */
export function encodeSelection(value, quote = '') {
  if (value === undefined || value === null || value === '' || value === ALL) return ALL;
  const re = escapeRegex(value);
  if (quote === '`') return re.replace(/`/g, '\\x60');
  if (!quote) return re;
  return re.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').split(quote).join(`\\${quote}`);
}

/** The variable referenced at `i` (just after a `$`): `{name}` or the longest name that starts there. */
function variableAt(text, i, names) {
  if (text[i] === '{') {
    const close = text.indexOf('}', i);
    const name = close > i ? text.slice(i + 1, close) : '';
    return names.includes(name) ? { name, end: close + 1 } : null;
  }
  const name = names.find((n) => text.startsWith(n, i));
  return name ? { name, end: i + name.length } : null;
}

/**
 * Replaces `$name` / `${name}` in a query by the selections, escaped for where they stand: inside a
 * double-quoted string a single value `a.b` becomes `a\\.b` (so `=~"$x"` matches it literally).
 * @param {string} query
 * @param {Record<string, string>} selections variable name → selected value ('' = All)
 * @returns {string}
 */
export function substituteQuery(query, selections) {
  const text = String(query ?? '');
  const names = Object.keys(selections || {}).sort((a, b) => b.length - a.length);
  let out = '';
  let quote = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote && quote !== '`' && c === '\\') {
      out += c + (text[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (c === '$' && names.length) {
      const ref = variableAt(text, i + 1, names);
      if (ref) {
        out += encodeSelection(selections[ref.name], quote);
        i = ref.end - 1;
        continue;
      }
    }
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
    }
    out += c;
  }
  return out;
}

/**
 * The URL parameter holding a variable's selection.
 * @param {string} name
 * @returns {string}
 */
export function varParam(name) {
  return `var-${name}`;
}

/**
 * The selections of a dashboard's variables from URL parameters ('' = All).
 * @param {Array<{name: string}>} variables
 * @param {Record<string, string>} params
 * @returns {Record<string, string>}
 */
export function selectionsFrom(variables, params) {
  const out = {};
  for (const v of variables || []) {
    const value = params[varParam(v.name)] || '';
    out[v.name] = value === ALL ? '' : value;
  }
  return out;
}

/**
 * The sorted union of label-value lists (non-strings and empty values dropped).
 * @param {...Array<string>} lists
 * @returns {string[]}
 */
export function unionValues(...lists) {
  const set = new Set();
  for (const list of lists) for (const v of Array.isArray(list) ? list : []) if (typeof v === 'string' && v) set.add(v);
  return [...set].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * A dashboard document as the server accepts it: trimmed text, known fields only, empty optional
 * fields left out, lang/kind defaulted.
 * @param {object} doc
 * @returns {{title: string, description?: string, variables?: object[], panels: object[]}}
 */
export function cleanDashboard(doc) {
  const str = (v) => String(v ?? '').trim();
  const out = { title: str(doc.title) };
  if (str(doc.description)) out.description = str(doc.description);
  const variables = (doc.variables || [])
    .map((v) => ({ name: str(v.name), label: str(v.label), ...(str(v.match) ? { match: str(v.match) } : {}) }))
    .filter((v) => v.name || v.label || v.match);
  if (variables.length) out.variables = variables;
  out.panels = (doc.panels || []).map((p) => {
    const panel = {
      title: str(p.title),
      query: str(p.query),
      lang: p.lang === 'logql' ? 'logql' : 'promql',
      kind: KINDS.includes(p.kind) ? p.kind : 'graph',
    };
    if (p.unit) panel.unit = String(p.unit);
    if (p.stacked) panel.stacked = true;
    return panel;
  });
  return out;
}

/**
 * Moves the item at `index` by `delta` places; returns a new array (unchanged copy when out of range).
 * @template T
 * @param {T[]} list
 * @param {number} index
 * @param {number} delta
 * @returns {T[]}
 */
export function moveItem(list, index, delta) {
  const out = [...list];
  const to = index + delta;
  if (index < 0 || index >= out.length || to < 0 || to >= out.length) return out;
  const [item] = out.splice(index, 1);
  out.splice(to, 0, item);
  return out;
}

/**
 * An id for a copy of `id` not in `taken` (`x-copy`, `x-copy-2`, …), at most 64 characters.
 * @param {string} id
 * @param {string[]} taken
 * @returns {string}
 */
export function copyId(id, taken) {
  const used = new Set(taken || []);
  for (let n = 1; ; n += 1) {
    const suffix = n === 1 ? '-copy' : `-copy-${n}`;
    const candidate = `${String(id).slice(0, 64 - suffix.length)}${suffix}`;
    if (!used.has(candidate)) return candidate;
  }
}

/**
 * The step of a graph panel: about 300 points, at least 15 s for PromQL.
 * @param {number} start seconds
 * @param {number} end seconds
 * @param {string} lang
 * @returns {number}
 */
export function panelStep(start, end, lang) {
  return autoStep(start, end, 300, lang === 'logql' ? 1 : 15);
}

/** A new, empty panel. @returns {object} */
export function blankPanel() {
  return { title: '', query: '', lang: 'promql', kind: 'graph' };
}

// ---- views ------------------------------------------------------------------------------------

/**
 * Mounts the dashboards page: the list without `id`, a new dashboard with `new=1`, else one dashboard.
 * @param {HTMLElement} root
 * @param {Record<string, string>} params
 * @param {object} nav
 * @returns {{update: (params: object) => void, unmount: () => void}}
 */
export function mount(root, params, nav) {
  let view = null;
  let key = '';
  const keyOf = (p) => (p.id ? `id:${p.id}` : p.new ? 'new' : 'list');
  const show = (p) => {
    if (view) view.destroy();
    clear(root);
    key = keyOf(p);
    view = p.id || p.new ? dashboardView(root, p, nav) : listView(root, nav);
  };
  show(params);
  return {
    update(p) {
      if (keyOf(p) === key && view.update) view.update(p);
      else show(p);
    },
    unmount() {
      if (view) view.destroy();
      view = null;
    },
  };
}

const button = (label, onClick, props = {}) => h('button', { type: 'button', ...props, on: { click: onClick } }, label);

function listView(root, nav) {
  let alive = true;
  const list = h('div', { className: 'dashboard-list' }, h('p', { className: 'muted' }, 'loading…'));
  root.append(h('section', { className: 'dashboards-page' },
    h('div', { className: 'toolbar' },
      h('h1', {}, 'Dashboards'),
      button('New dashboard', () => nav.go('dashboards', { new: '1' }), { className: 'primary' })),
    list));
  api.dashboards.list().then((items) => {
    if (!alive) return;
    const sorted = [...(items || [])].sort((a, b) => (b.builtin - a.builtin) || String(a.title).localeCompare(String(b.title)));
    list.replaceChildren(sorted.length
      ? table(['Dashboard', 'Id', ''], sorted.map((d) => [
        h('a', { href: nav.href('dashboards', { id: d.id }) }, d.title || d.id),
        h('span', { className: 'mono muted' }, d.id),
        d.builtin ? h('span', { className: 'muted badge' }, 'built-in') : '',
      ]))
      : message('No dashboards yet: create one with "New dashboard".'));
  }).catch((e) => {
    if (alive) list.replaceChildren(message(e.message, 'error'));
  });
  return { destroy: () => { alive = false; } };
}

/** Queries and draws one panel of a kind other than graph: a table or log lines. */
function dataPanel(box, spec, nav) {
  const out = h('div', { className: 'panel-content' });
  const status = h('div', { className: 'panel-status muted' });
  box.append(out, status);
  let controller = null;
  const logLines = (result, query) => {
    const entries = streamEntries(result);
    if (!entries.length) return message('no log lines in this range');
    const filters = lineFilters(query);
    return h('div', { className: 'log-lines', attrs: { role: 'log' } }, entries.map((e) => logRow(e, filters)));
  };
  return {
    async run(query, r) {
      if (controller) controller.abort();
      controller = new AbortController();
      const { signal } = controller;
      status.textContent = 'loading…';
      try {
        let node;
        if (spec.kind === 'logs') {
          const data = await api.lokiRange(query, r.start, r.end, { limit: 50, direction: 'backward' }, signal);
          node = data.resultType === 'streams' ? logLines(data.result, query)
            : message('a logs panel needs a log query (a selector with optional filters)', 'error');
        } else {
          const data = spec.lang === 'logql'
            ? await api.lokiInstant(query, r.end, 100, signal)
            : await api.promInstant(query, r.end, signal);
          node = data.resultType === 'streams' ? logLines(data.result, query)
            : resultTable(data, { unit: spec.unit || '', nav, range: r });
        }
        if (signal.aborted) return;
        out.replaceChildren(node);
      } catch (e) {
        if (signal.aborted) return;
        out.replaceChildren(message(e.message, 'error'));
      }
      status.textContent = '';
    },
    destroy() {
      if (controller) controller.abort();
    },
  };
}

function dashboardView(root, initial, nav) {
  const id = initial.id || '';
  const state = {
    params: { ...initial },
    doc: null, // as loaded (or blank for a new one)
    shown: null, // what the panels show: the doc, or the draft after "Preview"
    builtin: false,
    taken: [],
    editing: null, // {mode: 'edit'|'copy'|'new', draft} while the editor is open
  };
  let alive = true;
  let panels = [];
  let selects = new Map();
  let stopRefresh = () => {};
  let varToken = 0;

  const el = h('section', { className: 'dashboard', data: { dashboardId: id } });
  const header = h('div', { className: 'dashboard-header' });
  const actions = h('div', { className: 'toolbar dashboard-actions' });
  const picker = timePicker(
    { from: state.params.from || 'now-1h', to: state.params.to || 'now', refresh: state.params.refresh || '' },
    (r) => {
      setParams({ from: r.from, to: r.to, refresh: r.refresh }, true);
      restartRefresh();
      loadVariableValues();
      runAll();
    },
  );
  const varsBar = h('div', { className: 'toolbar dashboard-variables' });
  const notice = h('div', { className: 'dashboard-notice' });
  const rangeError = h('div', { className: 'dashboard-range-error' });
  const editorBox = h('div', { className: 'dashboard-editor' });
  const grid = h('div', { className: 'panel-grid' });
  el.append(header, h('div', { className: 'toolbar' }, actions, picker.el), varsBar, notice, rangeError, editorBox, grid);
  root.append(el);

  function setParams(changes, push = false) {
    state.params = { ...state.params, ...changes };
    for (const [k, v] of Object.entries(state.params)) if (v === '' || v === undefined) delete state.params[k];
    nav.set(state.params, { replace: !push });
  }

  function range() {
    return resolveRange(state.params.from || 'now-1h', state.params.to || 'now', Date.now() / 1000);
  }

  function restartRefresh() {
    stopRefresh();
    stopRefresh = every(state.params.refresh || '', runAll);
  }

  function runAll() {
    if (!state.shown) return;
    const r = range();
    if (r.error) {
      rangeError.replaceChildren(message(r.error, 'error'));
      return;
    }
    rangeError.replaceChildren();
    const selections = selectionsFrom(state.shown.variables, state.params);
    state.shown.panels.forEach((spec, i) => {
      const query = substituteQuery(spec.query, selections).trim();
      if (panels[i] && query) panels[i].run(query, r);
    });
  }

  function zoom(from, to) {
    const r = { from: isoTime(from), to: isoTime(to) };
    picker.set(r);
    setParams(r, true);
    runAll();
  }

  function setOptions(select, values, selected) {
    const list = selected && !values.includes(selected) ? unionValues(values, [selected]) : values;
    select.replaceChildren(h('option', { value: ALL }, 'All'), ...list.map((v) => h('option', { value: v }, v)));
    select.value = selected || ALL;
  }

  async function loadVariableValues() {
    const token = ++varToken;
    const r = range();
    if (r.error || !state.shown) return;
    const selections = selectionsFrom(state.shown.variables, state.params);
    await Promise.all((state.shown.variables || []).map(async (v) => {
      const match = substituteQuery(v.match || '', selections);
      const [prom, loki] = await Promise.allSettled([
        api.promLabelValues(v.label, match),
        api.lokiLabelValues(v.label, '', r.start, r.end),
      ]);
      const select = selects.get(v.name);
      if (token !== varToken || !alive || !select) return;
      const values = unionValues(prom.status === 'fulfilled' ? prom.value : [], loki.status === 'fulfilled' ? loki.value : []);
      setOptions(select, values, state.params[varParam(v.name)] || '');
    }));
  }

  function renderVariables() {
    selects = new Map();
    const vars = state.shown.variables || [];
    varsBar.hidden = !vars.length;
    varsBar.replaceChildren(...vars.map((v, i) => {
      const select = h('select', {
        id: `dashboard-var-${i}`,
        on: {
          change: () => {
            setParams({ [varParam(v.name)]: select.value === ALL ? '' : select.value }, true);
            runAll();
          },
        },
      });
      setOptions(select, [], state.params[varParam(v.name)] || '');
      selects.set(v.name, select);
      return h('label', { className: 'dashboard-variable', htmlFor: select.id }, h('span', {}, v.name), select);
    }));
    loadVariableValues();
  }

  function renderPanels() {
    for (const p of panels) p.destroy();
    panels = [];
    clear(grid);
    const specs = state.shown.panels || [];
    if (!specs.length) grid.append(message('This dashboard has no panels yet.'));
    specs.forEach((spec, i) => {
      const body = h('div', { className: 'panel-body' });
      const title = spec.title || `Panel ${i + 1}`;
      grid.append(h('section', {
        className: `panel panel-${spec.kind || 'graph'}`,
        data: { panelIndex: i },
        attrs: { 'aria-label': title },
      }, h('h2', { className: 'panel-title' }, title), body));
      if ((spec.kind || 'graph') === 'graph') {
        const lang = spec.lang || 'promql';
        const graph = graphPanel(body, { nav, height: 220, onZoom: zoom });
        panels.push({
          run: (query, r) => graph.run({
            query, lang, start: r.start, end: r.end, step: panelStep(r.start, r.end, lang), unit: spec.unit || '', stacked: !!spec.stacked,
          }),
          destroy: () => graph.destroy(),
        });
      } else {
        panels.push(dataPanel(body, spec, nav));
      }
    });
  }

  function renderHeader() {
    const d = state.shown;
    document.title = `${d.title || 'Dashboard'} · Loupe`;
    header.replaceChildren(h('h1', {}, d.title || 'Untitled dashboard'),
      d.description ? h('p', { className: 'muted dashboard-description' }, d.description) : '');
  }

  function renderActions() {
    const editing = !!state.editing;
    const list = [h('a', { href: nav.href('dashboards', {}) }, '← All dashboards')];
    if (id && state.builtin) {
      list.push(h('span', { className: 'muted badge' }, 'built-in'),
        button('Save a copy', () => (editing ? cancelEdit() : openEditor('copy')), { attrs: { 'aria-pressed': editing } }));
    } else if (id) {
      list.push(button('Edit', () => (editing ? cancelEdit() : openEditor('edit')), { attrs: { 'aria-pressed': editing } }),
        button('Delete', remove, { className: 'danger' }));
    }
    actions.replaceChildren(...list);
  }

  function show(doc) {
    state.shown = doc;
    renderHeader();
    renderActions();
    renderVariables();
    renderPanels();
    runAll();
    restartRefresh();
  }

  async function load() {
    try {
      const [doc, list] = await Promise.all([
        id ? api.dashboards.get(id) : Promise.resolve({ title: 'New dashboard', panels: [blankPanel()] }),
        api.dashboards.list().catch(() => []),
      ]);
      if (!alive) return;
      state.doc = doc;
      state.taken = (list || []).map((d) => d.id);
      state.builtin = !!(list || []).find((d) => d.id === id && d.builtin);
      show(doc);
      if (!id) openEditor('new');
    } catch (e) {
      if (!alive) return;
      notice.replaceChildren(message(`dashboard ${JSON.stringify(id)}: ${e.message}`, 'error'));
      actions.replaceChildren(h('a', { href: nav.href('dashboards', {}) }, '← All dashboards'));
    }
  }

  // ---- editor ----

  function openEditor(mode) {
    const draft = cleanDashboard(state.doc);
    if (mode === 'copy') draft.title = `${draft.title} (copy)`;
    draft.variables = draft.variables || [];
    state.editing = { mode, draft, newId: mode === 'copy' ? copyId(id, state.taken) : '' };
    notice.replaceChildren();
    renderActions();
    renderEditor('.editor-title');
  }

  function cancelEdit() {
    if (!id) {
      nav.go('dashboards', {});
      return;
    }
    state.editing = null;
    editorBox.replaceChildren();
    if (state.shown !== state.doc) show(state.doc);
    else renderActions();
  }

  function renderEditor(focus) {
    const ed = state.editing;
    const d = ed.draft;
    const rerender = (sel) => renderEditor(sel);
    const text = (value, onInput, props = {}) => h('input', {
      type: 'text', value: value ?? '', ...props, on: { input: (e) => onInput(e.target.value) },
    });
    const choice = (values, value, onChange, labels = {}) => {
      const s = h('select', { on: { change: (e) => onChange(e.target.value) } },
        values.map((v) => h('option', { value: v }, labels[v] ?? v)));
      s.value = value || values[0];
      return s;
    };
    const field = (label, control, cls = '') => h('label', { className: `field ${cls}` }, h('span', { className: 'field-label' }, label), control);
    const errorBox = h('div', { className: 'editor-error', attrs: { 'aria-live': 'assertive' } });
    const save = h('button', { type: 'submit', className: 'primary' }, ed.mode === 'edit' ? 'Save' : 'Save dashboard');

    const idField = ed.mode === 'edit' ? null : field('Id',
      text(ed.newId, (v) => { ed.newId = v; }, {
        className: 'editor-id mono', required: true, maxLength: 64, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}',
        attrs: { 'aria-describedby': 'dashboard-id-hint' },
      }));
    const idHint = ed.mode === 'edit' ? null : h('span', { id: 'dashboard-id-hint', className: 'muted' },
      '1–64 characters: a-z, 0-9, - and _, starting with a letter or digit.');

    const variables = h('fieldset', { className: 'editor-variables' }, h('legend', {}, 'Variables'),
      h('p', { className: 'muted' }, 'Use $name in queries, e.g. {container=~"$name"}; values come from the label in metrics and logs.'),
      d.variables.map((v, i) => h('div', { className: 'toolbar editor-variable', data: { index: i } },
        field('Name', text(v.name, (x) => { v.name = x; }, { className: 'mono', size: 12 })),
        field('Label', text(v.label, (x) => { v.label = x; }, { className: 'mono', size: 14 })),
        field('Match (optional)', text(v.match, (x) => { v.match = x; }, { className: 'mono', size: 30, placeholder: '{job="node"}' })),
        button('Remove', () => { d.variables.splice(i, 1); rerender('.editor-add-variable'); }))),
      button('Add variable', () => {
        d.variables.push({ name: '', label: '', match: '' });
        rerender(`.editor-variable[data-index="${d.variables.length - 1}"] input`);
      }, { className: 'editor-add-variable' }));

    const panelEditors = d.panels.map((p, i) => {
      const lang = choice(LANGS, p.lang, (v) => { p.lang = v; });
      const kind = choice(KINDS, p.kind, (v) => {
        p.kind = v;
        if (v === 'logs') {
          p.lang = 'logql';
          lang.value = 'logql';
        }
      });
      return h('fieldset', { className: 'panel editor-panel', data: { index: i } },
        h('legend', {}, `Panel ${i + 1}`),
        field('Title', text(p.title, (v) => { p.title = v; }, { className: 'editor-panel-title' })),
        field('Query', h('textarea', {
          className: 'mono', rows: 3, spellcheck: false, value: p.query || '', on: { input: (e) => { p.query = e.target.value; } },
        }), 'field-wide'),
        h('div', { className: 'toolbar' },
          field('Language', lang),
          field('Kind', kind),
          field('Unit', choice(UNITS, p.unit || '', (v) => { p.unit = v; }, { '': 'auto' })),
          h('label', { className: 'field' }, h('input', {
            type: 'checkbox', checked: !!p.stacked, on: { change: (e) => { p.stacked = e.target.checked; } },
          }), ' stacked'),
          button('Move up', () => { d.panels = moveItem(d.panels, i, -1); rerender(`.editor-panel[data-index="${i - 1}"] .editor-move-up`); },
            { disabled: i === 0, className: 'editor-move-up' }),
          button('Move down', () => { d.panels = moveItem(d.panels, i, 1); rerender(`.editor-panel[data-index="${i + 1}"] .editor-move-down`); },
            { disabled: i === d.panels.length - 1, className: 'editor-move-down' }),
          button('Remove', () => {
            d.panels.splice(i, 1);
            rerender(d.panels.length ? `.editor-panel[data-index="${Math.min(i, d.panels.length - 1)}"] .editor-panel-title` : '.editor-add-panel');
          }, { className: 'danger' })));
    });

    const form = h('form', {
      className: 'panel dashboard-form',
      attrs: { 'aria-label': 'Edit dashboard' },
      on: { submit: (e) => { e.preventDefault(); saveDraft(errorBox, save); } },
    },
    h('h2', {}, ed.mode === 'edit' ? 'Edit dashboard' : ed.mode === 'copy' ? 'Save a copy' : 'New dashboard'),
    idField, idHint,
    field('Title', text(d.title, (v) => { d.title = v; }, { className: 'editor-title', required: true }), 'field-wide'),
    field('Description', h('textarea', { rows: 2, value: d.description || '', on: { input: (e) => { d.description = e.target.value; } } }), 'field-wide'),
    variables,
    h('div', { className: 'editor-panels' }, panelEditors),
    button('Add panel', () => {
      d.panels.push(blankPanel());
      rerender(`.editor-panel[data-index="${d.panels.length - 1}"] .editor-panel-title`);
    }, { className: 'editor-add-panel' }),
    errorBox,
    h('div', { className: 'toolbar editor-actions' },
      save,
      button('Preview', () => show(cleanDashboard(d)), { title: 'Show the panels as edited, without saving' }),
      button('Cancel', cancelEdit)));
    editorBox.replaceChildren(form);
    const target = focus ? form.querySelector(focus) : null;
    if (target) target.focus();
  }

  async function saveDraft(errorBox, saveButton) {
    const ed = state.editing;
    const doc = cleanDashboard(ed.draft);
    const target = ed.mode === 'edit' ? id : ed.newId.trim();
    errorBox.replaceChildren();
    const fail = (text) => errorBox.replaceChildren(message(text, 'error'));
    if (!isValidId(target)) {
      fail(`invalid id ${JSON.stringify(target)}: use 1–64 characters of a-z, 0-9, - and _, starting with a letter or digit`);
      const input = editorBox.querySelector('.editor-id');
      if (input) input.focus();
      return;
    }
    if (!doc.title) {
      fail('the title is empty');
      return;
    }
    saveButton.disabled = true;
    try {
      if (ed.mode !== 'edit') {
        const existing = (await api.dashboards.list().catch(() => [])).find((x) => x.id === target);
        if (existing && !existing.builtin && !confirm(`A dashboard with id "${target}" exists ("${existing.title}"). Replace it?`)) return;
      }
      await api.dashboards.save(target, doc);
    } catch (e) {
      fail(e.message);
      return;
    } finally {
      saveButton.disabled = false;
    }
    if (!alive) return;
    if (ed.mode !== 'edit') {
      const keep = Object.fromEntries(Object.entries(state.params).filter(([k]) => k !== 'id' && k !== 'new'));
      nav.go('dashboards', { ...keep, id: target });
      return;
    }
    state.editing = null;
    editorBox.replaceChildren();
    try {
      state.doc = await api.dashboards.get(id);
    } catch {
      state.doc = doc;
    }
    if (!alive) return;
    show(state.doc);
    notice.replaceChildren(message('Dashboard saved.'));
  }

  async function remove() {
    if (!confirm(`Delete the dashboard "${state.doc.title}"? This cannot be undone.`)) return;
    try {
      await api.dashboards.remove(id);
      nav.go('dashboards', {});
    } catch (e) {
      notice.replaceChildren(message(e.message, 'error'));
    }
  }

  load();
  return {
    update(p) {
      state.params = { ...p };
      picker.set({ from: p.from || 'now-1h', to: p.to || 'now', refresh: p.refresh || '' });
      if (!state.shown) return;
      for (const [name, select] of selects) {
        const value = p[varParam(name)] || '';
        if (value && ![...select.options].some((o) => o.value === value)) select.append(h('option', { value }, value));
        select.value = value || ALL;
      }
      restartRefresh();
      runAll();
    },
    destroy() {
      alive = false;
      stopRefresh();
      for (const p of panels) p.destroy();
      panels = [];
    },
  };
}
