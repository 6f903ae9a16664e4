// Explore: pick a database and metrics (searchable, for thousands of
// series), optionally an aggregate and window, a time range and resolution;
// or type a PromQL expression; shows last-value cards and a chart. The view
// lives in the URL, so the address is a link that reproduces it.
'use strict';

(async () => {
  const {el, clear, api, showError, lastValue, range, chart, formatValue, timeText} = NT;
  NT.markNav('explore');
  const main = document.getElementById('main');
  const q = new URLSearchParams(location.search);
  const state = {
    db: q.get('db') || '',
    metrics: q.getAll('metric'),
    aggregate: q.get('aggregate') || '',
    window: q.get('window') || '',
    range: q.get('range') || '1h',
    step: q.get('step') || '',
    auto: q.get('auto') === '1',
    labels: q.get('labels') || '',
    promql: q.get('promql') || '',
  };
  const MAX_LISTED = 200;

  const dbSel = el('select', {id: 'db', 'aria-label': 'database'});
  const search = el('input', {id: 'metric-search', type: 'search', placeholder: 'search metrics…', 'aria-label': 'search metrics'});
  const labelIn = el('input', {id: 'label-filter', type: 'search', value: state.labels,
    placeholder: 'labels e.g. mode=idle, cpu!=0', 'aria-label': 'label filters'});
  const list = el('ul', {class: 'metric-list', id: 'metric-list'});
  const count = el('div', {class: 'status', id: 'metric-count'});
  const chips = el('div', {class: 'chips', id: 'selected'});
  const aggSel = el('select', {id: 'aggregate', 'aria-label': 'aggregate'}, el('option', {value: '', text: 'raw samples'}));
  const winIn = el('input', {id: 'window', placeholder: 'window e.g. 1m', size: 8, value: state.window, 'aria-label': 'window'});
  const rangeSel = el('select', {id: 'range', 'aria-label': 'time range'},
    ['15m', '1h', '6h', '24h', '7d'].map((r) => el('option', {value: r, text: `last ${r}`})));
  const stepSel = el('select', {id: 'step', 'aria-label': 'resolution'},
    [['', 'full resolution'], ['10s', '10s'], ['30s', '30s'], ['1m', '1m'], ['5m', '5m']].map(([v, t]) => el('option', {value: v, text: t})));
  const auto = el('input', {type: 'checkbox', id: 'auto', checked: state.auto});
  const link = el('input', {id: 'share-link', readonly: true, 'aria-label': 'link to this view', size: 40});
  const promqlIn = el('input', {id: 'promql', type: 'search', value: state.promql, size: 40,
    placeholder: 'PromQL, e.g. sum by (mode) (rate(node_cpu_seconds_total[5m]))', 'aria-label': 'PromQL expression'});
  const cards = el('div', {class: 'cards', id: 'last-values'});
  const chartNode = el('div', {class: 'chart', id: 'explore-chart'});
  const status = el('span', {class: 'status', id: 'explore-status'});

  main.append(el('h1', {text: 'Explore'}),
    el('div', {class: 'picker'},
      el('div', {}, el('label', {class: 'field'}, el('span', {text: 'Database'}), dbSel),
        el('label', {class: 'field'}, el('span', {text: 'Metrics'}), search),
        el('label', {class: 'field'}, el('span', {text: 'Label filters'}), labelIn), list, count),
      el('div', {}, el('div', {class: 'field'}, el('span', {text: 'Selected'}), chips),
        el('div', {class: 'toolbar'}, el('label', {}, 'Aggregate ', aggSel), el('label', {}, 'Window ', winIn)),
        el('div', {class: 'toolbar'}, rangeSel, stepSel, el('label', {}, auto, 'auto refresh'),
          el('button', {id: 'run', class: 'primary', onclick: run}, 'Run')),
        el('label', {class: 'field'}, el('span', {text: 'PromQL (instead of the metrics picked; every database, each series with a db label)'}), promqlIn),
        el('label', {class: 'field'}, el('span', {text: 'Link to this view'}), link))),
    status,
    el('section', {class: 'widget'}, el('h3', {text: 'Last values'}), cards),
    el('section', {class: 'widget'}, el('h3', {text: 'Chart'}), chartNode));
  rangeSel.value = state.range;
  stepSel.value = state.step;

  let metrics = [];
  async function loadDatabases() {
    const d = await api('/api/v1/databases', {params: {include_internal: 'true'}});
    const names = d.result || [];
    clear(dbSel).append(...names.map((n) => el('option', {value: n, text: n})));
    if (!state.db || !names.includes(state.db)) state.db = names.find((n) => n !== 'internal') || names[0] || '';
    dbSel.value = state.db;
  }
  async function loadMetrics() {
    metrics = [];
    if (state.db) {
      const d = await api('/api/v1/metrics', {params: {db: state.db}});
      metrics = (d.result || []).map((m) => (typeof m === 'string' ? m : m.name)).sort();
    }
    renderList();
  }
  // Labels of a series named `name{a="x",b="y"}` (as remote write and the
  // Prometheus import store them).
  function labelsOf(m) {
    const out = {};
    const i = m.indexOf('{');
    if (i < 0 || !m.endsWith('}')) return out;
    const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let g;
    while ((g = re.exec(m.slice(i + 1, -1)))) out[g[1]] = g[2].replace(/\\(.)/g, '$1');
    return out;
  }
  // `k=v`, `k!=v`, `k=~regex` filters separated by commas.
  function labelFilters() {
    return labelIn.value.split(',').map((f) => f.trim()).filter(Boolean).map((f) => {
      const g = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!=|=)\s*"?(.*?)"?$/.exec(f);
      if (!g) return () => false;
      const [, k, op, v] = g;
      if (op === '=~') {
        let re;
        try { re = new RegExp(`^(?:${v})$`); } catch (_) { return () => false; }
        return (ls) => re.test(ls[k] ?? '');
      }
      return op === '=' ? (ls) => (ls[k] ?? '') === v : (ls) => (ls[k] ?? '') !== v;
    });
  }
  function renderList() {
    const terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    const filters = labelFilters();
    state.labels = labelIn.value.trim();
    const hits = metrics.filter((m) => terms.every((t) => m.toLowerCase().includes(t))
      && (!filters.length || filters.every((f) => f(labelsOf(m)))));
    clear(list).append(...hits.slice(0, MAX_LISTED).map((m) =>
      el('li', {tabindex: 0, 'data-metric': m, onclick: () => add(m), onkeydown: (e) => { if (e.key === 'Enter') add(m); }}, m)));
    count.textContent = hits.length > MAX_LISTED ? `${hits.length} of ${metrics.length} match; first ${MAX_LISTED} shown, refine the search`
      : `${hits.length} of ${metrics.length} metrics`;
  }
  function renderChips() {
    clear(chips).append(...state.metrics.map((m) => el('span', {class: 'chip'}, m,
      el('button', {class: 'close', title: 'remove', onclick: () => { state.metrics = state.metrics.filter((x) => x !== m); renderChips(); run(); }}, '×'))));
    if (!state.metrics.length) chips.append(el('span', {class: 'muted', text: 'pick metrics from the list'}));
  }
  function add(m) {
    if (!state.metrics.includes(m)) state.metrics.push(m);
    renderChips();
    run();
  }
  function saveUrl() {
    const p = new URLSearchParams();
    if (state.db) p.set('db', state.db);
    state.metrics.forEach((m) => p.append('metric', m));
    for (const k of ['aggregate', 'window', 'step']) if (state[k]) p.set(k, state[k]);
    p.set('range', state.range);
    if (state.auto) p.set('auto', '1');
    if (state.labels) p.set('labels', state.labels);
    if (state.promql) p.set('promql', state.promql);
    history.replaceState(null, '', `${location.pathname}?${p}`);
    link.value = location.href;
  }

  let seq = 0;
  async function run() {
    state.aggregate = aggSel.value;
    state.window = winIn.value.trim();
    state.range = rangeSel.value;
    state.step = stepSel.value;
    state.promql = promqlIn.value.trim();
    saveUrl();
    const mine = ++seq;
    if (state.promql) { await runPromql(mine); return; }
    if (!state.metrics.length) { clear(cards); clear(chartNode); return; }
    const start = Math.floor(Date.now() / 1000 - NT.durationSeconds(state.range));
    const t0 = performance.now();
    try {
      const lasts = await Promise.all(state.metrics.map((m) => lastValue({db: state.db, query: m})));
      const params = (m) => {
        const p = {db: state.db, query: m, start};
        if (state.aggregate) { p.aggregate = state.aggregate; p.window = NT.apiWindow(state.window || state.step || '1m'); }
        else if (state.step) p.step = NT.apiWindow(state.step);
        return p;
      };
      const rows = await Promise.all(state.metrics.map((m) => range(params(m))));
      if (mine !== seq) return;
      clear(cards).append(...state.metrics.map((m, i) => el('div', {class: 'card'},
        el('div', {class: 'label', text: m}),
        el('div', {class: 'value', text: lasts[i] ? formatValue(lasts[i].v) : '—'}),
        el('div', {class: 'when', text: lasts[i] ? timeText(lasts[i].t) : 'no value'}))));
      const series = state.metrics.map((m, i) => ({label: m, t: (rows[i][0] || {t: []}).t, v: (rows[i][0] || {v: []}).v}));
      chart(chartNode, series, {height: 320, xRange: [start, Math.floor(Date.now() / 1000)]});
      const points = series.reduce((n, s) => n + s.t.length, 0);
      status.textContent = `${points} points in ${Math.round(performance.now() - t0)} ms`;
    } catch (e) {
      status.textContent = '';
      showError(e.message);
    }
  }

  // `name{a="x",…}` of a PromQL result series.
  function seriesName(ls) {
    const rest = Object.entries(ls || {}).filter(([k]) => k !== '__name__')
      .map(([k, v]) => `${k}="${v}"`).join(',');
    const name = (ls && ls.__name__) || '';
    return rest ? `${name}{${rest}}` : (name || '{}');
  }
  async function runPromql(mine) {
    const end = Math.floor(Date.now() / 1000);
    const span = NT.durationSeconds(state.range);
    const start = end - span;
    // About 500 points per series unless a resolution is chosen.
    const step = state.step ? NT.durationSeconds(state.step) : Math.max(1, Math.ceil(span / 500));
    const t0 = performance.now();
    try {
      const rows = await range({query: state.promql, start, end, step: `${step}s`});
      if (mine !== seq) return;
      const series = rows.map((r) => ({label: seriesName(r.labels), t: r.t, v: r.v}));
      clear(cards).append(...series.slice(0, 24).map((s) => {
        const n = s.v.length;
        return el('div', {class: 'card'},
          el('div', {class: 'label', text: s.label}),
          el('div', {class: 'value', text: n ? formatValue(s.v[n - 1]) : '—'}),
          el('div', {class: 'when', text: n ? timeText(s.t[n - 1]) : 'no value'}));
      }));
      chart(chartNode, series, {height: 320, xRange: [start, end]});
      const points = series.reduce((k, s) => k + s.t.length, 0);
      status.textContent = `${series.length} series, ${points} points in ${Math.round(performance.now() - t0)} ms`;
    } catch (e) {
      status.textContent = '';
      showError(e.message);
    }
  }

  let timer = null;
  function scheduleAuto() {
    clearInterval(timer);
    state.auto = auto.checked;
    if (state.auto) timer = setInterval(run, (NT.cfg.refreshSeconds || 10) * 1000);
    saveUrl();
  }
  let searchTimer = null;
  search.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(renderList, 80); });
  labelIn.addEventListener('input', () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => { renderList(); saveUrl(); }, 80); });
  dbSel.addEventListener('change', async () => {
    state.db = dbSel.value; state.metrics = []; renderChips();
    try { await loadMetrics(); } catch (e) { showError(e.message); }
    run();
  });
  for (const n of [aggSel, rangeSel, stepSel]) n.addEventListener('change', run);
  winIn.addEventListener('change', run);
  promqlIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') run(); });
  auto.addEventListener('change', scheduleAuto);

  renderChips();
  try {
    const aggs = await api('/api/v1/aggregates');
    aggSel.append(...(aggs.result || []).map((a) => el('option', {value: a, text: a})));
    aggSel.value = state.aggregate;
    await loadDatabases();
    await loadMetrics();
  } catch (e) {
    showError(e.message);
  }
  scheduleAuto();
  await run();
  document.body.dataset.rendered = String(performance.now());
})();
