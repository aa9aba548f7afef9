// An order's path through the system as a timeline: every hop (the API request, its transaction, each publish
// to a topic, each message handled from a queue, each transaction of the worker and of the API's update) with
// when it started and how long it took. The spans come from the local trace collector of `make up`
// (/dev/traces); on AWS the same trace is in CloudWatch (X-Ray), found by the order id.

import { el } from './format.js';

const views = new Map(); // order id -> its <details>, kept across re-renders so an open timeline stays open

/** traceView returns the collapsible timeline of an order; its spans are fetched when it is first opened. */
export function traceView(orderId) {
  let details = views.get(orderId);
  if (details) return details;
  const body = el('div', { class: 'trace-body' });
  details = el('details', { class: 'trace' }, el('summary', {}, 'Path through the system'), body);
  details.addEventListener('toggle', () => {
    if (details.open) load(orderId, body);
  });
  views.set(orderId, details);
  return details;
}

async function load(orderId, body) {
  body.replaceChildren(el('p', { class: 'hint' }, 'Loading the trace…'));
  let traces;
  try {
    const resp = await fetch(`/dev/traces?order_id=${encodeURIComponent(orderId)}`, { headers: { Accept: 'application/json' } });
    if (!resp.ok || !(resp.headers.get('Content-Type') || '').includes('json')) throw new Error(String(resp.status));
    traces = (await resp.json()).traces || [];
  } catch {
    body.replaceChildren(el('p', { class: 'hint' },
      'No trace collector here. On AWS, find the trace in CloudWatch (X-Ray traces) by the order id.'));
    return;
  }
  if (traces.length === 0) {
    body.replaceChildren(el('p', { class: 'hint' }, 'No trace yet: spans arrive a few seconds after each hop.'));
    return;
  }
  body.replaceChildren(...traces.map(timeline));
}

/** timeline draws one trace: a row per span in start order, indented by depth, with a bar on a shared scale. */
function timeline(trace) {
  const spans = trace.spans;
  const t0 = Math.min(...spans.map((s) => Date.parse(s.start)));
  const t1 = Math.max(...spans.map((s) => Date.parse(s.end)));
  const total = Math.max(t1 - t0, 1);
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  const depth = (s) => {
    let d = 0;
    for (let p = byId.get(s.parent_span_id); p && d < 20; p = byId.get(p.parent_span_id)) d++;
    return d;
  };
  return el('figure', { class: 'trace-timeline' },
    el('figcaption', {}, `Trace `, el('code', {}, trace.trace_id), ` · ${spans.length} spans · ${ms(total)} end to end`),
    el('ol', { class: 'trace-spans' }, spans.map((s) => {
      const left = ((Date.parse(s.start) - t0) / total) * 100;
      const width = Math.max((s.duration_ms / total) * 100, 0.5);
      // Positions through the CSSOM: the Content-Security-Policy refuses style attributes.
      const label = el('span', { class: 'trace-label' }, el('span', { class: 'trace-service' }, s.service), ' ', s.name);
      label.style.paddingLeft = `${depth(s) * 0.75}em`;
      const bar = el('span', { class: 'trace-bar' });
      bar.style.left = `${left.toFixed(2)}%`;
      bar.style.width = `${width.toFixed(2)}%`;
      return el('li', { class: `trace-span service-${s.service}${s.error ? ' trace-error' : ''}`, 'data-span-name': s.name },
        label,
        el('span', { class: 'trace-track', 'aria-hidden': 'true' }, bar),
        el('span', { class: 'trace-duration' }, ms(s.duration_ms),
          el('span', { class: 'trace-offset' }, ` at +${ms(Date.parse(s.start) - t0)}`)));
    })));
}

function ms(v) {
  return v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`;
}
