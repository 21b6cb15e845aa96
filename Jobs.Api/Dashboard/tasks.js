// Tasks: the server pages, sorts and filters (GET /api/tasks); the page shows one page and keeps it live:
// rows on screen change state as events arrive, and the page is fetched again at most once a second.
import { api, throttle, escapeHtml, show, time, shortTime, seconds, badge, supersedes, setQuery } from './core.js';

const STATES = ['PENDING', 'RECEIVED', 'STARTED', 'SUCCESS', 'FAILURE', 'RETRY', 'REVOKED'];
const COLUMNS = [
  ['name', 'Name'], ['uuid', 'UUID'], ['state', 'State'], ['args', 'Args'], ['result', 'Result'],
  ['received', 'Received'], ['started', 'Started'], ['runtime', 'Runtime'], ['worker', 'Worker'],
];
const SORTABLE = new Set(['name', 'state', 'received', 'started', 'runtime', 'worker']);

let query = new URLSearchParams();
let refresh = null;
let settle = null; // one more load after events stop: the index may record the last ones after the throttled load ran
let shown = new Map(); // uuid -> row element
let generation = 0;

const limit = () => Number(query.get('limit')) || 20;
const offset = () => Math.max(0, Number(query.get('offset')) || 0);
const sortBy = () => query.get('sort_by') || '-received';

export async function render(main, params) {
  query = params.query;
  main.innerHTML = `<h1>Tasks</h1>
    <form class="filters" id="task-filters" autocomplete="off">
      <label>State <select name="state"><option value="">all</option>${STATES.map(s => `<option>${s}</option>`).join('')}</select></label>
      <label>Task <select name="taskname"><option value="">all</option></select></label>
      <label>Worker <select name="workername"><option value="">all</option></select></label>
      <label>Search <input name="search" type="search" placeholder="id, name, args, result"></label>
      <label>Received from <input name="received_start" type="datetime-local"></label>
      <label>to <input name="received_end" type="datetime-local"></label>
      <label>Per page <select name="limit"><option>20</option><option>50</option><option>100</option></select></label>
      <button type="submit">Apply</button>
      <button type="button" class="plain" id="clear-filters">Clear</button>
    </form>
    <table id="tasks-table"><thead><tr>${COLUMNS.map(([key, label]) =>
      `<th data-key="${key}" class="${SORTABLE.has(key) ? 'sortable' : ''}${key === 'runtime' ? ' num' : ''}">${label}</th>`).join('')}</tr></thead>
      <tbody id="tasks-body"><tr><td colspan="9" class="muted">Loading…</td></tr></tbody></table>
    <div class="pager"><button type="button" id="prev-page" class="plain">‹ Prev</button>
      <span id="page-info"></span><button type="button" id="next-page" class="plain">Next ›</button></div>`;

  const form = document.getElementById('task-filters');
  form.addEventListener('submit', e => { e.preventDefault(); apply(form); });
  form.querySelectorAll('select').forEach(s => s.addEventListener('change', () => apply(form)));
  document.getElementById('clear-filters').addEventListener('click', () => setQuery({ sort_by: query.get('sort_by') || '', limit: query.get('limit') || '' }));
  document.getElementById('prev-page').addEventListener('click', () => page(-1));
  document.getElementById('next-page').addEventListener('click', () => page(+1));
  document.querySelectorAll('#tasks-table th.sortable').forEach(th => th.addEventListener('click', () => {
    const key = th.dataset.key;
    const next = sortBy() === '-' + key ? key : '-' + key;
    setQuery({ ...Object.fromEntries(query), sort_by: next, offset: '' });
  }));
  refresh = throttle(load, 1000);
  fillChoices();
  showFilters();
  await load();
}

export async function update(params) {
  query = params.query;
  showFilters();
  await load();
}

/** The date inputs are in the browser's time; the API takes Flower's "YYYY-MM-DD HH:MM" in UTC. */
function toUtc(local) {
  const date = new Date(local);
  return isNaN(date) ? local : date.toISOString().slice(0, 16).replace('T', ' ');
}

