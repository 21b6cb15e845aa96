// Succeeded, failed and retried tasks per second, counted from the live events (by the event's own timestamp)
// and drawn by hand on a <canvas>: the last five minutes, one bar group per second.
const WINDOW = 300;
const SERIES = [
  { type: 'task-succeeded', label: 'succeeded', color: '#1f9d55' },
  { type: 'task-failed', label: 'failed', color: '#d64545' },
  { type: 'task-retried', label: 'retried', color: '#d98a00' },
];
const buckets = new Map(); // unix second -> [succeeded, failed, retried]
const totals = [0, 0, 0];

export function recordRates(events) {
  for (const e of events) {
    const index = SERIES.findIndex(s => s.type === e.type);
    if (index < 0) continue;
    const second = Math.floor(e.timestamp || Date.now() / 1000);
    let counts = buckets.get(second);
    if (!counts) buckets.set(second, counts = [0, 0, 0]);
    counts[index]++;
    totals[index]++;
  }
  const oldest = Math.floor(Date.now() / 1000) - WINDOW - 5;
  for (const second of buckets.keys()) if (second < oldest) buckets.delete(second);
}

/** Counts since the page was opened, and per second over the last ten seconds. */
export function rateSummary() {
  const now = Math.floor(Date.now() / 1000);
  const recent = [0, 0, 0];
  for (let s = now - 10; s < now; s++) {
    const counts = buckets.get(s);
    if (counts) counts.forEach((c, i) => recent[i] += c);
  }
  return SERIES.map((s, i) => ({ label: s.label, color: s.color, total: totals[i], perSecond: recent[i] / 10 }));
}

export function legendHtml() {
  return `<div class="legend">${SERIES.map(s => `<span><i class="series-${s.label}"></i>${s.label}/s</span>`).join('')}</div>`;
}

/** Draws the chart into the canvas, sized to its box and the screen's pixel ratio. */
export function drawRates(canvas, seconds = 120) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, width, height);
  const left = 44, bottom = 20, top = 8, right = 8;
  const plotW = width - left - right, plotH = height - top - bottom;
  const now = Math.floor(Date.now() / 1000);
  const start = now - seconds;
  let max = 1;
  for (let s = start; s <= now; s++) {
    const c = buckets.get(s);
    if (c) max = Math.max(max, ...c);
  }
  max = niceCeiling(Math.max(4, max));

  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#6b7385';
  g.strokeStyle = '#e2e5ec';
  g.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    g.beginPath(); g.moveTo(left, y + .5); g.lineTo(left + plotW, y + .5); g.stroke();
    g.textAlign = 'right';
    g.fillText(String(Math.round((max * i) / 4)), left - 6, y + 4);
  }
  g.textAlign = 'center';
  for (let s = now - Math.floor(seconds / 30) * 30; s <= now; s += 30) {
    const x = left + ((s - start) / seconds) * plotW;
    g.fillText(now - s === 0 ? 'now' : `-${now - s}s`, x, height - 4);
  }

  SERIES.forEach((series, index) => {
    g.strokeStyle = series.color;
    g.lineWidth = 1.5;
    g.beginPath();
    for (let s = start; s <= now; s++) {
      const c = buckets.get(s);
      const v = c ? c[index] : 0;
      const x = left + ((s - start) / seconds) * plotW;
      const y = top + plotH - (v / max) * plotH;
      if (s === start) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  });
}

function niceCeiling(value) {
  const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}
