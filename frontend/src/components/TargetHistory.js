import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { fmtUptime } from '../statebar.js';
import { fmtRtt } from '../format.js';
import { SmokeChart } from './SmokeChart.js';
import { StateBar } from './StateBar.js';

export const RANGES = /** @type {const} */ (['24h', '7d', '30d', '1y']);

/**
 * A GET that answers null instead of throwing, with the error kept for the page.
 * @param {string} path
 * @returns {Promise<[any, string]>}
 */
async function tryGet(path) {
  try {
    return [await api('GET', path), ''];
  } catch (e) {
    return [null, /** @type {Error} */ (e).message];
  }
}

/**
 * The target's history: uptime over 24 h / 7 d / 30 d, the long-term smoke chart with its
 * range picker and the state bar of the same window under it, and the state changes.
 * @param {{gid: string, tid: string, address: string, location: string}} p location: '' for all
 */
export function TargetHistory({ gid, tid, address, location }) {
  const [range, setRange] = useState(/** @type {typeof RANGES[number]} */ ('24h'));
  const [uptime, setUptime] = useState(/** @type {any} */ (null));
  const [hist, setHist] = useState(/** @type {any} */ (null));
  const [bar, setBar] = useState(/** @type {any} */ (null));
  const [events, setEvents] = useState(/** @type {any[]|null} */ (null));
  const [err, setErr] = useState('');
  const loc = location ? '&location=' + enc(location) : '';
  const base = `/api/v1/groups/${enc(gid)}`;
  useEffect(() => {
    let gone = false;
    const load = async () => {
      const [[u], [e]] = await Promise.all([tryGet(`${base}/uptime?${loc.slice(1)}`), tryGet(`${base}/targets/${enc(tid)}/events?limit=100`)]);
      if (gone) return;
      setUptime(u ? u.targets?.[tid] || {} : {});
      setEvents(e ? e.events || [] : []);
    };
    load();
    const t = setInterval(load, 60000);
    return () => {
      gone = true;
      clearInterval(t);
    };
  }, [gid, tid, loc]);
  useEffect(() => {
    let gone = false;
    setHist(null);
    (async () => {
      const [[h, herr], [b]] = await Promise.all([
        tryGet(`${base}/targets/${enc(tid)}/history?range=${range}${loc}`),
        // the state bar goes back 30 days at most: for a year, the rest is drawn unknown
        tryGet(`${base}/statebar?range=${range === '1y' ? '30d' : range}${loc}`),
      ]);
      if (gone) return;
      setErr(herr ? 'History: ' + herr : '');
      setHist(h || { from: new Date(Date.now() - 86400e3).toISOString(), to: new Date().toISOString(), step: '5m', buckets: [] });
      setBar(b && h ? { ...b, from: h.from, to: h.to } : b);
    })();
    return () => {
      gone = true;
    };
  }, [gid, tid, range, loc]);
  return html`<section class="page-section" aria-label="History">
    <h2>History
      <span class="presets" role="group" aria-label="Range">
        ${RANGES.map((r) => html`<button type="button" class=${'btn small' + (r === range ? ' on' : '')} aria-pressed=${r === range} onClick=${() => setRange(r)}>${r}</button>`)}
      </span>
    </h2>
    <div class="uptimes" aria-label="Uptime">
      ${['24h', '7d', '30d'].map((k) => html`<div class="up-box" data-range=${k}><span class="muted small">uptime ${k}</span><b>${uptime ? fmtUptime(uptime[k]) : '…'}</b></div>`)}
    </div>
    ${hist ? html`<${SmokeChart} hist=${hist} label=${`RTT distribution and loss of ${address} over ${range}`} />` : html`<p class="muted">Loading…</p>`}
    <div class="statebar-wrap">
      ${bar ? html`<${StateBar} segments=${bar.targets?.[tid]} from=${bar.from} to=${bar.to} label=${`States of ${address} over ${range}`} />` : html`<div class="statebar" aria-hidden="true"></div>`}
      <div class="statebar-legend">
        ${['up', 'degraded', 'down', 'unknown'].map((s) => html`<span key=${s}><span class=${'key sb-' + s}></span>${s}</span>`)}
      </div>
    </div>
    <p class="err">${err}</p>
    <h3>State changes</h3>
    ${events === null ? html`<p class="muted">Loading…</p>`
      : !events.length ? html`<p class="muted">No state changes recorded yet.</p>`
      : html`<ol class="timeline" aria-label="State changes">
        ${events.map((e) => html`<li key=${e.at + e.location + e.to}>
          <time datetime=${e.at}>${new Date(e.at).toLocaleString()}</time>
          <span><span class=${'st st-' + e.from}>${e.from}</span> → <span class=${'st st-' + e.to}>${e.to}</span></span>
          <span class="muted">loss ${Math.round(e.loss_pct * 10) / 10} %${e.rtt_ms != null ? ', RTT ' + fmtRtt(e.rtt_ms) : ''}${e.location && e.location !== 'local' ? ' · from ' + e.location : ''}${e.flapping ? ' · flapping' : ''}</span>
        </li>`)}
      </ol>`}
  </section>`;
}
