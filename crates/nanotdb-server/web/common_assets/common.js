// Shared by every page: settings, API calls (with the bearer token when the
// server has one), error display, safe DOM building, value formatting and
// chart helpers. Nothing here inserts text as HTML: every string goes in
// through textContent or attributes set by the DOM API.
'use strict';

const NT = (() => {
  const cfg = JSON.parse(document.body.dataset.config || '{}');
  const TOKEN_KEY = 'nanotdb.token';

  // el('div', {class: 'x', onclick: f}, child, 'text', ...)
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'value') e.value = v;
      else if (k === 'checked') e.checked = !!v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  // --- errors -------------------------------------------------------------
  function showError(msg) {
    const box = document.getElementById('errors');
    if (!box) return;
    const item = el('div', {class: 'error'}, el('span', {text: String(msg)}),
      el('button', {class: 'close', title: 'dismiss', onclick: () => item.remove()}, '×'));
    box.append(item);
    while (box.children.length > 5) box.firstChild.remove();
  }

  // --- token --------------------------------------------------------------
  function token() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch (_) { return ''; }
  }
  const tokenListeners = [];
  // Called with no argument once a token was entered (instead of a reload).
  function onToken(f) { tokenListeners.push(f); }
  function askToken(reason) {
    const box = document.getElementById('token');
    if (!box || box.dataset.open) return;
    box.dataset.open = '1';
    const input = el('input', {type: 'password', id: 'token-input', autocomplete: 'off',
      placeholder: 'auth token', 'aria-label': 'auth token'});
    const save = () => {
      try { localStorage.setItem(TOKEN_KEY, input.value.trim()); } catch (_) { /* private mode */ }
      delete box.dataset.open;
      clear(box);
      // A page with unsaved work (the editor) retries itself; others reload.
      if (tokenListeners.length) tokenListeners.forEach((f) => f());
      else location.reload();
    };
    box.append(el('form', {class: 'token', onsubmit: (ev) => { ev.preventDefault(); save(); }},
      el('span', {text: reason || 'This server needs its auth token.'}), input,
      el('button', {type: 'submit'}, 'Use token')));
    input.focus();
  }
  if (cfg.authToken && cfg.authReads && !token()) {
    // Reads need the token too: ask before the first request fails.
    window.addEventListener('DOMContentLoaded', () => askToken());
  }

  // --- API ----------------------------------------------------------------
  class ApiError extends Error {}

  function url(path, params) {
    const u = new URL((cfg.apiBaseURL || '') + path, location.href);
    for (const [k, v] of Object.entries(params || {})) {
      if (Array.isArray(v)) v.forEach((x) => u.searchParams.append(k, x));
      else if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
    }
    return u.toString();
  }

  // Fetches JSON; throws ApiError with the server's message on failure.
  async function api(path, {params, method, body, raw} = {}) {
    const headers = {};
    const t = token();
    if (t) headers.Authorization = 'Bearer ' + t;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url(path, params), {method: method || 'GET', headers,
        body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body))});
    } catch (e) {
      throw new ApiError(`${path}: ${e.message}`);
    }
    const text = await res.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (res.status === 401) {
      askToken(t ? 'The token was refused; enter the right one.' : 'This action needs the auth token.');
    }
    if (raw) return {status: res.status, ok: res.ok, data, text};
    if (!res.ok || (data && data.status === 'error')) {
      const msg = (data && (data.error || (data.errors && data.errors.join('; ')))) || text.trim() || res.statusText;
      throw new ApiError(`${path}: ${msg} (HTTP ${res.status})`);
    }
    return data && data.status === 'success' ? data.data : data;
  }

  // --- durations and time -------------------------------------------------
  const UNIT_S = {s: 1, m: 60, h: 3600, d: 86400, w: 604800};
  // Seconds of a dashboard duration (`15m`, `7d`), or NaN.
  function durationSeconds(d) {
    const m = /^(\d+)([smhdwSMHDW])$/.exec(String(d || '').trim());
    return m ? Number(m[1]) * UNIT_S[m[2].toLowerCase()] : NaN;
  }
  // The query API takes Go durations only, so `d`/`w` go out as seconds.
  function apiWindow(d) {
    const s = durationSeconds(d);
    return Number.isFinite(s) ? `${s}s` : String(d || '');
  }

  // --- values -------------------------------------------------------------
  function num(v) {
    if (typeof v === 'number') return v;
    if (v === '+Inf') return Infinity;
    if (v === '-Inf') return -Infinity;
    return Number(v);
  }
  // Applies a series' transform (factor/offset, or scale/offset).
  function transformer(s) {
    const t = s.transform || {};
    const factor = t.factor ?? s.scale ?? 1;
    const offset = t.offset ?? s.offset ?? 0;
    return (v) => v * factor + offset;
  }
  function formatValue(v, s) {
    const t = (s && s.transform) || {};
    const unit = t.unit || (s && s.unit) || '';
    const dec = t.decimals ?? (s && s.decimals);
    if (v === null || v === undefined || Number.isNaN(v)) return '—';
    let txt;
    if (!Number.isFinite(v)) txt = v > 0 ? '+Inf' : '-Inf';
    else if (dec !== undefined && dec !== null && dec >= 0 && dec <= 12) txt = v.toFixed(dec);
    else if (Math.abs(v) >= 1e6 || (Math.abs(v) < 1e-3 && v !== 0)) txt = v.toPrecision(4);
    else txt = String(Math.round(v * 1000) / 1000);
    return unit ? `${txt} ${unit}` : txt;
  }
  function timeText(sec) {
    return new Date(sec * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  }

  // --- series queries -----------------------------------------------------
  // Query parameters of a dashboard series: `db`+`query`, or `query=db/metric`.
  function seriesParams(s, defaultDb) {
    const metric = s.query || s.metric || (s.measurement && s.field ? `${s.measurement}.${s.field}` : '');
    const db = s.db || s.database || defaultDb || '';
    return db ? {db, query: metric} : {query: metric};
  }
  async function lastValue(params) {
    const d = await api('/api/v1/query', {params});
    const r = d.result && d.result[0];
    return r ? {t: r.value[0], v: num(r.value[1])} : null;
  }
  // Range query; returns [{labels, t: [], v: []}].
  async function range(params) {
    const d = await api('/api/v1/query_range', {params});
    return (d.result || []).map((r) => ({
      labels: r.metric,
      t: r.values.map((p) => p[0]),
      v: r.values.map((p) => num(p[1])),
    }));
  }

  // --- charts -------------------------------------------------------------
  const PALETTE = ['#2f7ed8', '#e4572e', '#29a36a', '#9b5de5', '#f3a712', '#00a6a6', '#d1495b', '#5f6caf'];

  // Merges series with their own timestamps onto one sorted x axis.
  function align(list) {
    if (list.length === 1) return [list[0].t, list[0].v];
    const xs = Array.from(new Set(list.flatMap((s) => s.t))).sort((a, b) => a - b);
    const idx = new Map(xs.map((x, i) => [x, i]));
    const ys = list.map((s) => {
      const y = new Array(xs.length).fill(null);
      s.t.forEach((t, i) => { y[idx.get(t)] = s.v[i]; });
      return y;
    });
    return [xs, ...ys];
  }

  function chartWidth(node) {
    return Math.max(200, Math.floor(node.clientWidth || node.parentNode.clientWidth || 320));
  }

  // Draws a line chart into `node`; `list` = [{label, t, v}]; `band` draws
  // the area between the series labelled Min and Max.
  function chart(node, list, opts = {}) {
    clear(node);
    if (!window.uPlot) { node.append(el('p', {class: 'muted', text: 'chart library missing'})); return null; }
    if (!list.length || list.every((s) => !s.t.length)) {
      node.append(el('p', {class: 'muted nodata', text: 'no data in this time range'}));
      return null;
    }
    const data = align(list);
    const series = [{}].concat(list.map((s, i) => ({
      label: s.label,
      stroke: s.color || PALETTE[i % PALETTE.length],
      width: s.width || 1.5,
      dash: s.dash,
      spanGaps: true,
      points: {show: false},
      value: (u, v) => (v === null ? '—' : formatValue(v, opts.format)),
    })));
    const bands = [];
    if (opts.band) {
      const lo = list.findIndex((s) => s.role === 'min') + 1;
      const hi = list.findIndex((s) => s.role === 'max') + 1;
      if (lo > 0 && hi > 0) {
        bands.push({series: [hi, lo], fill: 'rgba(47,126,216,0.15)'});
        series[lo].stroke = series[hi].stroke = 'rgba(47,126,216,0.55)';
      }
    }
    const scales = opts.xRange ? {x: {time: true, range: () => opts.xRange}} : {};
    const u = new uPlot({
      width: chartWidth(node),
      height: opts.height || 220,
      scales,
      series,
      bands,
      cursor: {drag: {x: true, y: false}},
      legend: {live: true},
      axes: [{}, {size: 60, values: (u, vals) => vals.map((v) => formatValue(v, {decimals: opts.axisDecimals}))}],
    }, data, node);
    node.uplot = u;
    return u;
  }
  // Keeps charts as wide as their boxes when the window changes.
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      document.querySelectorAll('.chart').forEach((n) => {
        if (n.uplot) n.uplot.setSize({width: chartWidth(n), height: n.uplot.height});
      });
    }, 150);
  });

  function markNav(page) {
    document.querySelectorAll('header nav a').forEach((a) => {
      if (a.dataset.page === page) a.setAttribute('aria-current', 'page');
    });
  }

  return {cfg, el, clear, showError, api, ApiError, durationSeconds, apiWindow, num, transformer,
    formatValue, timeText, seriesParams, lastValue, range, chart, markNav, PALETTE, token, onToken};
})();
