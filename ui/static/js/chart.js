// Canvas time-series chart: lines, stacked areas and (stacked) bars, with a
// time axis, a value axis, a hover tooltip, drag-to-zoom and a clickable
// legend. The maths (ticks, formatting, stacking, lookups) lives in
// chartmath.js; this file only does DOM work and drawing.
//
// Structure built inside the container:
//   div.chart
//     div.chart-plot            (position: relative; holds the overlays)
//       canvas.chart-canvas
//       div.chart-cursor        (vertical hover line)
//       div.chart-selection     (drag-to-zoom band)
//       div.chart-tooltip
//     ul.chart-legend > li.chart-legend-row …

import {
  unitTicks, timeTicks, formatTime, formatValue, stackSeries, valueRange,
  nearestIndex, segments, seriesColor, seriesName,
} from './chartmath.js';

/** Most series drawn (and listed in the legend); the rest are counted only. */
const MAX_SERIES = 500;
/** Most rows in the hover tooltip. */
const MAX_TOOLTIP_ROWS = 20;
/** Drags shorter than this (CSS px) are clicks, not zooms. */
const MIN_DRAG_PX = 5;
/** Plot padding in CSS px; the left side is sized to the y labels. */
const PAD_TOP = 10;
const PAD_RIGHT = 12;
const PAD_BOTTOM = 24;

/** Creates an element with a class and optional text (never parsed as HTML). */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A CSS custom property of `node`, or the fallback when unset. */
function cssVar(node, name, fallback) {
  const v = getComputedStyle(node).getPropertyValue(name).trim();
  return v || fallback;
}

/** Smallest positive gap between consecutive timestamps of any series (0 if none). */
function minSpacing(series) {
  let best = Infinity;
  for (const s of series) {
    for (let i = 1; i < s.points.length; i++) {
      const d = s.points[i][0] - s.points[i - 1][0];
      if (d > 0 && d < best) best = d;
    }
  }
  return Number.isFinite(best) ? best : 0;
}

/** Canvas chart of time series. See the class methods for the API. */
export class Chart {
  /**
   * Builds the chart inside `container` (a canvas, a legend list below it and
   * a hover tooltip).
   * @param {HTMLElement} container element the chart fills
   * @param {{height?: number, onZoom?: (fromSec: number, toSec: number) => void,
   *   legendExtra?: (series: object) => (HTMLElement|null), unit?: string,
   *   utc?: boolean}} [opts] height in CSS px (260); onZoom is called after a
   *   horizontal drag; legendExtra may return an element appended to a legend
   *   row; unit is the default value unit (see formatValue); utc labels times in
   *   UTC instead of local time
   */
  constructor(container, opts = {}) {
    this.container = container;
    this.opts = { height: 260, ...opts };
    this.tz = this.opts.utc ? 0 : undefined;
    this.data = { series: [] };
    this.series = []; // normalised, capped: {name, color, points, source}
    this.total = 0; // number of series in the data before the cap
    this.hidden = new Set(); // names of series toggled off in the legend
    this.layout = null; // geometry of the last draw, for hover and drag
    this.drag = null; // {start, end} in CSS px while dragging
    this.lastWidth = -1;

    this.root = el('div', 'chart');
    this.plot = el('div', 'chart-plot');
    this.canvas = el('canvas', 'chart-canvas');
    this.canvas.setAttribute('role', 'img');
    this.cursor = el('div', 'chart-cursor');
    this.selection = el('div', 'chart-selection');
    this.tooltip = el('div', 'chart-tooltip');
    this.tooltip.setAttribute('role', 'tooltip');
    for (const node of [this.cursor, this.selection, this.tooltip]) node.hidden = true;
    this.legend = el('ul', 'chart-legend');
    this.legend.setAttribute('aria-label', 'Series');
    this.plot.append(this.canvas, this.cursor, this.selection, this.tooltip);
    this.root.append(this.plot, this.legend);
    container.append(this.root);

    // Handlers kept as fields so destroy() can remove them.
    this.onPointerDown = this.onPointerDown.bind(this);
    this.onPointerMove = this.onPointerMove.bind(this);
    this.onPointerUp = this.onPointerUp.bind(this);
    this.onPointerLeave = this.onPointerLeave.bind(this);
    this.onDragKey = this.onDragKey.bind(this);
    this.canvas.addEventListener('pointerdown', this.onPointerDown);
    this.canvas.addEventListener('pointermove', this.onPointerMove);
    this.canvas.addEventListener('pointerup', this.onPointerUp);
    this.canvas.addEventListener('pointercancel', () => this.endDrag(false));
    this.canvas.addEventListener('pointerleave', this.onPointerLeave);
    this.legend.addEventListener('click', (e) => this.onLegendClick(e));
    this.legend.addEventListener('keydown', (e) => this.onLegendKey(e));

    // Redraw when the width changes (height is fixed by opts.height).
    this.resizeObserver = new ResizeObserver(() => {
      if (this.plot.clientWidth !== this.lastWidth) this.redraw();
    });
    this.resizeObserver.observe(this.plot);
    this.draw();
  }

