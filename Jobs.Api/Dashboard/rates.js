// Rates: succeeded, failed and retried tasks per second, live, with totals since the page opened.
import { rateSummary, drawRates, legendHtml } from './charts.js';

let timer = null;

export function render(main) {
  main.innerHTML = `<h1>Rates</h1>
    <div class="cards" id="rate-cards"></div>
    <div class="panel"><canvas class="chart tall" id="rates-chart"></canvas>${legendHtml()}</div>
    <p class="muted">Counted from the live event stream since this page was opened; five minutes are kept.</p>`;
  const tick = () => {
    drawRates(document.getElementById('rates-chart'), 300);
    document.getElementById('rate-cards').innerHTML = rateSummary().map(r =>
      `<div class="card"><div class="label">${r.label}</div><div class="value series-${r.label}">${r.perSecond.toFixed(1)}/s</div>
       <div class="muted">${r.total} in total</div></div>`).join('');
  };
  tick();
  timer = setInterval(tick, 1000);
}

export function dispose() {
  clearInterval(timer);
}
