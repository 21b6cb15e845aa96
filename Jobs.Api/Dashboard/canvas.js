// A canvas (chain, group, chord) drawn as a tree from GET /api/canvas/{id}/tree: chains flow left to right,
// groups stack, a chord's header feeds its body. Member tasks change state live; big groups are summed up.
import { api, throttle, escapeHtml, badge, show, supersedes } from './core.js';

const SHOWN_PER_GROUP = 50;

let id = null;
let refresh = null;
let members = new Map(); // task id -> element
let poll = null;
let ready = false;

export async function render(main, params) {
  id = params.arg;
  main.innerHTML = `<h1>Canvas</h1>
    <form class="filters" id="canvas-open"><label>Canvas id <input name="id" size="40" value="${escapeHtml(id || '')}"></label>
      <button>Open</button></form>
    <div id="canvas-view"></div>`;
  document.getElementById('canvas-open').addEventListener('submit', e => {
    e.preventDefault();
    location.hash = '#/canvas/' + encodeURIComponent(new FormData(e.target).get('id').trim());
  });
  if (!id) {
    document.getElementById('canvas-view').innerHTML =
      `<p class="muted">A canvas's id is the <code>task-id</code> that <code>POST /api/canvas</code> answers.</p>`;
    return;
  }
  refresh = throttle(load, 1000);
  // Events make it live; asking now and then as well covers a canvas whose members' events this node did not see.
  poll = setInterval(() => { if (!ready) refresh(); }, 2000);
  await load();
}

async function load() {
  const mine = id;
  const view = document.getElementById('canvas-view');
  let tree;
  try {
    tree = await api(`api/canvas/${encodeURIComponent(id)}/tree`);
  } catch (e) {
    if (mine === id && view) view.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
    return;
  }
  if (mine !== id || !view) return;
  ready = ['SUCCESS', 'FAILURE', 'REVOKED'].includes(tree.state);
  view.innerHTML = `<div class="panel"><dl class="facts"><dt>State</dt><dd id="canvas-state">${badge(tree.state)}</dd>
      ${tree.result !== undefined && tree.result !== null ? `<dt>${tree.state === 'SUCCESS' ? 'Result' : 'Exception'}</dt>
        <dd class="mono" id="canvas-result">${escapeHtml(show(tree.result))}</dd>` : ''}
      ${tree.traceback ? `<dt>Traceback</dt><dd><pre>${escapeHtml(tree.traceback)}</pre></dd>` : ''}</dl></div>
    <div class="panel scroll">${node(tree.root)}</div>`;
  members = new Map([...view.querySelectorAll('.cv-task[data-id]')].map(e => [e.dataset.id, e]));
}

function node(n) {
  if (n.type === 'task') return task(n);
  const items = n.children || [];
  const shown = items.slice(0, SHOWN_PER_GROUP);
  const rest = items.slice(SHOWN_PER_GROUP);
  // The node may list fewer children than it has (the tree is bounded): those it left out are counted in n.more.
  const total = n.children_count ?? items.length;
  let inner = shown.map(c => `<div class="cv-item">${node(c)}</div>`).join('');
  if (total > shown.length) inner += `<div class="cv-item cv-more">+ ${total - shown.length} more: ${summary(rest, n.more)}</div>`;
  if (n.type === 'chord') {
    inner = `<div class="cv group cv-header" data-id="${escapeHtml(n.id)}"><span class="cv-label">header · ${total}</span>${inner}</div>
      <div class="cv-body">${node(n.body)}</div>`;
  }
  return `<div class="cv ${escapeHtml(n.type)}" data-node="${escapeHtml(n.id)}">
      <span class="cv-label">${escapeHtml(n.type)} ${n.state ? badge(n.state) : ''}</span>${inner}${callbacks(n)}</div>`;
}

function task(n) {
  return `<div class="cv-item"><a class="cv-task ${escapeHtml(n.state || '')}" data-id="${escapeHtml(n.id)}" href="#/task/${encodeURIComponent(n.id)}?canvas=${encodeURIComponent(id)}">
      <span class="cv-name">${escapeHtml(n.task)}</span><span class="cv-args mono">${escapeHtml(JSON.stringify(n.args ?? []))}</span>
      <span class="cv-state">${n.state ? badge(n.state) : '<span class="muted">callback</span>'}</span>
      <span class="cv-id">${escapeHtml(n.id)}</span></a>${callbacks(n)}</div>`;
}

function callbacks(n) {
  const link = (n.link || []).map(c => `<div>on success → ${node(c)}</div>`);
  const error = (n.link_error || []).map(c => `<div>on failure → ${node(c)}</div>`);
  return link.length + error.length ? `<div class="cv-callbacks">${[...link, ...error].join('')}</div>` : '';
}

/** "12 SUCCESS, 3 PENDING" over the tasks below the nodes that are not drawn. */
function summary(nodes, more) {
  const counts = {};
  const add = (state, count) => { counts[state] = (counts[state] || 0) + count; };
  const visit = n => {
    if (n.type === 'task') add(n.state || 'PENDING', 1);
    (n.children || []).forEach(visit);
    Object.entries(n.more || {}).forEach(([s, c]) => add(s, c));
    if (n.body) visit(n.body);
  };
  nodes.forEach(visit);
  Object.entries(more || {}).forEach(([s, c]) => add(s, c));
  return Object.entries(counts).map(([s, c]) => `${c} ${escapeHtml(s)}`).join(', ');
}

/** A member's box takes its new state at once; the sums and the canvas's own state follow with the next fetch. */
export function onEvents(events) {
  let relevant = false;
  for (const e of events) {
    const element = members.get(e.uuid);
    if (!element) continue;
    relevant = true;
    const shown = element.querySelector('.cv-state');
    if (!supersedes(e.state, shown.textContent)) continue;
    element.className = 'cv-task ' + e.state;
    shown.innerHTML = badge(e.state);
  }
  if (relevant) refresh();
}

export function dispose() {
  refresh && refresh.cancel();
  clearInterval(poll);
  ready = false;
  id = null;
  members = new Map();
}
