import { useEffect, useMemo, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { deck } from '../state.js';
import { replace, reportHash } from '../router.js';
import { parseDurationS, fmtDurationS, fmtDuration, pickStep, toLocalInput, fromLocalInput } from '../format.js';
import { Chart } from '../components/Chart.js';
import { ReportTable, locationRows } from '../components/ReportTable.js';

export const PRESETS = [120, 300, 3600, 86400, 604800];

/**
 * The report query string for a window, from one location or ('' or none) all.
 * @param {number} from unix s @param {number} range s @param {number|null} step s @param {'json'|'csv'} format
 * @param {string} [location]
 */
export function reportQuery(from, range, step, format, location) {
  return `from=${from}&range=${range}s${step ? `&step=${step}s` : ''}&format=${format}` + (location ? '&location=' + encodeURIComponent(location) : '');
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

/**
 * The locations a report may be narrowed to: the group's, then the others the server
 * knows, then the one asked for when it is neither (an old permalink).
 * @param {string[]} groupLocs @param {{name: string}[]} known @param {string} current
 */
export function locationChoices(groupLocs, known, current) {
  const out = groupLocs.filter(Boolean);
  for (const l of known) if (!out.includes(l.name)) out.push(l.name);
  if (current && !out.includes(current)) out.push(current);
  return out;
}

/** The locations the server knows, read once per report page (none from an older server). */
function useKnownLocations() {
  const [known, setKnown] = useState(/** @type {{name: string}[]} */ ([]));
  useEffect(() => {
    let gone = false;
    api('GET', '/api/v1/locations').then(
      (r) => !gone && setKnown(r.locations || []),
      () => {}, // an older server: no selector
    );
    return () => {
      gone = true;
    };
  }, []);
  return known;
}

/** The report of one group over a window; the URL holds the window (a permalink). @param {{gid: string, q: URLSearchParams}} p */
export function Report({ gid, q }) {
  const now = Math.floor(Date.now() / 1000);
  const { range, from } = reportWindow(q);
  const location = q.get('location') || '';
  const [rep, setRep] = useState(/** @type {any} */ (null));
  const [err, setErr] = useState('');
  const [custom, setCustom] = useState(PRESETS.includes(range) ? '' : fmtDurationS(range));
  const [fromText, setFromText] = useState(isFinite(from) ? toLocalInput(from) : '');
  const [byLocation, setByLocation] = useState(true);
  const known = useKnownLocations();
  const step = pickStep(range);
  useEffect(() => {
    if (!isFinite(from)) {
      replace(reportHash(gid, now - range, range, location));
      return;
    }
    setFromText(toLocalInput(from));
    let gone = false;
    setErr('');
    api('GET', `/api/v1/groups/${enc(gid)}/report?${reportQuery(from, range, step, 'json', location)}`).then(
      (r) => !gone && setRep(r),
      (e) => !gone && (setRep(null), setErr(e.message)),
    );
    return () => {
      gone = true;
    };
  }, [gid, from, range, location]);
  const data = useMemo(() => seriesColumns(rep?.series), [rep]);
  /** @param {number} f @param {number} r @param {string} [loc] */
  const show = (f, r, loc = location) => replace(reportHash(gid, f, r, loc));
  const meta = deck.byId.get(gid)?.meta.peek();
  const name = rep?.group_name || meta?.name || 'group';
  const groupLocs = deck.byId.get(gid)?.locations || [];
  const choices = known.length ? locationChoices(groupLocs, known, location) : location ? [location] : [];
  const split = !!rep && (rep.targets || []).some((/** @type {any} */ t) => locationRows(t).length > 0);
  const csv = `/api/v1/groups/${enc(gid)}/report?${reportQuery(from, range, null, 'csv', location)}`;
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
    <h1>Report: ${name}${location && html` <small class="muted">from ${location}</small>`}</h1>
    <form class="window" onSubmit=${applyCustom} aria-label="Report window">
      <div class="presets" role="group" aria-label="Range">
        ${PRESETS.map((p) => html`<button type="button" class=${'btn small' + (p === range ? ' on' : '')} aria-pressed=${p === range}
          onClick=${() => { setCustom(''); show(Math.floor(Date.now() / 1000) - p, p); }}>last ${fmtDuration(p * 1000)}</button>`)}
      </div>
      <label>From <input type="datetime-local" step="1" value=${fromText} onInput=${(/** @type {any} */ e) => setFromText(e.currentTarget.value)} /></label>
      <label>Range <input class="short" value=${custom || fmtDurationS(range)} onInput=${(/** @type {any} */ e) => setCustom(e.currentTarget.value)} aria-describedby="range-help" /></label>
      ${choices.length > 0 && html`<label>Location <select aria-label="Location" value=${location} onChange=${(/** @type {any} */ e) => show(from, range, e.currentTarget.value)}>
        <option value="">All</option>${choices.map((l) => html`<option value=${l}>${l}</option>`)}</select></label>`}
      <button type="submit" class="btn small">Show</button>
      <button type="button" class="btn small" aria-label="Earlier window" onClick=${() => show(from - range, range)}>◀</button>
      <button type="button" class="btn small" aria-label="Later window" onClick=${() => show(from + range, range)}>▶</button>
      <span id="range-help" class="muted small">e.g. 120s, 5m, 1h, 7d</span>
      <span class="spacer"></span>
      <a class="btn small" href=${csv} download>Download CSV</a>
      <a class="btn small" href=${reportHash(gid, from, range, location)} title="Link to exactly this window">Permalink</a>
    </form>
    ${rep && html`<p class="muted">${new Date(rep.from).toLocaleString()} → ${new Date(rep.to).toLocaleString()} (${fmtDuration(rep.range_s * 1000)}${rep.step_s ? `, ${fmtDuration(rep.step_s * 1000)} buckets` : ''})</p>`}
    <p class="err" role="alert">${err}</p>
    ${rep && html`<${Chart} data=${data} label="RTT and loss over the window" series=${[
      { label: 'RTT avg', color: '#2b7de9', points: hasIsolated(data[1]) },
      { label: 'RTT p95', color: '#8e44ad', points: hasIsolated(data[2]) },
      { label: 'loss %', color: '#d93025', loss: true, points: hasIsolated(data[3]) },
    ]} />
    ${split && html`<label class="inline switch"><input type="checkbox" checked=${byLocation}
      onChange=${(/** @type {any} */ e) => setByLocation(e.currentTarget.checked)} /> A row per location under each target</label>`}
    <${ReportTable} rep=${rep} order=${groupLocs} byLocation=${byLocation} />`}
  </main>`;
}
