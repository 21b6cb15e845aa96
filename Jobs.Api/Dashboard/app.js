// The dashboard's shell: the live event stream (batched into animation frames) and hash routing to the pages.
// Pages export { render(main, { arg, query }), update?({ arg, query }), onEvents?(events), dispose?() }.
import * as workers from './workers.js';
import * as tasks from './tasks.js';
import * as task from './task.js';
import * as canvas from './canvas.js';
import * as cluster from './cluster.js';
import * as queues from './queues.js';
import * as rates from './rates.js';
import * as schedules from './schedules.js';
import { recordRates } from './charts.js';
import { token, adoptTokenFromUrl, onTokenChanged, parseHash, Unauthorized, escapeHtml } from './core.js';

const pages = { workers, tasks, task, canvas, cluster, queues, rates, schedules };

// ---- the live stream: events are queued as they arrive and handled once per animation frame ----
let source = null;
let queued = [];
let frameScheduled = false;
let retryTimer = null;

function connect() {
  if (source) source.close();
  clearTimeout(retryTimer);
  const t = token();
  source = new EventSource('api/events' + (t ? '?token=' + encodeURIComponent(t) : ''));
  const live = document.getElementById('live');
  source.onopen = () => { live.textContent = 'live'; live.className = 'live on'; };
  source.onerror = () => {
    live.textContent = 'reconnecting'; live.className = 'live off';
    // EventSource retries by itself unless the server refused it outright (e.g. 401 or 404): then retry later.
    if (source.readyState === EventSource.CLOSED) retryTimer = setTimeout(connect, 3000);
  };
  const take = e => {
    let batch;
    try { batch = JSON.parse(e.data); } catch { return; }
    if (!Array.isArray(batch)) batch = [batch];
    for (const event of batch) queued.push(event);
    if (!frameScheduled) {
      frameScheduled = true;
      // A hidden tab gets no animation frames: a timer (which browsers slow to about 1/s there) keeps the queue short.
      if (document.hidden) setTimeout(flush, 250); else requestAnimationFrame(flush);
    }
  };
  source.addEventListener('tasks', take);
  source.addEventListener('workers', take);
  source.addEventListener('beat', take);
}

function flush() {
  frameScheduled = false;
  const events = queued;
  queued = [];
  recordRates(events);
  if (current && current.page.onEvents) {
    try { current.page.onEvents(events); } catch (e) { console.error(e); }
  }
}

// ---- routing: #/page/arg?query ----
let current = null;

function route() {
  const { name, arg, query } = parseHash();
  const page = pages[name] || workers;
  if (current && current.page === page && current.arg === arg && page.update) {
    page.update({ arg, query });
    return;
  }
  if (current && current.page.dispose) current.page.dispose();
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('current', a.dataset.page === (name === 'task' ? 'tasks' : name)));
  const main = document.getElementById('main');
  main.innerHTML = '';
  current = { page, name, arg };
  Promise.resolve(page.render(main, { arg, query })).catch(e => {
    if (!(e instanceof Unauthorized)) main.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
  });
}

adoptTokenFromUrl();
onTokenChanged(() => { connect(); current = null; route(); });
window.addEventListener('hashchange', route);
connect();
route();
