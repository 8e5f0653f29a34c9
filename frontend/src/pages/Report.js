import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { deck } from '../state.js';
import { replace, reportHash } from '../router.js';
import { fmtFrac, fmtPct, fmtMs, parseDurationS, fmtDurationS, fmtDuration, pickStep, toLocalInput, fromLocalInput } from '../format.js';
import { Chart } from '../components/Chart.js';

export const PRESETS = [120, 300, 3600, 86400, 604800];

/**
 * The report query string for a window.
 * @param {number} from unix s @param {number} range s @param {number|null} step s @param {'json'|'csv'} format
 */
export function reportQuery(from, range, step, format) {
  return `from=${from}&range=${range}s${step ? `&step=${step}s` : ''}&format=${format}`;
}

/**
 * The report chart's columns from the series of a report.
 * @param {any[]} series
 * @returns {[number[], (number|null)[], (number|null)[], (number|null)[]]}
 */
export function seriesColumns(series) {
  /** @type {[number[], (number|null)[], (number|null)[], (number|null)[]]} */
  const cols = [[], [], [], []];
  for (const b of series || []) {
    cols[0].push(Math.floor(Date.parse(b.at) / 1000));
    cols[1].push(b.rtt_avg_ms ?? null);
    cols[2].push(b.rtt_p95_ms ?? null);
    cols[3].push(b.loss_pct ?? null);
  }
  return cols;
}

/**
 * The window of a report URL, read as the API reads it: `range` (or `time_range`) as a
 * duration or seconds, `from` (or `floor_time`) as unix seconds or RFC 3339.
 * @param {URLSearchParams} q
 * @returns {{range: number, from: number}} seconds; from is NaN when absent or unreadable
 */
export function reportWindow(q) {
  const r = parseDurationS(q.get('range') ?? q.get('time_range') ?? '');
  const f = (q.get('from') ?? q.get('floor_time') ?? '').trim();
  const from = /^\d+(\.\d+)?$/.test(f) ? Number(f) : f ? Date.parse(f) / 1000 : NaN;
  return { range: r > 0 ? Math.round(r) : 120, from: from > 0 ? Math.floor(from) : NaN };
}

/**
 * Whether a column has a value with no value beside it (a line cannot draw it: show points).
 * @param {(number|null)[]} col
 */
export function hasIsolated(col) {
  return col.some((v, i) => v != null && col[i - 1] == null && col[i + 1] == null);
}

/** @param {{s: any, label: any, ip?: any, errCls: string}} p */
function StatsRow({ s, label, ip, errCls }) {
  return html`<tr>
    <th scope="row">${label}${ip ? html` <small class="ip">${ip}</small>` : ''}</th>
    <td>${s.sent}</td><td class="wide">${s.received}</td><td class=${errCls + (s.errors ? ' warn' : '')}>${s.errors ?? 0}</td>
    <td class=${s.success_rate != null && s.success_rate < 1 ? 'warn' : ''}>${fmtFrac(s.success_rate, 2)}</td>
    <td>${fmtPct(s.loss_pct, 2)}</td>
    <td class="wide">${fmtMs(s.rtt_min_ms)}</td><td>${fmtMs(s.rtt_avg_ms)}</td><td class="wide">${fmtMs(s.rtt_p50_ms)}</td>
    <td>${fmtMs(s.rtt_p95_ms)}</td><td class="wide">${fmtMs(s.rtt_max_ms)}</td><td class="wide">${fmtMs(s.rtt_stddev_ms)}</td>
  </tr>`;
}

