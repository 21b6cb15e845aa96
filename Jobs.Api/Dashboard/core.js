// What every page shares: the API client (with the optional access token), throttling and formatting.
const TOKEN_KEY = 'actorjobs-token';

/** A 401 from the node: the page shows the token form instead of an error. */
export class Unauthorized extends Error {}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Accepts ?token= once (in the query), keeps it for this tab, and takes it out of the address bar. */
export function adoptTokenFromUrl() {
  const query = new URLSearchParams(location.search);
  const given = query.get('token');
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    query.delete('token');
    const rest = query.toString();
    history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  }
}

/** fetch with the bearer token; JSON in and out; throws with the server's message on a non-2xx answer. */
export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    askForToken();
    throw new Unauthorized('this node needs a token');
  }
  if (raw) return response;
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  if (!response.ok) {
    const message = (json && (json.error || json.detail || json.title)) || text || response.statusText;
    const error = new Error(`${response.status}: ${message}`);
    error.status = response.status;
    throw error;
  }
  return json;
}

function askForToken() {
  const banner = document.getElementById('banner');
  if (!banner.hidden) return;
  banner.hidden = false;
  banner.innerHTML = `This node requires an access token.
    <form id="token-form"><input id="token-input" type="password" placeholder="token" autocomplete="off"><button>Use token</button></form>`;
  banner.querySelector('form').addEventListener('submit', e => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById('token-input').value);
    banner.hidden = true;
    banner.innerHTML = '';
    tokenChanged();
  });
}

let tokenChanged = () => {};

/** Called once the user gave a token in the page: the app reconnects and renders again. */
export function onTokenChanged(fn) {
  tokenChanged = fn;
}

/** Runs fn at most once per interval, trailing: a burst of calls costs one run after it. */
export function throttle(fn, interval) {
  let last = 0, timer = null, running = false, again = false;
  const run = async () => {
    timer = null;
    if (running) { again = true; return; }
    running = true;
    last = Date.now();
    try { await fn(); } catch (e) { if (!(e instanceof Unauthorized)) console.error(e); }
    running = false;
    if (again) { again = false; schedule(); }
  };
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(run, Math.max(0, interval - (Date.now() - last)));
  };
  schedule.cancel = () => { clearTimeout(timer); timer = null; };
  return schedule;
}

// ---- formatting shared by the pages ----
export function escapeHtml(value) {
  return String(value ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

/** Flower sends args and results as text (Python repr); ours may be JSON: show either as text. */
export function show(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function time(seconds) {
  if (!seconds && seconds !== 0) return '';
  const d = new Date(typeof seconds === 'number' ? seconds * 1000 : seconds);
  if (isNaN(d)) return String(seconds);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Time of day to the millisecond; the date too when it is not today. */
export function shortTime(seconds) {
  const full = time(seconds);
  if (!full) return '';
  const today = time(Date.now() / 1000).slice(0, 10);
  return full.startsWith(today) ? full.slice(11) : full;
}

export function seconds(value) {
  if (typeof value !== 'number') return '';
  return value < 1 ? (value * 1000).toFixed(1) + ' ms' : value.toFixed(3) + ' s';
}

const READY = new Set(['SUCCESS', 'FAILURE', 'REVOKED']);

/** Whether an event's state may replace the one shown: a finished task is not set back by a late earlier event. */
export function supersedes(next, shown) {
  return !!next && (!READY.has(shown) || READY.has(next));
}

export function badge(state) {
  return state ? `<span class="badge ${escapeHtml(state)}">${escapeHtml(state)}</span>` : '';
}


// ---- the address: #/page/arg?query ----
export function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?');
  const [name, ...rest] = path.split('/');
  return { name: name || 'workers', arg: rest.map(decodeURIComponent).join('/'), query: new URLSearchParams(query) };
}

/** Changes the query of the current page without reloading anything but that page's data. */
export function setQuery(params) {
  const { name, arg } = parseHash();
  const query = new URLSearchParams(params);
  for (const [k, v] of [...query]) if (v === '' || v === null || v === undefined) query.delete(k);
  const text = query.toString();
  location.hash = '#/' + name + (arg ? '/' + encodeURIComponent(arg) : '') + (text ? '?' + text : '');
}

