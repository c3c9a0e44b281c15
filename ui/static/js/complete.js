// Query-box completion dropdown for PromQL and LogQL (DOM part; the logic is in completecore.js).

import { completionContext, rankCandidates, applyCompletion, staticCandidates } from './completecore.js';

const DEBOUNCE_MS = 150;
const MAX_ITEMS = 50;
let nextId = 0;
let measureCtx = null;

/** Width in px of `text` drawn in `font` (canvas measurement; falls back to 0.6em per char). */
function textWidth(text, font, fontSize) {
  if (!text) return 0;
  if (!measureCtx) {
    try { measureCtx = document.createElement('canvas').getContext('2d'); } catch { measureCtx = null; }
  }
  if (!measureCtx) return text.length * fontSize * 0.6;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

/** Viewport coordinates {left, top, lineHeight} of the bottom-left of the caret line at `index`
 *  (approximate: wrapping is estimated from measured line widths). */
function caretPoint(input, index) {
  const style = getComputedStyle(input);
  const rect = input.getBoundingClientRect();
  const px = (v) => parseFloat(v) || 0;
  const fontSize = px(style.fontSize) || 13;
  const lineHeight = px(style.lineHeight) || fontSize * 1.2;
  const font = style.font || `${fontSize}px ${style.fontFamily}`;
  const padLeft = px(style.borderLeftWidth) + px(style.paddingLeft);
  const padTop = px(style.borderTopWidth) + px(style.paddingTop);
  const innerWidth = Math.max(1, input.clientWidth - px(style.paddingLeft) - px(style.paddingRight));
  const before = input.value.slice(0, index);
  let rows = 0;
  let x;
  if (input.tagName === 'TEXTAREA') {
    const lines = before.split('\n');
    const wraps = style.whiteSpace !== 'pre' && style.whiteSpace !== 'nowrap';
    for (let i = 0; i < lines.length - 1; i++) {
      rows += wraps ? Math.max(1, Math.ceil(textWidth(lines[i], font, fontSize) / innerWidth)) : 1;
    }
    const w = textWidth(lines[lines.length - 1], font, fontSize);
    rows += wraps ? Math.floor(w / innerWidth) : 0;
    x = wraps ? w % innerWidth : w;
  } else {
    x = textWidth(before, font, fontSize);
  }
  const left = rect.left + padLeft + x - input.scrollLeft;
  const top = rect.top + padTop + (rows + 1) * lineHeight - input.scrollTop;
  return {
    left: Math.max(rect.left, Math.min(left, rect.right - 4)),
    top: Math.max(rect.top + padTop + lineHeight, Math.min(top, rect.bottom)),
    lineHeight,
  };
}

/** Appends `text` to `parent`, wrapping the first case-insensitive occurrence of `prefix` in a
 *  span.completion-match. */
function appendHighlighted(parent, text, prefix) {
  const at = prefix ? text.toLowerCase().indexOf(prefix.toLowerCase()) : -1;
  if (at < 0) {
    parent.append(text);
    return;
  }
  const mark = document.createElement('span');
  mark.className = 'completion-match';
  mark.textContent = text.slice(at, at + prefix.length);
  parent.append(text.slice(0, at), mark, text.slice(at + prefix.length));
}

/**
 * Attaches a completion dropdown to a <textarea> or <input>. `provider(ctx)` (may be async) returns
 * [{text, detail?}] candidates for a context from completionContext; they are merged with the
 * built-in function/keyword/duration names and ranked. Opens while typing (debounced ~150 ms) and on
 * Ctrl+Space; ArrowUp/ArrowDown move, Enter/Tab accept, Escape closes; a click accepts; closes on
 * blur. Enter passes through when the list is closed (and Ctrl/Meta/Shift+Enter always).
 * Returns {close(), destroy()}.
 */
export function attachCompletion(input, lang, provider) {
  const doc = input.ownerDocument || document;
  const list = doc.createElement('ul');
  list.className = 'completion-list';
  list.id = `completion-list-${++nextId}`;
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Completions');
  list.hidden = true;
  doc.body.append(list);

  const hadAutocomplete = input.getAttribute('autocomplete');
  input.setAttribute('autocomplete', 'off');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', list.id);
  input.setAttribute('aria-expanded', 'false');

  let items = [];
  let selected = -1;
  let ctx = null;
  let isOpen = false;
  let timer = 0;
  let seq = 0;
  let applying = false;

  const cancelPending = () => {
    clearTimeout(timer);
    timer = 0;
    seq++;
  };

  const close = () => {
    cancelPending();
    isOpen = false;
    items = [];
    selected = -1;
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  };

  const position = () => {
    if (!isOpen || !ctx) return;
    const p = caretPoint(input, ctx.start);
    list.style.left = '0px';
    list.style.top = '0px';
    const w = list.offsetWidth;
    const h = list.offsetHeight;
    const vw = doc.documentElement.clientWidth || window.innerWidth;
    const vh = doc.documentElement.clientHeight || window.innerHeight;
    const left = Math.max(4, Math.min(p.left, vw - w - 4));
    let top = p.top + 2;
    if (top + h > vh - 4 && p.top - p.lineHeight - h - 2 >= 4) top = p.top - p.lineHeight - h - 2;
    list.style.left = `${Math.round(left)}px`;
    list.style.top = `${Math.round(top)}px`;
  };

  const select = (i, scroll = true) => {
    if (!items.length) return;
    const n = items.length;
    selected = ((i % n) + n) % n;
    list.querySelectorAll('.completion-item').forEach((li, j) => {
      li.classList.toggle('selected', j === selected);
      li.setAttribute('aria-selected', String(j === selected));
      if (j === selected) {
        input.setAttribute('aria-activedescendant', li.id);
        if (scroll) li.scrollIntoView({ block: 'nearest' });
      }
    });
  };

  const render = () => {
    const rows = items.map((item, i) => {
      const li = doc.createElement('li');
      li.className = 'completion-item';
      li.id = `${list.id}-opt-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.dataset.index = String(i);
      if (item.kind) li.dataset.kind = item.kind;
      const label = doc.createElement('span');
      label.className = 'completion-text';
      appendHighlighted(label, item.text, ctx.prefix);
      li.append(label);
      if (item.detail) {
        const detail = doc.createElement('span');
        detail.className = 'completion-detail';
        detail.textContent = String(item.detail);
        li.append(detail);
      }
      return li;
    });
    list.replaceChildren(...rows);
    list.hidden = false;
    isOpen = true;
    input.setAttribute('aria-expanded', 'true');
    select(0);
    position();
  };

  /** Recomputes the context and candidates; `force` (Ctrl+Space) also opens on empty prefixes. */
  const update = async (force) => {
    cancelPending();
    const mine = seq;
    const cursor = input.selectionStart ?? input.value.length;
    if (input.selectionEnd !== null && input.selectionEnd !== cursor) {
      close();
      return;
    }
    const c = completionContext(input.value, cursor, lang);
    const auto = c.kind === 'labelName' || c.kind === 'labelValue' || c.kind === 'duration'
      || (c.kind === 'metric' && c.prefix !== '');
    if (c.kind === 'none' || (!force && !auto)) {
      close();
      return;
    }
    let provided = [];
    try {
      provided = typeof provider === 'function' ? await provider(c) : [];
    } catch {
      provided = [];
    }
    if (mine !== seq || doc.activeElement !== input) return;
    const ranked = rankCandidates([...(Array.isArray(provided) ? provided : []), ...staticCandidates(c)],
      c.prefix, MAX_ITEMS);
    if (!ranked.length || (!force && ranked.length === 1 && ranked[0].text === c.prefix)) {
      close();
      return;
    }
    ctx = c;
    items = ranked;
    render();
  };

  const schedule = (force) => {
    cancelPending();
    const mine = seq;
    timer = setTimeout(() => {
      if (mine === seq) update(force);
    }, DEBOUNCE_MS);
  };

  const accept = (i) => {
    const item = items[i];
    if (!item || !ctx) return;
    const before = input.value;
    const r = applyCompletion(before, ctx, item);
    const tail = before.length - ctx.end;
    const segment = r.text.slice(ctx.start, r.text.length - tail);
    close();
    applying = true;
    try {
      input.focus();
      input.setSelectionRange(ctx.start, ctx.end);
      let ok = false;
      try { ok = doc.execCommand('insertText', false, segment); } catch { ok = false; }
      if (!ok || input.value !== r.text) {
        input.value = r.text;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
      input.setSelectionRange(r.cursor, r.cursor);
    } finally {
      applying = false;
    }
    if (/(\(|=")$/.test(segment)) update(true);
  };

  const onInput = (e) => {
    if (applying) return;
    const deleting = typeof e.inputType === 'string' && e.inputType.startsWith('delete');
    if (deleting && !isOpen) return;
    schedule(false);
  };

  const onKeyDown = (e) => {
    if (e.isComposing) return;
    if (e.ctrlKey && !e.altKey && !e.metaKey && (e.key === ' ' || e.code === 'Space')) {
      e.preventDefault();
      update(true);
      return;
    }
    if (!isOpen) {
      if (e.key === 'Enter') cancelPending();
      return;
    }
    const handled = () => {
      e.preventDefault();
      e.stopImmediatePropagation();
    };
    const plain = !e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey;
    if (e.key === 'ArrowDown' && plain) {
      handled();
      select(selected + 1);
    } else if (e.key === 'ArrowUp' && plain) {
      handled();
      select(selected - 1);
    } else if (e.key === 'PageDown' && plain) {
      handled();
      select(Math.min(items.length - 1, selected + 8));
    } else if (e.key === 'PageUp' && plain) {
      handled();
      select(Math.max(0, selected - 8));
    } else if ((e.key === 'Enter' || e.key === 'Tab') && plain && selected >= 0) {
      handled();
      accept(selected);
    } else if (e.key === 'Escape') {
      handled();
      close();
    } else if (e.key === 'Enter') {
      close();
    }
  };

  const onKeyUp = (e) => {
    if (isOpen && ['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) schedule(false);
  };
  const onClick = () => {
    if (isOpen) update(false);
  };
  const onBlur = () => close();
  const onScroll = (e) => {
    if (!e || e.target !== list) position();
  };

  const itemAt = (target) => (target instanceof Element ? target.closest('.completion-item') : null);
  const onListMouseDown = (e) => {
    e.preventDefault();
    const li = itemAt(e.target);
    if (li) accept(Number(li.dataset.index));
  };
  const onListMouseMove = (e) => {
    const li = itemAt(e.target);
    if (li && Number(li.dataset.index) !== selected) select(Number(li.dataset.index), false);
  };

  input.addEventListener('input', onInput);
  input.addEventListener('keydown', onKeyDown, { capture: true });
  input.addEventListener('keyup', onKeyUp);
  input.addEventListener('click', onClick);
  input.addEventListener('blur', onBlur);
  list.addEventListener('mousedown', onListMouseDown);
  list.addEventListener('mousemove', onListMouseMove);
  window.addEventListener('resize', onScroll);
  window.addEventListener('scroll', onScroll, { capture: true, passive: true });

  const destroy = () => {
    close();
    input.removeEventListener('input', onInput);
    input.removeEventListener('keydown', onKeyDown, { capture: true });
    input.removeEventListener('keyup', onKeyUp);
    input.removeEventListener('click', onClick);
    input.removeEventListener('blur', onBlur);
    window.removeEventListener('resize', onScroll);
    window.removeEventListener('scroll', onScroll, { capture: true });
    list.remove();
    for (const a of ['aria-autocomplete', 'aria-controls', 'aria-expanded', 'aria-activedescendant']) {
      input.removeAttribute(a);
    }
    if (hadAutocomplete === null) input.removeAttribute('autocomplete');
    else input.setAttribute('autocomplete', hadAutocomplete);
  };

  return { close, destroy };
}
