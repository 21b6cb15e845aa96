// Cluster: the members as this node sees them (status, roles, reachability, leader) and the shards and
// entities of each type that every node hosts. Fetched again every three seconds and on worker events.
import { api, throttle, escapeHtml } from './core.js';

let poll = null, refresh = null;
let cluster = null, shards = {}, shardError = null;

export async function render(main) {
  main.innerHTML = `<h1>Cluster</h1><div id="cluster-view"><span class="muted">Loading…</span></div>`;
  refresh = throttle(load, 1000);
  poll = setInterval(refresh, 3000);
  await load();
}

/** Members first; the shard counts (which wait on every region's answer) fill in when they come. */
async function load() {
  const counts = api('api/cluster/shards').then(s => { shards = s || {}; shardError = null; }, e => { shardError = e; });
  try {
    cluster = await api('api/cluster');
  } catch (e) {
    const view = document.getElementById('cluster-view');
    if (view) view.innerHTML = `<p class="error">${escapeHtml(e.message)}</p>`;
    return;
  }
  draw();
  await counts;
  draw();
}

function draw() {
  const view = document.getElementById('cluster-view');
  if (!view || !cluster) return;
  const c = cluster;
  const cell = (address, type) => {
    const s = shards[address] && shards[address][type];
    return s ? `${s.shards} / ${s.entities}` : '<span class="muted">–</span>';
  };
  const partitions = address => {
    const q = shards[address] && shards[address].queue;
    return q ? `<span title="${escapeHtml(q.queues.join(', '))}">${q.partitions}</span>` : '<span class="muted">–</span>';
  };
  view.innerHTML = `<div class="cards">
      <div class="card"><div class="label">members</div><div class="value">${c.members.length}</div></div>
      <div class="card"><div class="label">up</div><div class="value">${c.members.filter(m => m.status === 'Up').length}</div></div>
      <div class="card"><div class="label">unreachable</div><div class="value">${c.members.filter(m => !m.reachable).length}</div></div></div>
    <table id="members"><thead><tr><th>Address</th><th>Status</th><th>Roles</th><th>Reachable</th>
      <th class="num">task shards / entities</th><th class="num">queue partitions</th><th class="num">canvas shards / entities</th></tr></thead>
    <tbody>${c.members.map(m => `<tr data-address="${escapeHtml(m.address)}">
      <td class="mono">${escapeHtml(m.address)}${m.address === c.leader ? ' <span class="badge STARTED">leader</span>' : ''}${m.address === c.self ? ' <span class="muted">(this node)</span>' : ''}</td>
      <td>${escapeHtml(m.status)}</td><td>${escapeHtml((m.roles || []).join(', '))}</td>
      <td><span class="badge ${m.reachable ? 'online' : 'offline'}">${m.reachable ? 'yes' : 'no'}</span></td>
      <td class="num">${cell(m.address, 'task')}</td><td class="num">${partitions(m.address)}</td><td class="num">${cell(m.address, 'canvas')}</td></tr>`).join('')}
    </tbody></table>
    ${shardError ? `<p class="muted">Shards: ${escapeHtml(shardError.message)}</p>` : ''}`;
}

export function onEvents(events) {
  if (events.some(e => e.type === 'worker-online' || e.type === 'worker-offline')) refresh();
}

export function dispose() {
  clearInterval(poll);
  refresh && refresh.cancel();
}
