// The dashboard editor: groups, widgets and series as forms over the
// dashboard.json document; every change is validated by the server
// (POST /api/dashboard-config/validate) and each error is shown next to the
// field whose path it starts with; Preview draws the selected widget; Save
// PUTs the document.
'use strict';

(async () => {
  const {el, clear, api, showError} = NT;
  NT.markNav('editor');
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
  let selected = Object.keys(doc.widgets)[0] || '';
  let errors = [];
  const slots = new Map(); // path -> {box, errNode}

  const form = el('div', {id: 'editor-form'});
  const errList = el('ul', {class: 'errlist', id: 'errors-list'});
  const result = el('div', {id: 'save-result', class: 'status', role: 'status'});
  const preview = el('div', {id: 'preview', class: 'grid'});
  const json = el('textarea', {id: 'json', rows: 18, spellcheck: 'false', 'aria-label': 'document JSON'});
  json.classList.add('json');
  // Pasting a whole document (e.g. one written for v1.4.0) replaces the form.
  const applyJson = el('button', {id: 'apply-json', onclick: () => {
    try {
      const d = JSON.parse(json.value);
      if (!d || typeof d !== 'object' || Array.isArray(d)) throw new Error('the document must be a JSON object');
      doc = d;
      doc.groups = doc.groups || [];
      doc.widgets = doc.widgets || {};
      selected = Object.keys(doc.widgets)[0] || '';
      renderDoc(); changed();
    } catch (e) {
      showError(`JSON: ${e.message}`);
    }
  }}, 'Apply JSON');
  const saveBtn = el('button', {id: 'save', class: 'primary', onclick: save}, 'Save');
  main.append(el('h1', {text: 'Dashboard editor'}),
    el('div', {class: 'toolbar'}, saveBtn,
      el('button', {id: 'validate', onclick: () => validate(true)}, 'Validate'),
      el('button', {id: 'preview-btn', onclick: showPreview}, 'Preview widget'),
      el('a', {href: NT.cfg.basePath}, 'Open dashboard'), result),
    el('div', {class: 'editor'}, form,
      el('div', {}, el('h2', {text: 'Problems'}), errList, el('h2', {text: 'Preview'}), preview,
        el('details', {}, el('summary', {text: 'Document (JSON)'}), json, applyJson))));

  // --- fields -------------------------------------------------------------
  function slot(path, box) {
    const err = el('div', {class: 'err', 'data-error-for': path});
    box.append(err);
    slots.set(path, {box, err});
    return box;
  }
  // A text/number/select input bound to obj[key]; path names it for errors.
  function field(labelText, path, obj, key, opts = {}) {
    let input;
    const cur = obj[key];
    if (opts.options) {
      input = el('select', {}, opts.options.map((o) => el('option', {value: o, text: o || '(none)'})));
      input.value = cur ?? '';
    } else if (opts.checkbox) {
      input = el('input', {type: 'checkbox', checked: cur !== false});
    } else {
      input = el('input', {type: opts.number ? 'number' : 'text', value: cur ?? '', step: opts.number ? 'any' : undefined,
        placeholder: opts.placeholder});
    }
    input.name = path;
    input.dataset.path = path;
    input.addEventListener(opts.options || opts.checkbox ? 'change' : 'input', () => {
      let v = opts.checkbox ? input.checked : input.value;
      if (opts.number) v = v === '' ? undefined : Number(v);
      if (opts.list) v = v.split(',').map((x) => x.trim()).filter(Boolean);
      if (v === '' || v === undefined || (opts.checkbox && v === true)) delete obj[key];
      else obj[key] = v;
      if (opts.onchange) opts.onchange(v);
      changed();
    });
    if (opts.list && Array.isArray(cur)) input.value = cur.join(', ');
    return slot(path, el('label', {class: 'field'}, el('span', {text: labelText}), input));
  }
  function sub(obj, key) {
    if (!obj[key] || typeof obj[key] !== 'object') obj[key] = {};
    return obj[key];
  }

  // --- sections -----------------------------------------------------------
  function renderDoc() {
    slots.clear();
    clear(form);
    form.append(el('fieldset', {}, el('legend', {text: 'Dashboard'}), el('div', {class: 'fields'},
      field('Title', 'title', doc, 'title'),
      field('Default database', 'default_db', doc, 'default_db'))));
    const groups = slot('groups', el('fieldset', {}, el('legend', {text: 'Groups (tabs)'})));
    doc.groups.forEach((g, i) => {
      groups.append(el('div', {class: 'fields group', 'data-group-index': i},
        field('Id', `groups.${i}.id`, g, 'id'),
        field('Label', `groups.${i}.label`, g, 'label'),
        field('Widgets (ids, comma separated)', `groups.${i}.widgets`, g, 'widgets', {list: true}),
        el('button', {class: 'danger', onclick: () => { doc.groups.splice(i, 1); renderDoc(); changed(); }}, 'Remove group')));
    });
    groups.append(el('button', {id: 'add-group', onclick: () => {
      doc.groups.push({id: `group${doc.groups.length + 1}`, label: '', widgets: []});
      renderDoc(); changed();
    }}, 'Add group'));
    form.append(groups, renderWidgets());
    markErrors();
  }

  function renderWidgets() {
    const box = el('fieldset', {}, el('legend', {text: 'Widgets'}));
    const ids = Object.keys(doc.widgets).sort();
    const pick = el('select', {id: 'widget-select', 'aria-label': 'widget'}, ids.map((id) => el('option', {value: id, text: id})));
    pick.value = selected;
    pick.addEventListener('change', () => { selected = pick.value; renderDoc(); });
    const newId = el('input', {id: 'new-widget-id', placeholder: 'new widget id'});
    box.append(el('div', {class: 'toolbar'}, pick, newId,
      el('button', {id: 'add-widget', onclick: () => {
        const id = newId.value.trim();
        if (!id || doc.widgets[id]) { showError(id ? `widget ${id} exists already` : 'enter a widget id'); return; }
        doc.widgets[id] = {type: 'line_chart', title: id, lookback: '1h', interval: '1m', series: [{metric: ''}]};
        const g = doc.groups.find((x) => x.id === (new URLSearchParams(location.hash.slice(1)).get('tab'))) || doc.groups[0];
        if (g) (g.widgets = g.widgets || []).push(id);
        selected = id;
        renderDoc(); changed();
      }}, 'Add widget'),
      el('button', {class: 'danger', onclick: () => {
        delete doc.widgets[selected];
        doc.groups.forEach((g) => { g.widgets = (g.widgets || []).filter((x) => x !== selected); });
        selected = Object.keys(doc.widgets)[0] || '';
        renderDoc(); changed();
      }}, 'Delete widget')));
    const w = doc.widgets[selected];
    if (!w) return box;
    w.series = w.series || [];
    const p = `widgets.${selected}`;
    // Renaming a widget renames its references in the groups too.
    const idIn = el('input', {id: 'widget-id', value: selected, 'aria-label': 'widget id'});
    idIn.addEventListener('change', () => {
      const id = idIn.value.trim();
      if (id === selected) return;
      if (!id || doc.widgets[id]) { showError(id ? `widget ${id} exists already` : 'a widget id must not be empty'); idIn.value = selected; return; }
      const renamed = {};
      for (const [k, v] of Object.entries(doc.widgets)) renamed[k === selected ? id : k] = v;
      doc.widgets = renamed;
      doc.groups.forEach((g) => { g.widgets = (g.widgets || []).map((x) => (x === selected ? id : x)); });
      selected = id;
      renderDoc(); changed();
    });
    box.append(el('div', {class: 'fields'},
      el('label', {class: 'field'}, el('span', {text: 'Id'}), idIn),
      field('Type', `${p}.type`, w, 'type', {options: ['number', 'numbers', 'line_chart', 'aggregate_band']}),
      field('Title', `${p}.title`, w, 'title'),
      field('Lookback', `${p}.lookback`, w, 'lookback', {placeholder: '1h'}),
      field('Interval', `${p}.interval`, w, 'interval', {placeholder: '1m'}),
      field('Presentation', `${p}.presentation`, w, 'presentation', {options: ['', 'aggregate_band']}),
      field('Refresh (s)', `${p}.refresh_sec`, w, 'refresh_sec', {number: true}),
      field('Auto refresh', `${p}.auto_refresh`, w, 'auto_refresh', {checkbox: true})));
    const series = slot(`${p}.series`, el('div', {}));
    w.series.forEach((s, i) => series.append(renderSeries(w, s, `${p}.series.${i}`, i)));
    series.append(el('button', {id: 'add-series', onclick: () => { w.series.push({metric: ''}); renderDoc(); changed(); }}, 'Add series'));
    box.append(series);
    return box;
  }

  function renderSeries(w, s, p, i) {
    const tf = sub(s, 'transform');
    const th = sub(s, 'thresholds');
    return el('fieldset', {class: 'series', 'data-series': i}, el('legend', {text: `Series ${i + 1}`}),
      el('div', {class: 'fields'},
        field('Label', `${p}.label`, s, 'label'),
        field('Database', `${p}.db`, s, 'db'),
        field('Metric', `${p}.metric`, s, 'metric'),
        field('Query', `${p}.query`, s, 'query'),
        field('Measurement', `${p}.measurement`, s, 'measurement'),
        field('Field', `${p}.field`, s, 'field'),
        field('Aggregate', `${p}.aggregate`, s, 'aggregate', {placeholder: 'e.g. avg'}),
        field('Window', `${p}.window`, s, 'window', {placeholder: 'e.g. 1m'}),
        field('Role', `${p}.role`, s, 'role', {options: ['', 'min', 'avg', 'max']}),
        field('Factor', `${p}.transform.factor`, tf, 'factor', {number: true}),
        field('Unit', `${p}.transform.unit`, tf, 'unit'),
        field('Decimals', `${p}.transform.decimals`, tf, 'decimals', {number: true}),
        field('Threshold direction', `${p}.thresholds.direction`, th, 'direction', {options: ['', 'above', 'below']}),
        field('Warning', `${p}.thresholds.warning`, th, 'warning', {number: true}),
        field('Critical', `${p}.thresholds.critical`, th, 'critical', {number: true})),
      el('button', {class: 'danger', onclick: () => { w.series.splice(i, 1); renderDoc(); changed(); }}, 'Remove series'));
  }

  // --- validation ---------------------------------------------------------
  // Empty transform/thresholds objects are dropped before sending.
  function cleaned() {
    const d = JSON.parse(JSON.stringify(doc));
    for (const w of Object.values(d.widgets || {})) {
      for (const s of w.series || []) {
        for (const k of ['transform', 'thresholds']) {
          if (s[k] && Object.keys(s[k]).length === 0) delete s[k];
        }
      }
    }
    return d;
  }
  function markErrors() {
    for (const {box, err} of slots.values()) { err.textContent = ''; box.classList.remove('invalid'); }
    clear(errList);
    for (const e of errors) {
      errList.append(el('li', {text: e}));
      const path = e.slice(0, Math.max(0, e.indexOf(': ')));
      // The longest known path the error starts with.
      let best = null;
      for (const key of slots.keys()) {
        if ((path === key || path.startsWith(key + '.')) && (!best || key.length > best.length)) best = key;
      }
      if (best) {
        const s = slots.get(best);
        s.err.textContent = s.err.textContent ? `${s.err.textContent}; ${e.slice(path.length + 2)}` : e.slice(path.length + 2);
        s.box.classList.add('invalid');
      }
    }
    if (!errors.length) errList.append(el('li', {class: 'ok', text: 'No problems.'}));
    if (document.activeElement !== json) json.value = JSON.stringify(cleaned(), null, 2);
  }
  let timer = null;
  function changed() {
    result.textContent = 'unsaved changes';
    clearTimeout(timer);
    timer = setTimeout(() => validate(false), 300);
  }
  async function validate(announce) {
    try {
      const r = await api('/api/dashboard-config/validate', {method: 'POST', body: cleaned(), raw: true});
      if (r.data && Array.isArray(r.data.errors)) errors = r.data.errors;
      else if (r.ok) errors = [];
      else throw new Error(`validate: ${r.text.trim()} (HTTP ${r.status})`);
      markErrors();
      if (announce) result.textContent = errors.length ? `${errors.length} problem(s)` : 'valid';
      return errors.length === 0;
    } catch (e) {
      showError(e.message);
      return false;
    }
  }
  function showPreview() {
    clear(preview);
    const w = doc.widgets[selected];
    if (!w) return;
    const box = NTW.create(selected, JSON.parse(JSON.stringify(w)), cleaned());
    preview.append(box.node);
    box.refresh();
  }
  async function save() {
    try {
      const r = await api('/api/dashboard-config', {method: 'PUT', body: cleaned(), raw: true});
      if (r.status === 400 && r.data && r.data.errors) {
        errors = r.data.errors;
        markErrors();
        result.textContent = `not saved: ${errors.length} problem(s)`;
        return;
      }
      if (!r.ok) throw new Error(`save: ${(r.data && r.data.error) || r.text.trim()} (HTTP ${r.status})`);
      errors = [];
      markErrors();
      result.textContent = r.data.backup_path ? `saved (previous version kept in ${r.data.backup_path})` : 'saved';
      result.dataset.saved = '1';
    } catch (e) {
      result.textContent = 'not saved';
      showError(e.message);
    }
  }

  // A save refused for want of the token is retried once it is entered,
  // without losing the edits.
  NT.onToken(() => { result.textContent = 'token set: press Save again'; });

  renderDoc();
  await validate(false);
  document.body.dataset.rendered = String(performance.now());
})();