  /**
   * Replaces the data and redraws. Series visibility toggled in the legend is
   * kept for series whose names persist.
   * @param {{series: {name?: string, labels?: object, points: [number, number][],
   *   color?: string}[], from: number, to: number, step?: number,
   *   kind?: 'line'|'bars', stacked?: boolean, unit?: string}} data
   *   times in seconds; points sorted by time
   */
  setData(data) {
    this.data = data || { series: [] };
    const all = Array.isArray(this.data.series) ? this.data.series : [];
    this.total = all.length;
    this.series = all.slice(0, MAX_SERIES).map((s, i) => ({
      name: s.name || seriesName(s.labels),
      color: s.color || seriesColor(i),
      points: Array.isArray(s.points) ? s.points : [],
      source: s,
    }));
    const names = new Set(this.series.map((s) => s.name));
    for (const name of [...this.hidden]) if (!names.has(name)) this.hidden.delete(name);
    this.hideHover();
    this.buildLegend();
    this.draw();
  }

  /** Redraws with the current data (after a theme switch or a resize). */
  redraw() {
    this.draw();
  }

  /** Removes the chart from the page and stops observing the container. */
  destroy() {
    this.resizeObserver.disconnect();
    document.removeEventListener('keydown', this.onDragKey);
    this.root.remove();
    this.layout = null;
  }

  // ---------------------------------------------------------------- drawing

