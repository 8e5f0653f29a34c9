import { html } from '../html.js';
import { fmtFrac, fmtPct, fmtMs } from '../format.js';

/**
 * A target's per-location figures in the group's location order (others after, by name);
 * empty when there are fewer than two (the target's own row says it all).
 * @param {any} t a report target, maybe with `locations: {name: stats}`
 * @param {string[]} [order] the group's locations
 * @returns {[string, any][]}
 */
export function locationRows(t, order = []) {
  const by = t && t.locations && typeof t.locations === 'object' ? t.locations : null;
  if (!by) return [];
  const names = Object.keys(by);
  if (names.length < 2) return [];
  const rank = (/** @type {string} */ n) => (order.includes(n) ? order.indexOf(n) : order.length);
  names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((n) => [n, by[n]]);
}

/** @param {{s: any, label: any, ip?: any, errCls: string, cls?: string}} p */
function StatsRow({ s, label, ip, errCls, cls }) {
  return html`<tr class=${cls}>
    <th scope="row">${label}${ip ? html` <small class="ip">${ip}</small>` : ''}</th>
    <td>${s.sent}</td><td class="wide">${s.received}</td><td class=${errCls + (s.errors ? ' warn' : '')}>${s.errors ?? 0}</td>
    <td class=${s.success_rate != null && s.success_rate < 1 ? 'warn' : ''}>${fmtFrac(s.success_rate, 2)}</td>
    <td>${fmtPct(s.loss_pct, 2)}</td>
    <td class="wide">${fmtMs(s.rtt_min_ms)}</td><td>${fmtMs(s.rtt_avg_ms)}</td><td class="wide">${fmtMs(s.rtt_p50_ms)}</td>
    <td>${fmtMs(s.rtt_p95_ms)}</td><td class="wide">${fmtMs(s.rtt_max_ms)}</td><td class="wide">${fmtMs(s.rtt_stddev_ms)}</td>
  </tr>`;
}

/**
 * The report's table: a row per target, under it a row per location it was probed from
 * (when byLocation and there are several), and the group's summary.
 * @param {{rep: any, order: string[], byLocation: boolean}} p
 */
export function ReportTable({ rep, order, byLocation }) {
  // The errors column shows on phones only when there are errors to show.
  const errCls = rep.summary?.errors ? '' : 'wide';
  return html`<div class="table-wrap"><table class="stats">
    <thead><tr><th scope="col">Target</th><th>Sent</th><th class="wide">Received</th>
      <th class=${errCls} title="Probes that never left: the name does not resolve, or the send was refused. Not in Sent, not loss.">Errors</th><th>Success</th><th>Loss</th>
      <th class="wide">Min ms</th><th>Avg ms</th><th class="wide">p50 ms</th><th>p95 ms</th><th class="wide">Max ms</th><th class="wide">Stddev ms</th></tr></thead>
    <tbody>${(rep.targets || []).map((/** @type {any} */ t) => html`
      <${StatsRow} key=${t.target_id} s=${t} label=${t.address} ip=${t.ip !== t.address ? t.ip : ''} errCls=${errCls} />
      ${byLocation && locationRows(t, order).map(([loc, s]) => html`<${StatsRow} key=${t.target_id + '/' + loc} s=${s}
        label=${html`<span class="loc-label">from ${loc}</span>`} errCls=${errCls} cls="loc-row" />`)}`)}</tbody>
    <tfoot><${StatsRow} s=${rep.summary} label="All targets" errCls=${errCls} /></tfoot>
  </table></div>`;
}
