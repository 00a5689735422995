// streamtune dashboard client: live charts (uPlot), evidence charts, Apply/Dismiss with live
// operation steps. Loaded as a module from /assets/js/app.js (CSP: 'self' scripts only).
// Data comes from data-* attributes and from JSON endpoints of the dashboard itself.

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'ROLLED_BACK', 'INEFFECTIVE', 'UNVERIFIED']);
const PALETTE = ['#1f5fbf', '#c53030', '#1f8a4c', '#b7791f', '#6b46c1', '#0b7285', '#d53f8c', '#4a5568', '#2f855a', '#dd6b20'];

/** Counts the non-null y values of uPlot data ([x, ...ys]). */
function countPoints(data) {
  let n = 0;
  for (let i = 1; i < data.length; i++) for (const v of data[i]) if (v !== null && v !== undefined) n++;
  return n;
}

/** Creates or updates a uPlot chart inside `el`; records the point count in data-points. */
function plot(el, key, series, data, opts = {}) {
  el.dataset.points = String(countPoints(data));
  if (typeof window.uPlot !== 'function') return;
  const width = Math.max(320, el.clientWidth || 800);
  const existing = el._uplot;
  if (existing && existing._key === key) {
    existing.setData(data);
    return;
  }
  if (existing) existing.destroy();
  const u = new window.uPlot(
    {
      width,
      height: opts.height ?? 220,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }))],
      axes: [{}, { size: 70 }],
      scales: opts.noTime ? { x: { time: false } } : {},
      legend: { show: true },
    },
    data,
    el,
  );
  u._key = key;
  el._uplot = u;
}

