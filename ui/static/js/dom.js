// Small DOM helpers shared by the pages. Text always goes in through textContent, never as HTML:
// label values and log lines are untrusted.

/**
 * Creates an element. `attrs` sets properties (className, href, type, value, title, …), `dataset`
 * entries (`data: {x: 1}`), ARIA/other attributes (`attrs: {'aria-label': …}`) and listeners
 * (`on: {click: fn}`); children are nodes or strings (added as text).
 * @param {string} tag
 * @param {object} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'on') {
      for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    } else if (key === 'data') {
      for (const [k, v] of Object.entries(value)) node.dataset[k] = String(v);
    } else if (key === 'attrs') {
      for (const [k, v] of Object.entries(value)) node.setAttribute(k, String(v));
    } else {
      node[key] = value;
    }
  }
  append(node, ...children);
  return node;
}

/**
 * Appends children (nodes, or strings as text nodes; falsy values skipped).
 * @param {Node} node
 * @param {...(Node|string|null|undefined|false)} children
 */
export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/**
 * Removes every child of `node`.
 * @param {Node} node
 */
export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

/**
 * A message box (class `message`, plus `error` when `kind` is 'error').
 * @param {string} text
 * @param {'info'|'error'} [kind]
 * @returns {HTMLElement}
 */
export function message(text, kind = 'info') {
  return h('div', { className: `message ${kind}`, attrs: { role: kind === 'error' ? 'alert' : 'status' } }, text);
}

/**
 * Formats a count with thin grouping (12,345).
 * @param {number} n
 * @returns {string}
 */
export function count(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/**
 * Formats bytes with binary units.
 * @param {number} n
 * @returns {string}
 */
export function bytes(n) {
  if (!Number.isFinite(n)) return String(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/**
 * A table from column headings and rows of cells (nodes or strings).
 * @param {string[]} headings
 * @param {Array<Array<Node|string>>} rows
 * @param {string} [className]
 * @returns {HTMLTableElement}
 */
export function table(headings, rows, className = 'grid') {
  return h('table', { className },
    h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}
