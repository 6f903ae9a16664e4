// Renders one dashboard widget (number cards, line chart, min/avg/max band)
// from its dashboard.json definition. Used by the dashboard and by the
// editor's preview.
'use strict';

const NTW = (() => {
  const {el, clear, api, seriesParams, lastValue, range, chart, formatValue, transformer,
    apiWindow, durationSeconds, timeText} = NT;

  function isBand(w) {
    return w.type === 'aggregate_band' || (w.type === 'line_chart' && w.presentation === 'aggregate_band');
  }
  function label(s, i, band) {
    const agg = band && ['min', 'max', 'avg'].includes((s.aggregate || '').toLowerCase()) ? s.aggregate.toLowerCase() : '';
    const role = {min: 'Min', max: 'Max', avg: 'Avg'}[(s.role || agg).toLowerCase()];
    return s.label || role || s.query || s.metric || (s.measurement && s.field ? `${s.measurement}.${s.field}` : `Series ${i + 1}`);
  }
  function level(v, th) {
    if (!th || !Number.isFinite(v)) return '';
    const above = th.direction === 'above';
    const hit = (x) => x !== undefined && x !== null && (above ? v >= x : v <= x);
    if (th.direction !== 'above' && th.direction !== 'below') return '';
    if (hit(th.critical)) return 'critical';
    if (hit(th.warning)) return 'warning';
    return '';
  }

  async function renderNumbers(w, doc, body) {
    const cards = el('div', {class: 'cards'});
    clear(body).append(cards);
    const results = await Promise.allSettled(w.series.map((s) => lastValue(seriesParams(s, doc.default_db))));
    w.series.forEach((s, i) => {
      const r = results[i];
      let text = '—';
      let cls = 'card';
      let when = 'no value';
      if (r.status === 'rejected') {
        when = r.reason.message;
        cls += ' critical';
      } else if (r.value) {
        const v = transformer(s)(r.value.v);
        text = formatValue(v, s);
        const lv = level(v, s.thresholds);
        if (lv) cls += ' ' + lv;
        when = timeText(r.value.t);
      }
      cards.append(el('div', {class: cls, 'data-series': i},
        el('div', {class: 'label', text: label(s, i)}),
        el('div', {class: 'value', text}),
        el('div', {class: 'when', text: when})));
    });
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  function window_(w, s) {
    const byInterval = isBand(w) || (w.type === 'line_chart' && s.aggregate);
    return byInterval && w.interval ? w.interval : (s.window || '');
  }

  // Fetches the series of a chart as [{label, role, t, v}].
  async function chartSeries(w, doc, start) {
    if (isBand(w) && w.series.length === 1 && !w.series[0].aggregate && !w.series[0].role) {
      // Shortcut band: one plain series, min/avg/max over the widget interval.
      const s = w.series[0];
      const p = Object.assign(seriesParams(s, doc.default_db), {start, aggregate: 'min,avg,max', window: apiWindow(w.interval)});
      const rows = await range(p);
      const tf = transformer(s);
      return rows.map((r) => {
        const role = r.labels.aggregate;
        return {label: {min: 'Min', avg: 'Avg', max: 'Max'}[role] || role, role, t: r.t, v: r.v.map(tf)};
      });
    }
    const out = await Promise.all(w.series.map(async (s, i) => {
      const p = Object.assign(seriesParams(s, doc.default_db), {start});
      const win = window_(w, s);
      if (s.aggregate && win) { p.aggregate = s.aggregate; p.window = apiWindow(win); }
      const rows = await range(p);
      const tf = transformer(s);
      const role = (s.role || (['min', 'max', 'avg'].includes(s.aggregate) ? s.aggregate : '')).toLowerCase();
      const r = rows[0] || {t: [], v: []};
      return {label: label(s, i, isBand(w)), role, t: r.t, v: r.v.map(tf)};
    }));
    return out;
  }

  async function renderChart(w, doc, body, lookbackOverride) {
    const lb = durationSeconds(lookbackOverride || w.lookback) || 3600;
    const start = Math.floor(Date.now() / 1000 - lb);
    const list = await chartSeries(w, doc, start);
    const node = body.querySelector('.chart') || el('div', {class: 'chart'});
    if (!node.parentNode) clear(body).append(node);
    const first = w.series[0] || {};
    chart(node, list, {band: isBand(w), format: first, xRange: [start, Math.floor(Date.now() / 1000)]});
  }

  // Builds the widget box; returns {node, refresh(lookbackOverride)}.
  function create(id, w, doc) {
    const body = el('div', {class: 'body'});
    const status = el('div', {class: 'status'});
    const kind = w.type === 'number' || w.type === 'numbers' ? 'number' : 'chart-widget';
    const node = el('section', {class: `widget ${kind}`, 'data-widget': id, 'data-type': w.type},
      el('h3', {text: w.title || id}), body, status);
    async function refresh(lookback) {
      try {
        if (kind === 'number') await renderNumbers(w, doc, body);
        else await renderChart(w, doc, body, lookback);
        status.textContent = `updated ${new Date().toLocaleTimeString()}`;
        node.classList.remove('failed');
      } catch (e) {
        status.textContent = '';
        node.classList.add('failed');
        const msg = `${w.title || id}: ${e.message}`;
        status.append(el('span', {class: 'err', text: msg}));
        NT.showError(msg);
      }
    }
    return {node, refresh, widget: w};
  }

  return {create, isBand, label};
})();
