// Workers: every worker the cluster has seen, online or not, with its counters; live from worker events (each
// heartbeat carries the counters), fetched again every five seconds as well.
import { api, throttle, escapeHtml } from './core.js';
import { drawRates, legendHtml } from './charts.js';

let workers = new Map();
let refresh = null, poll = null, chartTimer = null;

/** Reads Flower's worker shape (stats.pool, active_queues, …) as well as flat fields. */
export function normalizeWorker(hostname, w) {
  const stats = w.stats || {};
  const pool = stats.pool || {};
  const flag = v => (typeof v === 'boolean' ? v : v === 'online' ? true : v === 'offline' ? false : undefined);
  const count = v => (Array.isArray(v) ? v.length : typeof v === 'number' ? v : undefined);
  const total = stats.total && typeof stats.total === 'object' ? Object.values(stats.total).reduce((a, b) => a + b, 0) : undefined;
  const queues = w.active_queues || w.queues || stats.queues || [];
  const load = w.loadavg ?? stats.loadavg ?? w.load;
  return {
    hostname,
    online: flag(w.status) ?? flag(w.online) ?? flag(w.active_status) ?? true,
    active: count(w.active) ?? count(stats.active) ?? 0,
    processed: w.processed ?? stats.processed ?? total ?? 0,
    succeeded: w.succeeded ?? stats.succeeded ?? '',
    failed: w.failed ?? stats.failed ?? '',
    retried: w.retried ?? stats.retried ?? '',
    concurrency: w.concurrency ?? pool['max-concurrency'] ?? stats.concurrency ?? '',
    queues: queues.map(q => (typeof q === 'string' ? q : q.name)).join(', '),
    load: Array.isArray(load) ? load.map(l => Number(l).toFixed(2)).join(' ') : load ?? '',
  };
}

async function load() {
  const body = await api('api/workers');
  const next = new Map();
  for (const [hostname, w] of Object.entries(body || {})) next.set(hostname, normalizeWorker(hostname, w));
  workers = next;
  draw();
}

function draw() {
  const table = document.getElementById('workers-body');
  if (!table) return;
  const rows = [...workers.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
  table.innerHTML = rows.length === 0
    ? `<tr><td colspan="10" class="muted">No workers yet.</td></tr>`
    : rows.map(w => `<tr data-worker="${escapeHtml(w.hostname)}">
        <td>${escapeHtml(w.hostname)}</td>
        <td class="status"><span class="badge ${w.online ? 'online' : 'offline'}">${w.online ? 'Online' : 'Offline'}</span></td>
        <td class="num active">${escapeHtml(w.active)}</td><td class="num">${escapeHtml(w.processed)}</td>
        <td class="num">${escapeHtml(w.succeeded)}</td><td class="num">${escapeHtml(w.failed)}</td><td class="num">${escapeHtml(w.retried)}</td>
        <td class="num">${escapeHtml(w.concurrency)}</td><td>${escapeHtml(w.queues)}</td><td class="mono">${escapeHtml(w.load)}</td></tr>`).join('');
  const online = rows.filter(w => w.online);
  const sum = key => online.reduce((a, w) => a + (Number(w[key]) || 0), 0);
  document.getElementById('worker-cards').innerHTML = [
    ['online', `${online.length} / ${rows.length}`], ['active', sum('active')], ['processed', sum('processed')],
    ['succeeded', sum('succeeded')], ['failed', sum('failed')], ['retried', sum('retried')],
  ].map(([label, value]) => `<div class="card"><div class="label">${label}</div><div class="value">${value}</div></div>`).join('');
}

export async function render(main) {
  main.innerHTML = `<h1>Workers</h1>
    <div class="cards" id="worker-cards"></div>
    <div class="panel"><canvas class="chart" id="workers-chart"></canvas>${legendHtml()}</div>
    <table><thead><tr><th>Worker</th><th>Status</th><th class="num">Active</th><th class="num">Processed</th><th class="num">Succeeded</th>
      <th class="num">Failed</th><th class="num">Retried</th><th class="num">Concurrency</th><th>Queues</th><th>Load</th></tr></thead>
      <tbody id="workers-body"></tbody></table>`;
  refresh = throttle(load, 1000);
  poll = setInterval(refresh, 5000);
  chartTimer = setInterval(() => drawRates(document.getElementById('workers-chart')), 1000);
  drawRates(document.getElementById('workers-chart'));
  await load();
}

/** A heartbeat carries the worker's counters, so its row is redrawn from it; an offline event only flips the status. */
export function onEvents(events) {
  let changed = false;
  for (const e of events) {
    if (e.type === 'worker-heartbeat' || e.type === 'worker-online') {
      workers.set(e.hostname, normalizeWorker(e.hostname, { ...e, status: true }));
      changed = true;
    } else if (e.type === 'worker-offline') {
      workers.set(e.hostname, { ...(workers.get(e.hostname) || normalizeWorker(e.hostname, {})), online: false });
      changed = true;
    }
  }
  if (changed) draw();
}

export function dispose() {
  clearInterval(poll);
  clearInterval(chartTimer);
  refresh && refresh.cancel();
}