  /** Draws everything and records the geometry for hover and drag. */
  draw() {
    const width = this.plot.clientWidth;
    const height = this.opts.height;
    this.lastWidth = width;
    const dpr = window.devicePixelRatio || 1;
    const canvas = this.canvas;
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const colors = {
      fg: cssVar(this.root, '--fg', '#222'),
      muted: cssVar(this.root, '--muted', '#777'),
      grid: cssVar(this.root, '--grid', 'rgba(128,128,128,0.2)'),
      border: cssVar(this.root, '--border', '#999'),
      font: `11px ${cssVar(this.root, '--font-mono', 'monospace')}`,
    };
    ctx.font = colors.font;

    const d = this.data;
    const visible = this.series.filter((s) => !this.hidden.has(s.name));
    const kind = d.kind === 'bars' ? 'bars' : 'line';
    const stacked = Boolean(d.stacked);
    const unit = d.unit ?? this.opts.unit ?? '';
    const step = d.step > 0 ? d.step : 0;
    let finite = 0;
    for (const s of visible) for (const p of s.points) if (Number.isFinite(p[1])) finite++;

    this.layout = null;
    canvas.dataset.series = '0';
    canvas.dataset.points = '0';
    if (finite === 0) {
      const msg = this.series.length > 0 && visible.length === 0 ? 'all series hidden' : 'no data';
      canvas.setAttribute('aria-label', msg);
      ctx.fillStyle = colors.muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(msg, width / 2, height / 2);
      return;
    }

    // Time range: the requested one, else the data's.
    let from = Number(d.from);
    let to = Number(d.to);
    if (!Number.isFinite(from) || !Number.isFinite(to)) {
      from = Infinity;
      to = -Infinity;
      for (const s of visible) {
        if (!s.points.length) continue;
        from = Math.min(from, s.points[0][0]);
        to = Math.max(to, s.points[s.points.length - 1][0]);
      }
    }
    if (!(to > from)) to = from + 1;

    // Value axis: nice ticks over the data (bars always include 0), labels
    // with enough digits that neighbouring ticks differ.
    const stacks = stacked ? stackSeries(visible) : null;
    const range = valueRange(visible, stacked);
    if (kind === 'bars') {
      range.min = Math.min(range.min, 0);
      range.max = Math.max(range.max, 0);
    }
    const plotH = height - PAD_TOP - PAD_BOTTOM;
    const yTicks = unitTicks(range.min, range.max, Math.max(2, Math.floor(plotH / 45)), unit);
    const tickStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
    const maxAbs = Math.max(...yTicks.map(Math.abs));
    const digits = Math.max(3, Math.ceil(Math.log10(maxAbs / tickStep || 1)) + 1);
    const yLabels = yTicks.map((v) => formatValue(v, unit, digits));
    const labelW = Math.max(...yLabels.map((l) => ctx.measureText(l).width));

    const x0 = Math.ceil(labelW) + 10;
    const x1 = Math.max(x0 + 1, width - PAD_RIGHT);
    const y0 = PAD_TOP;
    const y1 = height - PAD_BOTTOM;
    const yMin = yTicks[0];
    const yMax = yTicks[yTicks.length - 1] > yMin ? yTicks[yTicks.length - 1] : yMin + 1;
    const xOf = (t) => x0 + ((t - from) / (to - from)) * (x1 - x0);
    const yOf = (v) => y1 - ((v - yMin) / (yMax - yMin)) * (y1 - y0);

    this.drawAxes(ctx, colors, { x0, x1, y0, y1, from, to, xOf, yOf, yTicks, yLabels, width });

    // Series, clipped to the plot area.
    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0 - 2, x1 - x0, y1 - y0 + 4);
    ctx.clip();
    ctx.lineWidth = visible.length > 50 ? 1 : 1.5;
    ctx.lineJoin = 'round';
    const geo = { xOf, yOf, step, from, to, x0, x1, yMin, yMax };
    let drawn;
    if (kind === 'bars') drawn = this.drawBars(ctx, visible, stacks, geo);
    else if (stacked) drawn = this.drawAreas(ctx, visible, stacks, geo);
    else drawn = this.drawLines(ctx, visible, geo);
    ctx.restore();

