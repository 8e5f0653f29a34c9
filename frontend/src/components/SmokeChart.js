import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { smokeGeometry, smokeMax, axisTicks, stepMs, LOSS_CLASSES } from '../smoke.js';

const M = { left: 52, right: 12, top: 8, bottom: 22 };

/**
 * Labels for the time axis: about six, formatted for the window's length.
 * @param {number} from ms @param {number} to ms
 */
function timeTicks(from, to) {
  const span = to - from;
  /** @type {Intl.DateTimeFormatOptions} */
  const fmt = span <= 2 * 86400e3 ? { hour: '2-digit', minute: '2-digit', hour12: false }
    : span <= 40 * 86400e3 ? { month: 'short', day: 'numeric' } : { month: 'short', year: '2-digit' };
  const out = [];
  for (let i = 0; i <= 5; i++) {
    const t = from + (span * i) / 5;
    out.push({ t, text: new Date(t).toLocaleString([], fmt) });
  }
  return out;
}

/**
 * The long-term RTT distribution of one target, as SmokePing draws it: the p10–p90 and
 * p25–p75 bands shaded, the median coloured by the loss of its bucket, buckets that lost
 * everything as red bars.
 * @param {{hist: {from: string, to: string, step: string, buckets: import('../smoke.js').Bucket[]}, label: string, height?: number}} p
 */
export function SmokeChart({ hist, label, height = 240 }) {
  /** @type {import('preact').RefObject<HTMLDivElement>} */
  const ref = useRef(null);
  const [width, setWidth] = useState(800);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(200, el.clientWidth - 16));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const from = Date.parse(hist.from);
  const to = Date.parse(hist.to);
  const step = stepMs(hist.step) || (to - from) / Math.max(1, hist.buckets.length);
  const max = smokeMax(hist.buckets);
  const w = width - M.left - M.right;
  const h = height - M.top - M.bottom;
  const g = smokeGeometry(hist.buckets, { from, to, step, width: w, height: h, max });
  const yt = axisTicks(max);
  const answered = hist.buckets.some((b) => b.received > 0);
  return html`<div class="smoke" ref=${ref}>
    <svg width=${width} height=${height} viewBox=${`0 0 ${width} ${height}`} role="img" aria-label=${label}>
      <g class="axis">
        ${yt.map((v) => html`<g key=${'y' + v}><line x1=${M.left} x2=${M.left + w} y1=${M.top + g.y(v)} y2=${M.top + g.y(v)} />
          <text x=${M.left - 6} y=${M.top + g.y(v) + 4} text-anchor="end">${v} ms</text></g>`)}
        ${timeTicks(from, to).map((tk, i) => html`<text key=${'x' + i} x=${M.left + g.x(tk.t)} y=${height - 6}
          text-anchor=${i === 0 ? 'start' : i === 5 ? 'end' : 'middle'}>${tk.text}</text>`)}
      </g>
      <g transform=${`translate(${M.left},${M.top})`}>
        ${g.lost.map((l, i) => html`<rect key=${'l' + i} class="lost" x=${l.x} y="0" width=${Math.max(1, l.w)} height=${h}><title>all probes lost</title></rect>`)}
        <path class="band-outer" d=${g.outer} />
        <path class="band-inner" d=${g.inner} />
        ${g.median.map((m) => html`<path key=${'m' + m.cls} class="median" data-loss=${m.cls} stroke=${m.color} d=${m.d} />`)}
      </g>
    </svg>
    <div class="smoke-legend">
      <span><span class="key" style="background: var(--fg2); opacity: .35"></span>p25–p75</span>
      <span><span class="key" style="background: var(--fg2); opacity: .18"></span>p10–p90</span>
      <span>median, by loss:</span>
      ${LOSS_CLASSES.map((c) => html`<span key=${c.label}><span class="key" style=${'background:' + c.color}></span>${c.label}</span>`)}
      <span class="muted">· ${hist.buckets.length} buckets of ${hist.step}${answered ? '' : ' · nothing answered in this window'}</span>
    </div>
  </div>`;
}
