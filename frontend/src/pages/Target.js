import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { deck, dialog, canEdit } from '../state.js';
import { go, reportHash } from '../router.js';
import { fmtFrac, fmtRtt } from '../format.js';
import { Chart } from '../components/Chart.js';
import { TargetLocations } from '../components/TargetLocations.js';
import { TargetHistory } from '../components/TargetHistory.js';
import { isLoss, failureReason } from '../live/model.js';

const LOG_LINES = 500;

/**
 * One line of the live log, like terminal ping.
 * @param {import('../live/model.js').Sample} s @param {number} seq @param {string} ip @param {number} bytes
 */
export function pingLine(s, seq, ip, bytes) {
  const t = new Date(s.at).toLocaleTimeString(undefined, { hour12: false });
  if (s.ok) return `${t}  ${bytes} bytes from ${ip}: icmp_seq=${seq} time=${s.rtt_ms != null ? s.rtt_ms.toFixed(3) : '?'} ms`;
  if (isLoss(s)) return `${t}  Request timeout for icmp_seq ${seq}`;
  return `${t}  Not sent: ${failureReason(s)} (icmp_seq ${seq})`;
}

/**
 * Chart columns from samples: time, RTT (null when not answered), loss marker (100 when
 * lost) and not-sent marker (100 when the probe never left: no address, send refused).
 * @param {{at: number|string, ok: boolean, rtt_ms: number|null, err?: string|null}[]} samples
 * @returns {[number[], (number|null)[], (number|null)[], (number|null)[]]}
 */
export function sampleColumns(samples) {
  /** @type {[number[], (number|null)[], (number|null)[], (number|null)[]]} */
  const c = [[], [], [], []];
  for (const s of samples) {
    c[0].push((typeof s.at === 'number' ? s.at : Date.parse(s.at)) / 1000);
    c[1].push(s.ok ? s.rtt_ms : null);
    const lost = isLoss(s);
    c[2].push(lost ? 100 : 0);
    c[3].push(!s.ok && !lost ? 100 : 0);
  }
  return c;
}

/**
 * Why the probes among samples that never left did not, most frequent first, with counts:
 * "57 not sent: no such host". '' when all left.
 * @param {{ok: boolean, err?: string|null}[]} samples
 */
