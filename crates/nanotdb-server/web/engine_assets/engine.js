// The engine inspector: tabs over the engine view API (/api/engine/…):
// overview, one database, its files (page table of a data file and the
// "build metric file" action), its WAL, and the process runtime.
'use strict';

(async () => {
  const {el, clear, api, showError} = NT;
  NT.markNav('engine');
  const main = document.getElementById('main');
  const q = new URLSearchParams(location.hash.slice(1));
  const state = {tab: q.get('tab') || 'overview', db: q.get('db') || '', file: q.get('file') || ''};
  const TABS = [['overview', 'Overview'], ['database', 'Database'], ['files', 'Files'], ['wal', 'WAL'], ['runtime', 'Runtime']];

  const tabs = el('div', {class: 'tabs', role: 'tablist'});
  const dbSel = el('select', {id: 'engine-db', 'aria-label': 'database'});
  const body = el('div', {id: 'engine-body'});
  const status = el('span', {class: 'status'});
  main.append(el('h1', {text: 'Engine'}), tabs,
    el('div', {class: 'toolbar'}, el('label', {}, 'Database ', dbSel),
      el('button', {id: 'engine-refresh', onclick: () => show(state.tab)}, 'Refresh'), status), body);

  function fmt(v) {
    if (v === null || v === undefined) return '';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function bytes(n) {
    if (typeof n !== 'number') return fmt(n);
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return `${i ? n.toFixed(1) : n} ${u[i]}`;
  }
  // Key/value table of an object (nested objects as JSON).
  function kv(obj) {
    return el('div', {class: 'scroll'}, el('table', {class: 'kv'}, el('tbody', {},
      Object.entries(obj || {}).map(([k, v]) => el('tr', {}, el('td', {text: k}),
        el('td', {text: /bytes$/.test(k) ? bytes(v) : fmt(v)}))))));
  }
  // Table of objects; `extra(row)` may add a last cell.
  function table(rows, cols, extra) {
    rows = rows || [];
    if (!rows.length) return el('p', {class: 'muted', text: 'none'});
    cols = cols || Array.from(new Set(rows.flatMap((r) => Object.keys(r)))).filter((c) => typeof rows[0][c] !== 'object' || rows[0][c] === null);
    return el('div', {class: 'scroll'}, el('table', {},
      el('thead', {}, el('tr', {}, cols.map((c) => el('th', {text: c})), extra ? el('th', {text: ''}) : null)),
      el('tbody', {}, rows.map((r) => el('tr', {}, cols.map((c) => el('td', {text: /bytes$/.test(c) ? bytes(r[c]) : fmt(r[c])})),
        extra ? el('td', {}, extra(r)) : null)))));
  }
  function saveHash() {
    const p = new URLSearchParams({tab: state.tab});
    if (state.db) p.set('db', state.db);
    if (state.file) p.set('file', state.file);
    history.replaceState(null, '', '#' + p);
  }
  function needDb() {
    if (state.db) return false;
    body.append(el('p', {class: 'muted', text: 'No database yet.'}));
    return true;
  }

  const views = {
    async overview() {
      const d = await api('/api/engine/overview', {params: {include_internal: 'true'}});
      body.append(el('h2', {text: 'Databases'}),
        table(d.result, ['name', 'active', 'metric_count', 'open_pages', 'data_files', 'data_bytes', 'wal_files', 'wal_bytes']),
        el('h2', {text: 'Settings'}), kv(d.settings));
    },
    async database() {
      if (needDb()) return;
      const d = (await api('/api/engine/database', {params: {db: state.db}})).result;
      const s = d.summary || {};
      const filter = el('input', {type: 'search', placeholder: 'filter metrics…', id: 'metric-filter'});
      const holder = el('div', {});
      const draw = () => {
        const f = filter.value.toLowerCase();
        clear(holder).append(table((d.metrics || []).filter((m) => m.name.toLowerCase().includes(f)).slice(0, 500),
          ['name', 'id', 'type', 'last_timestamp', 'last_value']));
      };
      filter.addEventListener('input', draw);
      body.append(el('h2', {text: `Database ${s.name}`}),
        kv({metric_count: s.metric_count, active: s.active, open_pages: s.open_pages, data_files: s.data_files,
          data_bytes: s.data_bytes, wal_files: s.wal_files, wal_bytes: s.wal_bytes}),
        el('h2', {text: 'Manifest'}), kv(s.manifest), el('h2', {text: 'Metrics'}), filter, holder);
      draw();
    },
    async files() {
      if (needDb()) return;
      const d = (await api('/api/engine/files', {params: {db: state.db, data_file: state.file}})).result;
      const pagesOf = (d.data || []).find((f) => f.pages);
      // The layout of the metric file a build writes; blank = the server's [metrics].format.
      const format = el('select', {class: 'build-format', title: 'metric file format of a build'},
        el('option', {value: '', text: 'format: server default'}),
        ...['v1', 'v2', 'v3'].map((v) => el('option', {value: v, text: `format ${v}`})));
      body.append(el('h2', {text: 'Data files'}), format,
        table(d.data, ['path', 'part', 'active', 'bytes', 'frames', 'records', 'min_utc', 'max_utc', 'scan_error'], (f) =>
          el('span', {},
            el('button', {onclick: () => { state.file = f.path; saveHash(); show('files'); }}, 'Pages'), ' ',
            f.active ? el('span', {class: 'muted', text: 'open'}) :
              el('button', {class: 'build', 'data-part': f.part, onclick: () => build(f.part, format.value)}, 'Build metric file'))),
        el('h2', {text: pagesOf ? `Pages of ${pagesOf.path}` : 'Pages'}),
        table(pagesOf && pagesOf.pages, ['index', 'offset', 'frame_bytes', 'compressed_len', 'uncompressed_len', 'records', 'start_utc', 'end_utc', 'avg_disk_bytes_per_point']),
        el('h2', {text: 'Metric files'}), table(d.metric),
        el('h2', {text: 'WAL files'}), table(d.wal));
    },
    async wal() {
      if (needDb()) return;
      const [f, r] = (await Promise.all([
        api('/api/engine/files', {params: {db: state.db}}),
        api('/api/engine/runtime', {params: {db: state.db}}),
      ])).map((x) => x.result);
      const prev = r.wal_preview || {};
      const wal = ((r.runtime || {}).stats || {}).WAL || {};
      body.append(el('h2', {text: 'WAL files'}), table(f.wal),
        el('h2', {text: `Live WAL: ${prev.total || 0} records`}),
        table((prev.first || []).concat(prev.last || []), ['index', 'segment_id', 'metric_id', 'metric_name', 'timestamp', 'value_type', 'value']),
        el('h2', {text: 'Recent resets'}), table(wal.RecentFlushes),
        el('h2', {text: 'WAL counters'}), kv(Object.fromEntries(Object.entries(wal).filter(([k]) => k !== 'RecentFlushes'))));
    },
    async runtime() {
      const d = (await api('/api/engine/runtime')).result;
      body.append(el('h2', {text: 'Process'}), kv(Object.assign({database_count: d.database_count,
        active_database_count: d.active_database_count, metric_count: d.metric_count}, d.process)),
        el('h2', {text: 'Memory'}), kv(d.go_mem),
        el('h2', {text: 'Open pages'}), table(d.open_pages));
    },
  };

  async function build(part, format) {
    const as = format ? ` as ${format}` : '';
    if (!confirm(`Build the metric file of partition ${part} in ${state.db}${as}?`)) return;
    try {
      const req = format ? {db: state.db, part, format} : {db: state.db, part};
      const r = await api('/api/engine/compact_metric', {method: 'POST', body: req});
      status.textContent = `metric file built for ${part}${as}`;
      show('files');
      body.prepend(el('div', {class: 'widget'}, el('h3', {text: 'Build report'}), kv(r.result || r)));
    } catch (e) {
      showError(e.message);
    }
  }

  async function show(tab) {
    state.tab = views[tab] ? tab : 'overview';
    saveHash();
    tabs.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === state.tab)));
    clear(body);
    status.textContent = 'loading…';
    try {
      await views[state.tab]();
      status.textContent = `loaded ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      status.textContent = '';
      showError(e.message);
    }
    document.body.dataset.rendered = String(performance.now());
  }

  for (const [id, label] of TABS) tabs.append(el('button', {role: 'tab', 'data-tab': id, onclick: () => show(id)}, label));
  try {
    const d = await api('/api/v1/databases', {params: {include_internal: 'true'}});
    const names = d.result || [];
    dbSel.append(...names.map((n) => el('option', {value: n, text: n})));
    if (!names.includes(state.db)) state.db = names.find((n) => n !== 'internal') || names[0] || '';
    dbSel.value = state.db;
  } catch (e) {
    showError(e.message);
  }
  dbSel.addEventListener('change', () => { state.db = dbSel.value; state.file = ''; show(state.tab); });
  show(state.tab);
})();
