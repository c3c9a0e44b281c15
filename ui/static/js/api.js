// The dashboard's only way to the server: the Prometheus and Loki HTTP APIs (the same ones
// Grafana uses) and Loupe's own `/loupe/api/v1/…`. Relative URLs only, so nothing leaves this server.

/** An error answered by the server (or a network failure), with the server's message. */
export class ApiError extends Error {
  /**
   * @param {string} message the server's error text
   * @param {number} status HTTP status (0 for a network failure)
   * @param {string} [type] Prometheus `errorType` when there is one
   */
  constructor(message, status, type = '') {
    super(message);
    this.status = status;
    this.type = type;
  }
}

/**
 * Fetches JSON. Prometheus-shaped bodies (`{status, data}`) resolve to `data`; errors (JSON with
 * `error`, or Loki's plain text) reject with an ApiError.
 * @param {string} path path and query string
 * @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
export async function getJSON(path, init = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, ...init });
  } catch (e) {
    // A cancelled request stays an AbortError, which callers ignore.
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 0);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && typeof body.error === 'string' ? body.error : text.trim() || response.statusText;
    throw new ApiError(message, response.status, body && body.errorType ? body.errorType : '');
  }
  if (body && body.status === 'success' && 'data' in body) return body.data;
  if (body && body.status === 'error') throw new ApiError(body.error, response.status, body.errorType);
  return body;
}

/** Builds a query string from an object (arrays repeat the key; undefined/'' skipped). */
function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => p.append(k, x));
    else p.append(k, String(v));
  }
  return p.toString();
}

/** Sends parameters as a form body (long queries stay out of the URL). */
function postForm(path, params, signal) {
  return getJSON(path, {
    method: 'POST',
    body: qs(params),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    signal,
  });
}

/** PromQL range query → `{resultType: 'matrix', result: [{metric, values: [[t, "v"]]}]}`. */
export function promRange(query, start, end, step, signal) {
  return postForm('/api/v1/query_range', { query, start, end, step }, signal);
}

/** PromQL instant query → `{resultType, result}`. */
export function promInstant(query, time, signal) {
  return postForm('/api/v1/query', { query, time }, signal);
}

/** Formats (and so validates) a PromQL query; rejects with the parse error. */
export function promFormat(query, signal) {
  return postForm('/api/v1/format_query', { query }, signal);
}

/** Label names, optionally for series matching `match`. */
export function promLabels(match, start, end, signal) {
  return getJSON(`/api/v1/labels?${qs({ 'match[]': match ? [match] : [], start, end })}`, { signal });
}

/** Values of one label, optionally for series matching `match`. */
export function promLabelValues(name, match, start, end, signal) {
  const q = qs({ 'match[]': match ? [match] : [], start, end });
  return getJSON(`/api/v1/label/${encodeURIComponent(name)}/values?${q}`, { signal });
}

/** Seconds → Loki's nanosecond timestamps (as strings, exact for whole milliseconds). */
export function ns(sec) {
  return `${BigInt(Math.round(sec * 1000)) * 1000000n}`;
}

/**
 * LogQL range query. For log queries: `{resultType: 'streams', result: [{stream, values: [[ns, line]]}]}`;
 * for metric queries a matrix. `opts`: {limit, direction, step, startNs, endNs}.
 */
export function lokiRange(query, start, end, opts = {}, signal) {
  return postForm('/loki/api/v1/query_range', {
    query,
    start: opts.startNs ?? ns(start),
    end: opts.endNs ?? ns(end),
    limit: opts.limit,
    direction: opts.direction,
    step: opts.step,
  }, signal);
}

/** LogQL instant query. */
export function lokiInstant(query, time, limit, signal) {
  return postForm('/loki/api/v1/query', { query, time: ns(time), limit }, signal);
}

/** Formats (and so validates) a LogQL query; rejects with the parse error. */
export function lokiFormat(query, signal) {
  return postForm('/loki/api/v1/format_query', { query }, signal);
}

/** Log label names in a range (optionally for streams matching `query`). */
export function lokiLabels(query, start, end, signal) {
  return getJSON(`/loki/api/v1/labels?${qs({ query, start: ns(start), end: ns(end) })}`, { signal });
}

/** Values of one log label in a range (optionally for streams matching `query`). */
export function lokiLabelValues(name, query, start, end, signal) {
  const q = qs({ query, start: ns(start), end: ns(end) });
  return getJSON(`/loki/api/v1/label/${encodeURIComponent(name)}/values?${q}`, { signal });
}

/** Opens Loki's live tail WebSocket for a log query. */
export function lokiTail(query, startSec, limit = 100) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return new WebSocket(`${scheme}//${location.host}/loki/api/v1/tail?${qs({ query, start: ns(startSec), limit })}`);
}

/** Loupe's dashboards: list, one, save, delete. */
export const dashboards = {
  list: () => getJSON('/loupe/api/v1/dashboards'),
  get: (id) => getJSON(`/loupe/api/v1/dashboards/${encodeURIComponent(id)}`),
  save: (id, doc) => getJSON(`/loupe/api/v1/dashboards/${encodeURIComponent(id)}`, {
    method: 'PUT',
    body: JSON.stringify(doc),
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
  }),
  remove: (id) => getJSON(`/loupe/api/v1/dashboards/${encodeURIComponent(id)}`, { method: 'DELETE' }),
};