export function notSentSummary(samples) {
  /** @type {Map<string, number>} */
  const by = new Map();
  for (const s of samples) {
    const why = failureReason(/** @type {any} */ (s));
    if (why) by.set(why, (by.get(why) || 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} not sent: ${why}`).join(', ');
}

/**
 * Live per-probe log and the last hour of one target; for a group probed from several
 * locations, every location's cell and the log and chart of the one picked.
 * @param {{gid: string, tid: string}} p
 */
export function Target({ gid, tid }) {
  deck.groups.value; // re-render when cards load
  const g = deck.byId.get(gid);
  if (g) {
    g.targets.value;
    g.meta.value; // and when its locations change
  }
  const t = g && g.byId.get(tid);
  const locs = g ? g.locations : [];
  const multi = locs.length > 1;
  const [pick, setPick] = useState('');
  const loc = locs.includes(pick) ? pick : locs[0] || '';
  const cell = t && (t.cells.get(loc) || t.cellList[0]);
  const [lines, setLines] = useState(/** @type {string[]} */ ([]));
  const [hist, setHist] = useState(/** @type {any[]|null} */ (null));
  const [err, setErr] = useState('');
  const live = useRef(/** @type {any[]} */ ([]));
  const [tick, setTick] = useState(0);
  const logRef = useRef(/** @type {HTMLElement|null} */ (null));
  useEffect(() => {
    if (!t || !cell) return;
    let seq = 0;
    const bytes = (g?.meta.peek().packet_size ?? 56) + 8;
    live.current = [];
    /** @type {string[]} */
    let buf = cell.samples.slice(-20).map((s) => pingLine(s, ++seq, t.ip.peek() || t.address.peek(), bytes));
    setLines(buf);
    /** @param {import('../live/model.js').Sample} s @param {string} from */
    const fn = (s, from) => {
      if (from !== cell.loc) return;
      buf = [...buf.slice(-(LOG_LINES - 1)), pingLine(s, ++seq, t.ip.peek() || t.address.peek(), bytes)];
      setLines(buf);
      live.current.push(s);
    };
    if (!t.listeners) t.listeners = new Set();
    t.listeners.add(fn);
    const timer = setInterval(() => setTick((x) => x + 1), 2000);
    return () => {
      t.listeners?.delete(fn);
      clearInterval(timer);
    };
  }, [t, cell]);
  useEffect(() => {
    const el = logRef.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [lines]);
  useEffect(() => {
    let gone = false;
    setHist(null);
    (async () => {
      const to = new Date();
      const from = new Date(to.getTime() - 3600e3);
      const only = multi ? '&location=' + enc(loc) : '';
      /** @type {any[]} */
      let all = [];
      let cursor = '';
      for (let page = 0; page < 5; page++) {
        const r = await api('GET', `/api/v1/groups/${enc(gid)}/targets/${enc(tid)}/samples?from=${enc(from.toISOString())}&to=${enc(to.toISOString())}&limit=10000${only}${cursor ? '&cursor=' + enc(cursor) : ''}`);
        all = all.concat(r.samples || []);
        if (!r.next) break;
        cursor = r.next;
      }
      if (!gone) setHist(all);
    })().catch((e) => {
      if (gone) return;
      setHist([]);
      setErr('History: ' + e.message);
    });
    return () => {
      gone = true;
    };
  }, [gid, tid, multi ? loc : '']);
  // history plus what arrived live since, refreshed every 2 s
  const data = useRef(/** @type {any} */ (null));
  const notSent = useRef('');
  const drawn = useRef(/** @type {[any[]|null, number]} */ ([null, -1]));
  if (hist && (drawn.current[0] !== hist || drawn.current[1] !== tick)) {
    drawn.current = [hist, tick];
    const lastAt = hist.length ? Date.parse(hist[hist.length - 1].at) : 0;
    const all = [...hist, ...live.current.filter((s) => s.at > lastAt)];
    data.current = sampleColumns(all);
    notSent.current = notSentSummary(all);
  }
  if (!g) return html`<main class="detail" id="main"><p class="muted">Loading…</p></main>`;
  if (!t || !cell) return html`<main class="detail" id="main"><p class="err">This target is not in “${g.meta.peek().name}” any more.</p></main>`;
  const now = Math.floor(Date.now() / 1000);
  const from = multi ? html` from <b>${cell.loc}</b>` : '';
  return html`<main class="detail" id="main">
    <h1><span class=${t.dot}></span> ${t.address} <small class="ip">${t.ipText}</small></h1>
    <p class="facts">
      <span>in <b>${g.meta.value.name}</b></span>
      <span>last${from} <b>${multi ? cell.rttText : t.rttText}</b></span>
      <span>loss 1m <b>${multi ? cell.lossText : t.lossText}</b></span>
      <span>every ${g.meta.value.interval}</span>
      <button type="button" class="btn small" onClick=${() => go(reportHash(gid, now - 3600, 3600))}>Group report, last hour</button>
      ${canEdit(g.meta.value) && html`<button type="button" class="btn small" onClick=${() => (dialog.value = { kind: 'tthresholds', g, tid })}>Alert thresholds…</button>`}
    </p>
    ${multi && html`<${TargetLocations} t=${t} sel=${cell.loc} onPick=${setPick} />`}
    <section aria-label="Last hour">
      <h2>Last hour${from}</h2>
      ${hist ? html`<${Chart} data=${data.current} height=${220} label=${'RTT and losses of ' + t.address.peek() + ' over the last hour'}
        series=${[{ label: 'RTT', color: '#2b7de9', points: true }, { label: 'lost', color: '#d93025', loss: true },
          { label: 'not sent', color: '#8a8f98', loss: true }]} />` : html`<p class="muted">Loading…</p>`}
      ${notSent.current && html`<p class="muted not-sent">${notSent.current} (probes that never left; not counted as loss)</p>`}
      <p class="muted">${err}</p>
    </section>
    <${TargetHistory} gid=${gid} tid=${tid} address=${t.address.peek()} location=${multi ? cell.loc : ''} />
    <section aria-label="Live log">
      <h2>Live${from} <span class="muted small">${cell.samples.length ? fmtFrac(cell.loss.peek()) + ' loss, last ' + fmtRtt(cell.rtt.peek()) : ''}</span></h2>
      <pre class="log" ref=${logRef} tabindex="0" aria-live="off">${lines.join('\n') || 'waiting for probes…'}</pre>
    </section>
  </main>`;
}
