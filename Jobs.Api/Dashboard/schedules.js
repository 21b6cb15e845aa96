// Schedules: every periodic entry (GET /api/schedules) with its schedule in words and as cron, its next five run
// times in the entry's zone and the viewer's, the last run with its state (linked to the task), a paused badge, and
// pause / resume / run-now buttons. Fetched again on beat-tick events and every five seconds. No inline script or
// handlers: one delegated listener, so the page keeps working under a strict Content-Security-Policy.
import { api, throttle, escapeHtml, badge } from './core.js';

let poll = null, refresh = null, main = null;

export async function render(target) {
  main = target;
  main.innerHTML = `<h1>Schedules</h1><p id="schedules-message" class="muted" hidden></p>
    <div id="schedules-view"><span class="muted">Loading…</span></div>`;
  main.addEventListener('click', onClick);
  refresh = throttle(load, 1000);
  poll = setInterval(refresh, 5000);
  await load();
}

async function load() {
  const view = document.getElementById('schedules-view');
  let entries;
  try {
    entries = await api('api/schedules');
  } catch (e) {
    if (view) view.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
    return;
  }
  if (!view) return;
  const list = Object.values(entries || {});
  view.innerHTML = list.length === 0
    ? '<p class="muted">No schedule entries. Define them in HOCON (jobs.beat.schedule), with [Periodic] on a task, or POST /api/schedules.</p>'
    : `<table id="schedules"><thead><tr><th>Entry</th><th>Task</th><th>Schedule</th><th>Next runs (entry's zone · yours)</th>
        <th>Last run</th><th class="num">Fired</th><th class="num">Skipped</th><th class="num">Missed</th><th></th></tr></thead>
      <tbody>${list.map(row).join('')}</tbody></table>`;
}

function row(e) {
  const spec = e.cron ? `<code>${escapeHtml(e.cron)}</code>` : e.interval ? `<code>every ${escapeHtml(e.interval)} s</code>` : `<code>${escapeHtml(e.clocked)}</code>`;
  const next = (e.next_run_times || []).map(t =>
    `<li><span class="mono entry-zone">${escapeHtml(t.at)}</span> · <span class="mono viewer-zone">${escapeHtml(local(t.utc))}</span></li>`).join('');
  const last = e.last_run
    ? `<a class="last-run" href="#/task/${encodeURIComponent(e.last_run.task_id)}">${escapeHtml(e.last_run.task_id)}</a> ${badge(e.last_run.state || 'PENDING')}
       <div class="muted">${escapeHtml(e.last_run.manual ? 'run now' : 'tick ' + e.last_run.tick)}</div>`
    : '<span class="muted">never</span>';
  const skipped = e.last_skipped ? ` title="${escapeHtml(e.last_skipped.reason)}"` : '';
  return `<tr data-entry="${escapeHtml(e.name)}">
    <td><strong>${escapeHtml(e.name)}</strong>${e.paused ? ' <span class="badge paused">paused</span>' : ''}<div class="muted">${escapeHtml(e.source)}</div></td>
    <td class="mono">${escapeHtml(e.task)}</td>
    <td><span class="words">${escapeHtml(e.schedule)}</span><div>${spec}</div></td>
    <td><ol class="next-runs">${next || '<li class="muted">none</li>'}</ol></td>
    <td>${last}</td>
    <td class="num fired">${escapeHtml(e.fired)}</td><td class="num skipped"${skipped}>${escapeHtml(e.skipped)}</td><td class="num missed">${escapeHtml(e.missed)}</td>
    <td class="nowrap">${e.paused
      ? `<button data-action="resume" data-entry="${escapeHtml(e.name)}">Resume</button>`
      : `<button class="plain" data-action="pause" data-entry="${escapeHtml(e.name)}">Pause</button>`}
      <button data-action="run-now" data-entry="${escapeHtml(e.name)}">Run now</button></td></tr>`;
}

/** An instant in the viewer's own zone, with the zone's name. */
function local(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone}`;
}

async function onClick(event) {
  const button = event.target.closest('button[data-action]');
  if (!button || !main.contains(button)) return;
  const { action, entry } = button.dataset;
  const message = document.getElementById('schedules-message');
  button.disabled = true;
  try {
    const answer = await api(`api/schedules/${encodeURIComponent(entry)}/${action}`, { method: 'POST' });
    message.hidden = false;
    message.className = 'muted';
    message.textContent = action === 'run-now' ? `${entry}: sent as ${answer.task_id}` : `${entry}: ${action === 'pause' ? 'paused' : 'resumed'}`;
  } catch (e) {
    message.hidden = false;
    message.className = 'error';
    message.textContent = e.message;
  }
  await load();
}

export function onEvents(events) {
  if (events.some(e => e.type === 'beat-tick')) refresh();
}

export function dispose() {
  clearInterval(poll);
  refresh && refresh.cancel();
  if (main) main.removeEventListener('click', onClick);
  main = null;
}