function toLocal(utc) {
  const date = new Date(utc.replace(' ', 'T') + 'Z');
  if (isNaN(date)) return '';
  const pad = n => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function apply(form) {
  const data = Object.fromEntries(new FormData(form));
  for (const key of ['received_start', 'received_end']) if (data[key]) data[key] = toUtc(data[key]);
  setQuery({ ...data, sort_by: query.get('sort_by') || '', offset: '' });
}

function page(direction) {
  setQuery({ ...Object.fromEntries(query), offset: String(Math.max(0, offset() + direction * limit())) });
}

function showFilters() {
  const form = document.getElementById('task-filters');
  for (const element of form.elements) {
    if (!element.name) continue;
    const value = query.get(element.name) || '';
    element.value = element.type === 'datetime-local' ? (value ? toLocal(value) : '') : value;
    if (element.name === 'limit' && !value) element.value = '20';
  }
  document.querySelectorAll('#tasks-table th.sortable').forEach(th => {
    th.classList.toggle('sorted-asc', sortBy() === th.dataset.key);
    th.classList.toggle('sorted-desc', sortBy() === '-' + th.dataset.key);
  });
}

/** The task names and worker names for the filter menus; a value already chosen stays chosen. */
async function fillChoices() {
  const [types, workers] = await Promise.allSettled([api('api/task/types'), api('api/workers')]);
  const fill = (name, values) => {
    const select = document.querySelector(`#task-filters select[name="${name}"]`);
    if (!select) return;
    const chosen = query.get(name) || '';
    const all = [...new Set([...values, ...(chosen ? [chosen] : [])])].sort();
    select.innerHTML = `<option value="">all</option>` + all.map(v => `<option>${escapeHtml(v)}</option>`).join('');
    select.value = chosen;
  };
  if (types.status === 'fulfilled') fill('taskname', types.value['task-types'] || []);
  if (workers.status === 'fulfilled') fill('workername', Object.keys(workers.value || {}));
}

async function load() {
  const mine = ++generation;
  const params = new URLSearchParams({ limit: String(limit()), offset: String(offset()), sort_by: sortBy() });
  for (const key of ['state', 'taskname', 'workername', 'search', 'received_start', 'received_end']) {
    const value = query.get(key);
    if (value) params.set(key, value);
  }
  const response = await api('api/tasks?' + params, { raw: true });
  const body = await response.json().catch(() => null);
  if (mine !== generation || !document.getElementById('tasks-body')) return; // a newer request or another page won
  if (!response.ok) {
    document.getElementById('tasks-body').innerHTML =
      `<tr><td colspan="9" class="error">${escapeHtml((body && body.error) || response.status + ' ' + response.statusText)}</td></tr>`;
    return;
  }
  const rows = Object.entries(body || {}).map(([uuid, t]) => ({ uuid, ...t }));
  const header = response.headers.get('X-Total-Count');
  const total = header === null ? null : Number(header);
  draw(rows, total);
}

function draw(rows, total) {
  const body = document.getElementById('tasks-body');
  body.innerHTML = rows.length === 0
    ? `<tr><td colspan="9" class="muted">No tasks match.</td></tr>`
    : rows.map(t => `<tr data-uuid="${escapeHtml(t.uuid)}">
        <td class="name">${escapeHtml(t.name)}</td>
        <td class="mono nowrap"><a href="#/task/${encodeURIComponent(t.uuid)}">${escapeHtml(t.uuid)}</a></td>
        <td class="state">${badge(t.state)}</td>
        <td class="clip mono" title="${escapeHtml(show(t.args))}">${escapeHtml(show(t.args))}</td>
        <td class="clip mono result" title="${escapeHtml(show(t.result ?? t.exception))}">${escapeHtml(show(t.result ?? t.exception))}</td>
        <td class="received nowrap" title="${time(t.received)}">${shortTime(t.received)}</td>
        <td class="started nowrap" title="${time(t.started)}">${shortTime(t.started)}</td>
        <td class="num runtime nowrap">${seconds(t.runtime)}</td><td class="worker">${escapeHtml(t.worker ?? t.hostname)}</td></tr>`).join('');
  shown = new Map([...body.querySelectorAll('tr[data-uuid]')].map(tr => [tr.dataset.uuid, tr]));
  const first = rows.length ? offset() + 1 : 0, last = offset() + rows.length;
  document.getElementById('page-info').textContent =
    rows.length === 0 ? `0 of ${total ?? 0}` : total === null ? `${first}–${last}` : `${first}–${last} of ${total}`;
  document.getElementById('prev-page').disabled = offset() === 0;
  document.getElementById('next-page').disabled = total === null ? rows.length < limit() : last >= total;
}

/** Rows on screen take the new state at once; whether new tasks belong on this page the server says, a second later. */
export function onEvents(events) {
  let relevant = false;
  for (const e of events) {
    if (!e.type || !e.type.startsWith('task-')) continue;
    relevant = true;
    const row = shown.get(e.uuid);
    if (!row) continue;
    const cell = row.querySelector('.state');
    if (supersedes(e.state, cell.textContent)) cell.innerHTML = badge(e.state);
    if (e.type === 'task-started') row.querySelector('.started').textContent = shortTime(e.timestamp);
    if (e.type === 'task-succeeded' && e.result !== undefined) row.querySelector('.result').textContent = show(e.result);
    if (e.type === 'task-failed' && e.exception !== undefined) row.querySelector('.result').textContent = show(e.exception);
    if (typeof e.runtime === 'number') row.querySelector('.runtime').textContent = seconds(e.runtime);
    if (e.hostname && e.type !== 'task-received') row.querySelector('.worker').textContent = e.hostname;
  }
  if (!relevant) return;
  refresh();
  clearTimeout(settle);
  settle = setTimeout(refresh, 2500);
}

export function dispose() {
  refresh && refresh.cancel();
  clearTimeout(settle);
  shown = new Map();
  generation++;
}
