// The dashboard page: dashboard.json's groups as tabs of widgets, a
// time-range picker, refresh-all and auto-refresh with pause.
'use strict';

(async () => {
  const {el, clear, api, cfg, showError} = NT;
  NT.markNav('dashboard');
  const main = document.getElementById('main');
  let doc;
  try {
    doc = await api('/api/dashboard-config');
  } catch (e) {
    showError(`Cannot load the dashboard: ${e.message}`);
    return;
  }
  doc.groups = doc.groups || [];
  doc.widgets = doc.widgets || {};
  if (doc.title) document.title = doc.title;

  const params = new URLSearchParams(location.hash.slice(1));
  const rangeSel = el('select', {id: 'range', 'aria-label': 'time range'},
    ['', '15m', '1h', '6h', '24h', '7d', '30d'].map((r) =>
      el('option', {value: r, text: r ? `last ${r}` : 'widget lookback'})));
  rangeSel.value = params.get('range') || '';
  const refreshBtn = el('button', {id: 'refresh-all', class: 'primary'}, 'Refresh all');
  const pauseBtn = el('button', {id: 'pause', 'aria-pressed': 'false'}, 'Pause auto-refresh');
  const status = el('span', {class: 'status', id: 'refresh-status'});
  const tabs = el('div', {class: 'tabs', role: 'tablist'});
  const grid = el('div', {class: 'grid', id: 'widgets'});
  main.append(el('h1', {class: 'page-title', text: doc.title || cfg.title}),
    el('div', {class: 'toolbar'}, el('label', {}, 'Range ', rangeSel), refreshBtn, pauseBtn, status),
    tabs, grid);

  let current = [];
  let paused = false;
  let timers = [];
  let active = params.get('tab') || (doc.groups[0] && doc.groups[0].id);

  function saveHash() {
    const p = new URLSearchParams();
    if (active) p.set('tab', active);
    if (rangeSel.value) p.set('range', rangeSel.value);
    history.replaceState(null, '', '#' + p.toString());
  }

  async function refreshAll() {
    const t0 = performance.now();
    await Promise.all(current.map((w) => w.refresh(rangeSel.value)));
    status.textContent = `refreshed ${new Date().toLocaleTimeString()} in ${Math.round(performance.now() - t0)} ms`;
  }

  function schedule() {
    timers.forEach(clearInterval);
    timers = [];
    if (paused) return;
    // Widgets with their own refresh_sec run on their own timer; the rest
    // follow the page's refresh_seconds. auto_refresh: false opts out.
    const page = [];
    for (const w of current) {
      if (w.widget.auto_refresh === false) continue;
      if (w.widget.refresh_sec > 0) timers.push(setInterval(() => w.refresh(rangeSel.value), w.widget.refresh_sec * 1000));
      else page.push(w);
    }
    if (page.length) {
      timers.push(setInterval(() => Promise.all(page.map((w) => w.refresh(rangeSel.value))), (cfg.refreshSeconds || 10) * 1000));
    }
  }

  function show(groupId) {
    const g = doc.groups.find((x) => x.id === groupId) || doc.groups[0];
    if (!g) {
      clear(grid).append(el('p', {class: 'muted', text: 'This dashboard has no groups yet: add one in the editor.'}));
      return;
    }
    active = g.id;
    tabs.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.group === g.id)));
    clear(grid);
    current = (g.widgets || []).filter((id) => doc.widgets[id]).map((id) => NTW.create(id, doc.widgets[id], doc));
    current.forEach((w) => grid.append(w.node));
    saveHash();
    refreshAll().then(() => { document.body.dataset.rendered = String(performance.now()); });
    schedule();
  }

  for (const g of doc.groups) {
    tabs.append(el('button', {role: 'tab', 'data-group': g.id, onclick: () => show(g.id)}, g.label || g.id));
  }
  refreshBtn.addEventListener('click', refreshAll);
  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume auto-refresh' : 'Pause auto-refresh';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    schedule();
  });
  rangeSel.addEventListener('change', () => { saveHash(); refreshAll(); });
  show(active);
})();