// ---- job page: live lag and throughput charts ----
function initJobCharts(root) {
  let range = root.dataset.range || '5m';
  const url = root.dataset.chartsUrl;
  const pollMs = Number(root.dataset.pollMs || 5000);
  const byName = (n) => root.querySelector(`[data-chart="${n}"]`);
  const updated = root.querySelector('[data-updated]');
  let timer;
  async function refresh() {
    clearTimeout(timer);
    try {
      const res = await fetch(`${url}?range=${encodeURIComponent(range)}`, { credentials: 'same-origin' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const c = await res.json();
      plot(byName('lag'), 'lag', [{ label: 'total lag (records)' }], [c.lag.t, c.lag.total]);
      const parts = c.lag.partitions;
      plot(byName('partitions'), `partitions:${parts.map((p) => p.label).join(',')}`, parts.map((p) => ({ label: p.label })), [c.lag.t, ...parts.map((p) => p.values)]);
      plot(byName('seconds'), 'seconds', [{ label: 'max lag (s)' }], [c.lag.t, c.lag.seconds]);
      plot(byName('throughput'), 'throughput', [{ label: 'records/s' }], [c.throughput.t, c.throughput.values]);
      if (updated) updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
      root.dataset.loaded = 'true';
    } catch (err) {
      if (updated) updated.textContent = `update failed: ${err.message}`;
    }
    timer = setTimeout(refresh, pollMs);
  }
  for (const b of root.querySelectorAll('button[data-range]')) {
    b.addEventListener('click', () => {
      range = b.dataset.range;
      root.dataset.range = range;
      for (const o of root.querySelectorAll('button[data-range]')) o.classList.toggle('active', o === b);
      const u = new URL(window.location.href);
      u.searchParams.set('range', range);
      window.history.replaceState(null, '', u);
      void refresh();
    });
  }
  void refresh();
}

// ---- diagnosis page: evidence charts ----
function initEvidence(el) {
  try {
    const d = JSON.parse(el.dataset.evidence);
    const x = d.t ?? d.v.map((_, i) => i);
    plot(el, 'evidence', [{ label: el.closest('.evidence-chart')?.querySelector('h4')?.textContent ?? 'value' }], [x, d.v], { height: 140, noTime: !d.t });
  } catch {
    el.textContent = 'evidence not plottable';
  }
}

// ---- operations: live steps ----
function renderOperation(box, op) {
  box.hidden = false;
  const link = box.querySelector('[data-op-link]');
  if (link) { link.href = `/operations/${encodeURIComponent(op.id)}`; link.textContent = op.id; }
  const state = box.querySelector('[data-op-state]');
  if (state) { state.textContent = op.state; state.className = `badge ${op.stateClass}`; state.dataset.state = op.state; }
  const body = box.querySelector('[data-op-steps]');
  if (body) {
    body.replaceChildren(
      ...op.steps.map((s) => {
        const tr = document.createElement('tr');
        tr.className = `step-${s.status}`;
        for (const v of [s.name, s.status, s.took, s.message]) {
          const td = document.createElement('td');
          td.textContent = v;
          tr.append(td);
        }
        return tr;
      }),
    );
  }
  const ver = box.querySelector('[data-op-verification]');
  if (ver) {
    const parts = [];
    if (op.downtime && op.downtime !== '–') parts.push(`downtime ${op.downtime}`);
    if (op.verification) parts.push(`verification: ${op.verification.effective ? 'effective' : op.verification.unverified ? 'not verified (needs a look)' : 'not effective'} — ${op.verification.reason}`);
    if (op.forecast && op.verification) parts.push(`lag under one minute of input: forecast ${op.forecast.forecast}, actual ${op.forecast.actual}`);
    if (op.error) parts.push(`error: ${op.error}`);
    ver.textContent = parts.join(' · ');
  }
}

async function pollOperation(id, onUpdate) {
  for (;;) {
    try {
      const res = await fetch(`/operations/${encodeURIComponent(id)}.json`, { credentials: 'same-origin' });
      if (res.ok) {
        const op = await res.json();
        onUpdate(op);
        if (TERMINAL.has(op.state)) return op;
      }
    } catch { /* keep polling */ }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function post(url) {
  const res = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken, accept: 'application/json' },
    body: '{}',
  });
  let body = null;
  try { body = await res.json(); } catch { /* no body */ }
  if (!res.ok) {
    const msg = body?.error?.message ?? body?.message ?? `HTTP ${res.status}`;
    const hint = res.status === 401 || res.status === 403 ? ' — log in first' : '';
    throw new Error(`${msg}${hint}`);
  }
  return body;
}

function initRecommendations() {
  const dialog = document.getElementById('confirm-apply');
  const change = document.getElementById('confirm-change');
  let pending = null;
  dialog?.addEventListener('close', async () => {
    const btn = pending;
    pending = null;
    if (!btn || dialog.returnValue !== 'confirm') return;
    const rec = btn.closest('.recommendation');
    const err = rec.querySelector('[data-error]');
    err.hidden = true;
    btn.disabled = true;
    rec.querySelector('[data-dismiss]')?.setAttribute('disabled', '');
    try {
      const body = await post(`/api/v1/recommendations/${encodeURIComponent(btn.dataset.apply)}/apply`);
      const op = body?.operation ?? body;
      rec.dataset.status = 'applied';
      const status = rec.querySelector('[data-rec-status]');
      if (status) status.textContent = 'applied';
      const box = rec.querySelector('[data-op-live]');
      renderOperation(box, { stateClass: 'running', steps: [], ...op });
      const final = await pollOperation(op.id, (o) => renderOperation(box, o));
      rec.dataset.operationState = final.state;
    } catch (e) {
      err.textContent = `Apply failed: ${e.message}`;
      err.hidden = false;
      btn.disabled = false;
      rec.querySelector('[data-dismiss]')?.removeAttribute('disabled');
    }
  });
  for (const btn of document.querySelectorAll('button[data-apply]')) {
    btn.addEventListener('click', () => {
      pending = btn;
      change.textContent = btn.dataset.change;
      dialog.returnValue = '';
      dialog.showModal();
    });
  }
  for (const btn of document.querySelectorAll('button[data-dismiss]')) {
    btn.addEventListener('click', async () => {
      const rec = btn.closest('.recommendation');
      const err = rec.querySelector('[data-error]');
      btn.disabled = true;
      try {
        await post(`/api/v1/recommendations/${encodeURIComponent(btn.dataset.dismiss)}/dismiss`);
        rec.dataset.status = 'dismissed';
        const status = rec.querySelector('[data-rec-status]');
        if (status) status.textContent = 'dismissed';
        rec.querySelector('[data-apply]')?.remove();
        btn.remove();
      } catch (e) {
        err.textContent = `Dismiss failed: ${e.message}`;
        err.hidden = false;
        btn.disabled = false;
      }
    });
  }
}

function initOperationPage(root) {
  if (root.dataset.terminal === 'true') return;
  void pollOperation(root.dataset.opId, (op) => {
    const badge = document.getElementById('op-state');
    if (badge && badge.dataset.state !== op.state && TERMINAL.has(op.state)) window.location.reload();
    if (badge) { badge.textContent = op.state; badge.dataset.state = op.state; }
    const body = root.querySelector('table[data-op-steps] tbody');
    if (body) {
      body.replaceChildren(...op.steps.map((s) => {
        const tr = document.createElement('tr');
        tr.className = `step-${s.status}`;
        for (const v of [s.name, s.status, s.started, s.took, s.message]) { const td = document.createElement('td'); td.textContent = v; tr.append(td); }
        return tr;
      }));
    }
  });
}

const charts = document.getElementById('charts');
if (charts) initJobCharts(charts);
for (const el of document.querySelectorAll('[data-evidence]')) initEvidence(el);
initRecommendations();
const opRoot = document.getElementById('operation');
if (opRoot) initOperationPage(opRoot);
const auto = document.querySelector('[data-autoreload]');
if (auto) setTimeout(() => window.location.reload(), Number(auto.dataset.autoreload) || 10000);
