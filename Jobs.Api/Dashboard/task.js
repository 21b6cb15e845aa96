// One task: what it was called with, its result or exception and traceback, its retries, and the timeline of
// its events (GET /api/task/events/{id}); live while it runs.
import { api, throttle, escapeHtml, show, time, seconds, badge } from './core.js';

let id = null;
let canvasId = null; // known when the task was opened from its canvas's view
let refresh = null;

export async function render(main, params) {
  id = params.arg;
  canvasId = params.query.get('canvas');
  if (!id) {
    main.innerHTML = `<p class="muted">Choose a task on the <a href="#/tasks">Tasks</a> page.</p>`;
    return;
  }
  main.innerHTML = `<h1>Task <span class="mono">${escapeHtml(id)}</span></h1>
    <div class="panel" id="task-facts"><span class="muted">Loading…</span></div>
    <h2>Timeline</h2><div class="panel" id="task-timeline"><span class="muted">Loading…</span></div>`;
  refresh = throttle(load, 500);
  await load();
}

async function load() {
  const mine = id;
  const [info, events] = await Promise.allSettled([api(`api/task/info/${encodeURIComponent(id)}`), api(`api/task/events/${encodeURIComponent(id)}`)]);
  if (mine !== id || !document.getElementById('task-facts')) return;
  drawFacts(info);
  drawTimeline(events);
}

function drawFacts(info) {
  const facts = document.getElementById('task-facts');
  if (info.status === 'rejected') {
    facts.innerHTML = `<p class="error">${escapeHtml(info.reason.message)}</p>`;
    return;
  }
  const t = info.value;
  const rows = [
    ['Name', escapeHtml(t.name)], ['State', `<span id="task-state">${badge(t.state)}</span>`],
    ['Args', `<span class="mono">${escapeHtml(show(t.args))}</span>`], ['Kwargs', `<span class="mono">${escapeHtml(show(t.kwargs))}</span>`],
    ['Result', t.result === null || t.result === undefined ? '' : `<span class="mono" id="task-result">${escapeHtml(show(t.result))}</span>`],
    ['Exception', t.exception ? `<span class="mono error" id="task-exception">${escapeHtml(show(t.exception))}</span>` : ''],
    ['Retries', escapeHtml(t.retries ?? 0)], ['Worker', escapeHtml(t.worker ?? '')], ['Queue', escapeHtml(t.queue ?? '')],
    ['Received', time(t.received)], ['Started', time(t.started)],
    ['Finished', time(t.succeeded ?? t.failed ?? t.revoked)], ['Runtime', seconds(t.runtime)],
    ['ETA', escapeHtml(t.eta ?? '')], ['Expires', escapeHtml(t.expires ?? '')], ['Revoked', escapeHtml(t.revoked_reason ?? '')],
    ['Parent', link(t.parent_id ?? t.parent)], ['Root', link(t.root_id ?? t.root)],
    ['Canvas', (t.canvas_id ?? canvasId) ? `<a id="task-canvas" class="mono" href="#/canvas/${encodeURIComponent(t.canvas_id ?? canvasId)}">${escapeHtml(t.canvas_id ?? canvasId)}</a>` : ''],
    ['Children', Array.isArray(t.children) ? t.children.map(c => link(typeof c === 'string' ? c : c['task-id'] ?? c.uuid ?? c.id)).join(' ') : ''],
  ].filter(([, value]) => value !== '' && value !== undefined);
  const running = !['SUCCESS', 'FAILURE', 'REVOKED'].includes(t.state);
  facts.innerHTML = `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
    ${t.traceback ? `<h2>Traceback</h2><pre id="task-traceback">${escapeHtml(t.traceback)}</pre>` : ''}
    ${running ? `<p><button type="button" id="revoke-task" class="plain">Revoke</button></p>` : ''}`;
  const revoke = document.getElementById('revoke-task');
  if (revoke) revoke.addEventListener('click', async () => {
    revoke.disabled = true;
    await api(`api/task/revoke/${encodeURIComponent(id)}?terminate=true`, { method: 'POST' });
    refresh();
  });
}

function link(taskId) {
  return taskId ? `<a class="mono" href="#/task/${encodeURIComponent(taskId)}">${escapeHtml(taskId)}</a>` : '';
}

function drawTimeline(events) {
  const timeline = document.getElementById('task-timeline');
  if (events.status === 'rejected') {
    timeline.innerHTML = `<p class="muted">No events: ${escapeHtml(events.reason.message)}</p>`;
    return;
  }
  const list = Array.isArray(events.value) ? events.value : [];
  timeline.innerHTML = list.length === 0 ? `<p class="muted">No events recorded yet.</p>`
    : `<ol class="timeline">${list.map((e, i) => `<li class="${escapeHtml(e.type)}"><strong>${escapeHtml(e.type)}</strong>
        <span class="muted">${time(e.timestamp)}${e.hostname ? ' on ' + escapeHtml(e.hostname) : ''}</span>
        ${detail(e, i === 0)}</li>`).join('')}</ol>`;
}

function detail(e, first) {
  const parts = [];
  if (first && e.args !== undefined) parts.push('args ' + show(e.args));
  if (e.result !== undefined && e.result !== null) parts.push('result ' + show(e.result));
  if (e.exception) parts.push(show(e.exception));
  if (typeof e.runtime === 'number') parts.push('in ' + seconds(e.runtime));
  if (e.retries) parts.push('retry ' + e.retries);
  return parts.length ? `<div class="mono">${escapeHtml(parts.join(' · '))}</div>` : '';
}

export function onEvents(events) {
  if (events.some(e => e.uuid === id)) refresh();
}

export function dispose() {
  refresh && refresh.cancel();
  id = null;
}