    this.layout = { x0, x1, y0, y1, from, to, step, xOf, visible, unit };
    canvas.dataset.series = String(visible.length);
    canvas.dataset.points = String(drawn);
    canvas.setAttribute('aria-label', `${kind} chart of ${visible.length} series`);
  }

  /** Grid lines, y labels (left) and time labels (bottom). */
  drawAxes(ctx, colors, a) {
    ctx.lineWidth = 1;
    ctx.strokeStyle = colors.grid;
    ctx.fillStyle = colors.muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.beginPath();
    a.yTicks.forEach((v, i) => {
      const y = Math.round(a.yOf(v)) + 0.5;
      ctx.moveTo(a.x0, y);
      ctx.lineTo(a.x1, y);
      ctx.fillText(a.yLabels[i], a.x0 - 6, y);
    });
    const count = Math.max(2, Math.floor((a.x1 - a.x0) / 90));
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const tick of timeTicks(a.from, a.to, count, this.tz)) {
      const x = Math.round(a.xOf(tick.t)) + 0.5;
      ctx.moveTo(x, a.y0);
      ctx.lineTo(x, a.y1);
      const half = ctx.measureText(tick.label).width / 2;
      const lx = Math.min(Math.max(x, half), a.width - half);
      ctx.fillText(tick.label, lx, a.y1 + 6);
    }
    ctx.stroke();
    // Baseline of the plot.
    ctx.strokeStyle = colors.border;
    ctx.beginPath();
    ctx.moveTo(a.x0, a.y1 + 0.5);
    ctx.lineTo(a.x1, a.y1 + 0.5);
    ctx.stroke();
  }

  /** One polyline per series, broken at gaps and NaN. Returns points drawn. */
  drawLines(ctx, visible, g) {
    let drawn = 0;
    for (const s of visible) {
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.beginPath();
      for (const [a, b] of segments(s.points, g.step)) {
        drawn += b - a;
        const p = s.points;
        if (b - a === 1) {
          // A lone point has no line: mark it with a dot.
          ctx.fillRect(g.xOf(p[a][0]) - 1.5, g.yOf(p[a][1]) - 1.5, 3, 3);
          continue;
        }
        ctx.moveTo(g.xOf(p[a][0]), g.yOf(p[a][1]));
        for (let i = a + 1; i < b; i++) ctx.lineTo(g.xOf(p[i][0]), g.yOf(p[i][1]));
      }
      ctx.stroke();
    }
    return drawn;
  }

  /** Stacked areas: each run filled between its base and top, top stroked. */
  drawAreas(ctx, visible, stacks, g) {
    let drawn = 0;
    visible.forEach((s, k) => {
      const p = stacks[k];
      const runs = segments(p, g.step, 2);
      ctx.fillStyle = s.color;
      ctx.strokeStyle = s.color;
      ctx.globalAlpha = 0.3;
      ctx.beginPath();
      for (const [a, b] of runs) {
        ctx.moveTo(g.xOf(p[a][0]), g.yOf(p[a][2]));
        for (let i = a + 1; i < b; i++) ctx.lineTo(g.xOf(p[i][0]), g.yOf(p[i][2]));
        for (let i = b - 1; i >= a; i--) ctx.lineTo(g.xOf(p[i][0]), g.yOf(p[i][1]));
        ctx.closePath();
      }
      ctx.fill();
      ctx.globalAlpha = 1;
      ctx.beginPath();
      for (const [a, b] of runs) {
        drawn += b - a;
        ctx.moveTo(g.xOf(p[a][0]), g.yOf(p[a][2]));
        for (let i = a + 1; i < b; i++) ctx.lineTo(g.xOf(p[i][0]), g.yOf(p[i][2]));
      }
      ctx.stroke();
    });
    return drawn;
  }

  /**
   * Bars centred on each timestamp, about one step wide (1 px gap). Stacked:
   * each bar spans base..top. Not stacked: series side by side within the
   * slot when there is room, else overlapping. Returns points drawn.
   */
  drawBars(ctx, visible, stacks, g) {
    const slotSec = g.step || minSpacing(visible) || (g.to - g.from) / 50;
    const slotPx = (slotSec / (g.to - g.from)) * (g.x1 - g.x0);
    const barW = slotPx > 3 ? slotPx - 1 : Math.max(1, slotPx);
    const zeroY = g.yOf(Math.min(Math.max(0, g.yMin), g.yMax));
    const n = visible.length;
    const sideBySide = !stacks && n > 1 && barW / n >= 2;
    const subW = sideBySide ? barW / n : barW;
    let drawn = 0;
    visible.forEach((s, k) => {
      ctx.fillStyle = s.color;
      ctx.globalAlpha = stacks || sideBySide || n === 1 ? 1 : 0.7;
      const offset = sideBySide ? -barW / 2 + k * subW : -barW / 2;
      if (stacks) {
        for (const [t, base, top] of stacks[k]) {
          if (!Number.isFinite(top)) continue;
          const ya = g.yOf(top);
          const yb = g.yOf(base);
          ctx.fillRect(g.xOf(t) + offset, Math.min(ya, yb), subW, Math.abs(yb - ya));
          drawn++;
        }
      } else {
        for (const [t, v] of s.points) {
          if (!Number.isFinite(v)) continue;
          const y = g.yOf(v);
          ctx.fillRect(g.xOf(t) + offset, Math.min(y, zeroY), subW, Math.abs(zeroY - y));
          drawn++;
        }
      }
    });
    ctx.globalAlpha = 1;
    return drawn;
  }

  // ------------------------------------------------------ hover and zooming

  /** Pointer position in CSS px relative to the canvas. */
  pointerPos(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  /** Starts a drag selection when the primary button goes down in the plot. */
  onPointerDown(e) {
    const L = this.layout;
    if (e.button !== 0 || !L) return;
    const { x } = this.pointerPos(e);
    if (x < L.x0 || x > L.x1) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.drag = { start: x, end: x };
    document.addEventListener('keydown', this.onDragKey);
  }

  /** Updates the drag band, or the cursor line and tooltip. */
  onPointerMove(e) {
    const L = this.layout;
    if (!L) return;
    const { x, y } = this.pointerPos(e);
    if (this.drag) {
      this.drag.end = Math.min(Math.max(x, L.x0), L.x1);
      const left = Math.min(this.drag.start, this.drag.end);
      const w = Math.abs(this.drag.end - this.drag.start);
      this.hideHover();
      this.selection.hidden = w < 1;
      Object.assign(this.selection.style, {
        left: `${left}px`, width: `${w}px`, top: `${L.y0}px`, height: `${L.y1 - L.y0}px`,
      });
      return;
    }
    if (x < L.x0 || x > L.x1 || y < 0 || y > L.y1 + PAD_BOTTOM) {
      this.hideHover();
      return;
    }
    this.showHover(x, y);
  }

  /** Ends a drag: a long enough one zooms. */
  onPointerUp(e) {
    if (!this.drag) return;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.endDrag(true);
  }

  onPointerLeave() {
    if (!this.drag) this.hideHover();
  }

  /** Escape cancels a drag in progress. */
  onDragKey(e) {
    if (e.key === 'Escape') this.endDrag(false);
  }

  /** Clears the drag state; when `zoom`, reports a selection >= MIN_DRAG_PX. */
  endDrag(zoom) {
    const drag = this.drag;
    const L = this.layout;
    this.drag = null;
    this.selection.hidden = true;
    document.removeEventListener('keydown', this.onDragKey);
    if (!zoom || !drag || !L || Math.abs(drag.end - drag.start) < MIN_DRAG_PX) return;
    const tOf = (x) => L.from + ((x - L.x0) / (L.x1 - L.x0)) * (L.to - L.from);
    const a = tOf(Math.min(drag.start, drag.end));
    const b = tOf(Math.max(drag.start, drag.end));
    if (this.opts.onZoom) this.opts.onZoom(a, b);
  }

  hideHover() {
    this.cursor.hidden = true;
    this.tooltip.hidden = true;
  }

  /**
   * Cursor line and tooltip at the timestamp nearest to the pointer: the
   * value of every visible series there, largest first.
   */
  showHover(x, y) {
    const L = this.layout;
    const secPerPx = (L.to - L.from) / (L.x1 - L.x0);
    const t = L.from + (x - L.x0) * secPerPx;
    // The data timestamp nearest to the pointer, over all visible series.
    let best = NaN;
    for (const s of L.visible) {
      const i = nearestIndex(s.points, t);
      if (i >= 0 && !(Math.abs(s.points[i][0] - t) >= Math.abs(best - t))) best = s.points[i][0];
    }
    if (!Number.isFinite(best)) {
      this.hideHover();
      return;
    }
    // Series with a point at (or, without a step, within a few px of) it.
    const tol = L.step ? L.step / 2 : secPerPx * 4;
    const rows = [];
    for (const s of L.visible) {
      const i = nearestIndex(s.points, best);
      if (i >= 0 && Math.abs(s.points[i][0] - best) <= tol) rows.push({ s, v: s.points[i][1] });
    }
    rows.sort((a, b) => (Number.isNaN(a.v) ? 1 : 0) - (Number.isNaN(b.v) ? 1 : 0) || b.v - a.v);

    const tip = this.tooltip;
    tip.replaceChildren(el('div', 'chart-tooltip-time', formatTime(best, this.tz)));
    for (const { s, v } of rows.slice(0, MAX_TOOLTIP_ROWS)) {
      const row = el('div', 'chart-tooltip-row');
      const swatch = el('span', 'chart-swatch');
      swatch.style.background = s.color;
      row.append(swatch, el('span', 'chart-tooltip-name', s.name),
        el('span', 'chart-tooltip-value', formatValue(v, L.unit)));
      tip.append(row);
    }
    if (rows.length > MAX_TOOLTIP_ROWS) {
      tip.append(el('div', 'chart-tooltip-more', `… ${rows.length - MAX_TOOLTIP_ROWS} more`));
    }

    const cx = Math.round(L.xOf(best));
    Object.assign(this.cursor.style, {
      left: `${cx}px`, top: `${L.y0}px`, height: `${L.y1 - L.y0}px`,
    });
    this.cursor.hidden = false;
    tip.hidden = false;
    // Right of the pointer, else left of it, else on the roomier side made
    // narrower (names are ellipsised): never over the cursor line.
    const pw = this.plot.clientWidth;
    const roomRight = pw - x - 14;
    const roomLeft = x - 14;
    tip.style.maxWidth = '';
    let tw = tip.offsetWidth;
    if (tw > roomRight && tw > roomLeft) {
      tip.style.maxWidth = `${Math.max(120, Math.max(roomRight, roomLeft))}px`;
      tw = tip.offsetWidth;
    }
    const left = tw <= roomRight || roomRight >= roomLeft ? x + 14 : Math.max(0, x - 14 - tw);
    const th = tip.offsetHeight;
    const top = Math.max(0, Math.min(y + 14, this.opts.height - th));
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  }

  // ----------------------------------------------------------------- legend

  /** One row per (capped) series, plus a note when series were left out. */
  buildLegend() {
    const rows = this.series.map((s, i) => {
      const row = el('li', 'chart-legend-row');
      row.tabIndex = 0;
      row.dataset.index = String(i);
      row.setAttribute('role', 'checkbox');
      row.title = 'Click to toggle, shift/ctrl-click to show only this series';
      const swatch = el('span', 'chart-swatch');
      swatch.style.background = s.color;
      row.append(swatch, el('span', 'chart-legend-name', s.name));
      const extra = this.opts.legendExtra ? this.opts.legendExtra(s.source) : null;
      if (extra) {
        extra.classList.add('chart-legend-extra');
        row.append(extra);
      }
      return row;
    });
    if (this.total > this.series.length) {
      rows.push(el('li', 'chart-legend-note', `showing ${this.series.length} of ${this.total} series`));
    }
    this.legend.replaceChildren(...rows);
    this.legend.hidden = rows.length === 0;
    this.updateLegend();
  }

  /** Reflects visibility on the legend rows. */
  updateLegend() {
    for (const row of this.legend.querySelectorAll('.chart-legend-row')) {
      const s = this.series[Number(row.dataset.index)];
      const off = this.hidden.has(s.name);
      row.classList.toggle('chart-legend-hidden', off);
      row.setAttribute('aria-checked', String(!off));
    }
  }

  /**
   * Toggles series i, or with `isolate` shows only it (isolating the only
   * visible series again shows all).
   */
  toggle(i, isolate) {
    const name = this.series[i].name;
    if (isolate) {
      const alone = !this.hidden.has(name)
        && this.series.every((s) => s.name === name || this.hidden.has(s.name));
      this.hidden.clear();
      if (!alone) for (const s of this.series) if (s.name !== name) this.hidden.add(s.name);
    } else if (this.hidden.has(name)) {
      this.hidden.delete(name);
    } else {
      this.hidden.add(name);
    }
    this.hideHover();
    this.updateLegend();
    this.draw();
  }

  /** Row clicks toggle, except clicks inside a legendExtra element. */
  onLegendClick(e) {
    const row = e.target.closest('.chart-legend-row');
    if (!row || e.target.closest('.chart-legend-extra')) return;
    this.toggle(Number(row.dataset.index), e.shiftKey || e.ctrlKey || e.metaKey);
  }

  /** Enter/Space toggle the focused row; arrows move between rows. */
  onLegendKey(e) {
    const row = e.target;
    if (!row.classList || !row.classList.contains('chart-legend-row')) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.toggle(Number(row.dataset.index), e.shiftKey || e.ctrlKey || e.metaKey);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const next = e.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling;
      if (next && next.classList.contains('chart-legend-row')) {
        e.preventDefault();
        next.focus();
      }
    }
  }
}
