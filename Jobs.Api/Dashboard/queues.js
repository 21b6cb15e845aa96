// Queues: how many tasks wait in each queue (GET /api/queues/length), fetched again every two seconds.
import { api, escapeHtml } from './core.js';

let poll = null;

export async function render(main) {
  main.innerHTML = `<h1>Queues</h1><div id="queues-view"><span class="muted">Loading…</span></div>`;
  poll = setInterval(() => load().catch(() => {}), 2000);
  await load();
}

async function load() {
  const view = document.getElementById('queues-view');
  let body;
  try {
    body = await api('api/queues/length');
  } catch (e) {
    if (view) view.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
    return;
  }
  if (!view) return;
  const queues = (body && body.active_queues) || [];
  const max = Math.max(1, ...queues.map(q => q.messages || 0));
  view.innerHTML = queues.length === 0 ? `<p class="muted">No queues.</p>`
    : `<table id="queues"><thead><tr><th>Queue</th><th class="num">Messages</th><th class="half"></th></tr></thead><tbody>
      ${queues.map(q => `<tr data-queue="${escapeHtml(q.name)}"><td>${escapeHtml(q.name)}</td><td class="num messages">${escapeHtml(q.messages)}</td>
        <td><div class="bar" data-share="${(100 * (q.messages || 0)) / max}"></div></td></tr>`).join('')}</tbody></table>`;
  // Set through the DOM, not a style attribute: the page's Content-Security-Policy allows no inline styles.
  view.querySelectorAll('.bar[data-share]').forEach(bar => { bar.style.width = bar.dataset.share + '%'; });
}

export function dispose() {
  clearInterval(poll);
}