/** The report of one group over a window; the URL holds the window (a permalink). @param {{gid: string, q: URLSearchParams}} p */
export function Report({ gid, q }) {
  const now = Math.floor(Date.now() / 1000);
  const { range, from } = reportWindow(q);
  const [rep, setRep] = useState(/** @type {any} */ (null));
  const [err, setErr] = useState('');
  const [custom, setCustom] = useState(PRESETS.includes(range) ? '' : fmtDurationS(range));
  const [fromText, setFromText] = useState(isFinite(from) ? toLocalInput(from) : '');
  const step = pickStep(range);
  useEffect(() => {
    if (!isFinite(from)) {
      replace(reportHash(gid, now - range, range));
      return;
    }
    setFromText(toLocalInput(from));
    let gone = false;
    setErr('');
    api('GET', `/api/v1/groups/${enc(gid)}/report?${reportQuery(from, range, step, 'json')}`).then(
      (r) => !gone && setRep(r),
      (e) => !gone && (setRep(null), setErr(e.message)),
    );
    return () => {
      gone = true;
    };
  }, [gid, from, range]);
  const data = useMemo(() => seriesColumns(rep?.series), [rep]);
  // The errors column shows on phones only when there are errors to show.
  const errCls = rep?.summary?.errors ? '' : 'wide';
  /** @param {number} f @param {number} r */
  const show = (f, r) => replace(reportHash(gid, f, r));
  const name = rep?.group_name || deck.byId.get(gid)?.meta.peek().name || 'group';
  const csv = `/api/v1/groups/${enc(gid)}/report?${reportQuery(from, range, null, 'csv')}`;
  /** @param {Event} e */
  const applyCustom = (e) => {
    e.preventDefault();
    const r = Math.round(parseDurationS(custom));
    const f = fromLocalInput(fromText);
    if (!(r > 0)) return setErr('Range: write it like 90s, 15m, 2h or 3d.');
    if (!isFinite(f)) return setErr('From: pick a date and time.');
    show(f, r);
  };
  return html`<main class="report" id="main">
    <h1>Report: ${name}</h1>
    <form class="window" onSubmit=${applyCustom} aria-label="Report window">
      <div class="presets" role="group" aria-label="Range">
        ${PRESETS.map((p) => html`<button type="button" class=${'btn small' + (p === range ? ' on' : '')} aria-pressed=${p === range}
          onClick=${() => { setCustom(''); show(Math.floor(Date.now() / 1000) - p, p); }}>last ${fmtDuration(p * 1000)}</button>`)}
      </div>
      <label>From <input type="datetime-local" step="1" value=${fromText} onInput=${(/** @type {any} */ e) => setFromText(e.currentTarget.value)} /></label>
      <label>Range <input class="short" value=${custom || fmtDurationS(range)} onInput=${(/** @type {any} */ e) => setCustom(e.currentTarget.value)} aria-describedby="range-help" /></label>
      <button type="submit" class="btn small">Show</button>
      <button type="button" class="btn small" aria-label="Earlier window" onClick=${() => show(from - range, range)}>◀</button>
      <button type="button" class="btn small" aria-label="Later window" onClick=${() => show(from + range, range)}>▶</button>
      <span id="range-help" class="muted small">e.g. 120s, 5m, 1h, 7d</span>
      <span class="spacer"></span>
      <a class="btn small" href=${csv} download>Download CSV</a>
      <a class="btn small" href=${reportHash(gid, from, range)} title="Link to exactly this window">Permalink</a>
    </form>
    ${rep && html`<p class="muted">${new Date(rep.from).toLocaleString()} → ${new Date(rep.to).toLocaleString()} (${fmtDuration(rep.range_s * 1000)}${rep.step_s ? `, ${fmtDuration(rep.step_s * 1000)} buckets` : ''})</p>`}
    <p class="err" role="alert">${err}</p>
    ${rep && html`<${Chart} data=${data} label="RTT and loss over the window" series=${[
      { label: 'RTT avg', color: '#2b7de9', points: hasIsolated(data[1]) },
      { label: 'RTT p95', color: '#8e44ad', points: hasIsolated(data[2]) },
      { label: 'loss %', color: '#d93025', loss: true, points: hasIsolated(data[3]) },
    ]} />
    <div class="table-wrap"><table class="stats">
      <thead><tr><th scope="col">Target</th><th>Sent</th><th class="wide">Received</th>
        <th class=${errCls} title="Probes that never left: the name does not resolve, or the send was refused. Not in Sent, not loss.">Errors</th><th>Success</th><th>Loss</th>
        <th class="wide">Min ms</th><th>Avg ms</th><th class="wide">p50 ms</th><th>p95 ms</th><th class="wide">Max ms</th><th class="wide">Stddev ms</th></tr></thead>
      <tbody>${(rep.targets || []).map((/** @type {any} */ t) => html`<${StatsRow} key=${t.target_id} s=${t} label=${t.address} ip=${t.ip !== t.address ? t.ip : ''} errCls=${errCls} />`)}</tbody>
      <tfoot><${StatsRow} s=${rep.summary} label="All targets" errCls=${errCls} /></tfoot>
    </table></div>`}
  </main>`;
}
