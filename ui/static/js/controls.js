// Controls shared by the explorers and dashboards: the time-range picker with its refresh
// interval, and the query editor (completion from the label APIs, inline parse errors).

import { h } from './dom.js';
import { attachCompletion } from './complete.js';
import {
  PRESETS, REFRESH, parseDuration, resolveRange,
} from './timerange.js';
import * as api from './api.js';

/**
 * The time-range picker: a preset menu, `from` / `to` fields (relative like `now-1h` or ISO
 * date-times) and a refresh interval. `onChange({from, to, refresh})` fires on every change.
 * @param {{from?: string, to?: string, refresh?: string}} initial
 * @param {(range: {from: string, to: string, refresh: string}) => void} onChange
 * @returns {{el: HTMLElement, get: () => {from: string, to: string, refresh: string}, set: (r: object) => void}}
 */
export function timePicker(initial, onChange) {
  const state = { from: initial.from || 'now-1h', to: initial.to || 'now', refresh: initial.refresh || '' };
  const preset = h('select', { className: 'range-preset', attrs: { 'aria-label': 'Time range' } },
    PRESETS.map(([value, label]) => h('option', { value }, label)),
    h('option', { value: 'custom' }, 'Custom range'));
  const from = h('input', { type: 'text', className: 'range-from', size: 20, attrs: { 'aria-label': 'From' } });
  const to = h('input', { type: 'text', className: 'range-to', size: 20, attrs: { 'aria-label': 'To' } });
  const refresh = h('select', { className: 'range-refresh', attrs: { 'aria-label': 'Refresh interval' } },
    REFRESH.map((r) => h('option', { value: r }, r ? `every ${r}` : 'no refresh')));
  const error = h('span', { className: 'range-error', attrs: { role: 'alert' } });

  const show = () => {
    preset.value = state.to === 'now' && PRESETS.some(([f]) => f === state.from) ? state.from : 'custom';
    from.value = state.from;
    to.value = state.to;
    refresh.value = REFRESH.includes(state.refresh) ? state.refresh : '';
    error.textContent = '';
  };
  const changed = () => onChange({ ...state });
  preset.addEventListener('change', () => {
    if (preset.value === 'custom') {
      from.focus();
      return;
    }
    state.from = preset.value;
    state.to = 'now';
    show();
    changed();
  });
  const typed = () => {
    const r = resolveRange(from.value.trim(), to.value.trim(), Date.now() / 1000);
    if (r.error) {
      error.textContent = r.error;
      return;
    }
    state.from = from.value.trim();
    state.to = to.value.trim();
    show();
    changed();
  };
  for (const input of [from, to]) {
    input.addEventListener('change', typed);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') typed();
    });
  }
  refresh.addEventListener('change', () => {
    state.refresh = refresh.value;
    changed();
  });
  show();
  const el = h('div', { className: 'time-picker' }, preset, from, h('span', { className: 'muted' }, 'to'), to, refresh, error);
  return {
    el,
    get: () => ({ ...state }),
    set(r) {
      Object.assign(state, r);
      show();
    },
  };
}

/**
 * Calls `fn` every `interval` (a duration like `30s`; '' stops it). Returns a stop function.
 * @param {string} interval
 * @param {() => void} fn
 * @returns {() => void}
 */
export function every(interval, fn) {
  const sec = parseDuration(interval);
  if (!interval || !(sec > 0)) return () => {};
  const id = setInterval(() => {
    if (document.visibilityState !== 'hidden') fn();
  }, Math.max(1, sec) * 1000);
  return () => clearInterval(id);
}

/** Completion candidates from the label APIs, cached for 30 s per request. */
function makeProvider(lang, getRange) {
  const cache = new Map();
  const cached = (key, load) => {
    const hit = cache.get(key);
    if (hit && hit.at > Date.now() - 30000) return hit.value;
    const value = load().catch(() => []);
    cache.set(key, { at: Date.now(), value });
    return value;
  };
  const items = (values, detail) => (values || []).map((text) => ({ text, detail }));
  return async (ctx) => {
    const { start, end } = getRange();
    const selector = ctx.matchers || '';
    if (lang === 'promql') {
      const match = ctx.metric ? `${ctx.metric}${selector || '{}'}`.replace(/\{\}$/, '') : selector;
      if (ctx.kind === 'metric') {
        return items(await cached('names', () => api.promLabelValues('__name__', '', start, end)), 'metric');
      }
      if (ctx.kind === 'labelName') {
        return items(await cached(`ln:${match}`, () => api.promLabels(match, start, end)), 'label');
      }
      if (ctx.kind === 'labelValue' && ctx.labelName) {
        return items(await cached(`lv:${ctx.labelName}:${match}`,
          () => api.promLabelValues(ctx.labelName, match, start, end)), 'value');
      }
      return [];
    }
    if (ctx.kind === 'labelName') {
      return items(await cached(`ln:${selector}`, () => api.lokiLabels(selector, start, end)), 'label');
    }
    if (ctx.kind === 'labelValue' && ctx.labelName) {
      return items(await cached(`lv:${ctx.labelName}:${selector}`,
        () => api.lokiLabelValues(ctx.labelName, selector, start, end)), 'value');
    }
    return [];
  };
}

/**
 * The query editor: a textarea with completion and an inline parse error under it (checked with
 * the server's `format_query` while typing). Enter runs the query (Shift+Enter adds a line).
 * @param {{lang: 'promql'|'logql', value: string, onRun: (q: string) => void, getRange: () => {start: number, end: number}, placeholder?: string}} opts
 * @returns {{el: HTMLElement, input: HTMLTextAreaElement, value: () => string, set: (q: string) => void, showError: (m: string) => void}}
 */
export function queryEditor(opts) {
  const input = h('textarea', {
    className: 'query-input',
    rows: 1,
    spellcheck: false,
    value: opts.value || '',
    placeholder: opts.placeholder || (opts.lang === 'promql' ? 'PromQL, e.g. rate(http_requests_total[5m])' : 'LogQL, e.g. {container="web"} |= "error"'),
    attrs: { 'aria-label': opts.lang === 'promql' ? 'PromQL query' : 'LogQL query' },
  });
  const error = h('div', { className: 'query-error', attrs: { role: 'alert', 'aria-live': 'polite' } });
  const run = h('button', { type: 'button', className: 'primary run-query', on: { click: () => opts.onRun(input.value.trim()) } }, 'Run');
  const fit = () => {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 240)}px`;
  };
  const completion = attachCompletion(input, opts.lang, makeProvider(opts.lang, opts.getRange));
  let timer = 0;
  let controller = null;
  const validate = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      if (controller) controller.abort();
      if (!q) {
        error.textContent = '';
        return;
      }
      controller = new AbortController();
      try {
        await (opts.lang === 'promql' ? api.promFormat(q, controller.signal) : api.lokiFormat(q, controller.signal));
        error.textContent = '';
      } catch (e) {
        if (e.name !== 'AbortError' && e.status !== 0) error.textContent = e.message;
      }
    }, 400);
  };
  input.addEventListener('input', () => {
    fit();
    validate();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      completion.close();
      opts.onRun(input.value.trim());
    }
  });
  const el = h('div', { className: 'query-editor' }, h('div', { className: 'query-row' }, input, run), error);
  requestAnimationFrame(fit);
  return {
    el,
    input,
    value: () => input.value.trim(),
    set(q) {
      input.value = q;
      fit();
    },
    showError(m) {
      error.textContent = m;
    },
  };
}
