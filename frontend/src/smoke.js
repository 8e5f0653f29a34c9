// SmokePing-style long-term chart geometry: per bucket of GET …/targets/{tid}/history, the
// RTT distribution as two shaded bands (p10–p90 and p25–p75), the median as a line coloured
// by the bucket's loss, and buckets that lost everything as a red bar. Pure: SVG path strings
// from numbers, so the drawing is tested without a browser.

/**
 * @typedef {{t: string|number, sent: number, received: number, loss_pct: number|null,
 *   min_ms?: number|null, p10_ms: number|null, p25_ms: number|null, p50_ms: number|null,
 *   p75_ms: number|null, p90_ms: number|null, max_ms?: number|null}} Bucket
 */

/**
 * Loss classes, SmokePing's idea (its colours run green → blue → violet → red with the number
 * of lost pings); here by per cent of probes lost in the bucket.
 * @type {{upTo: number, color: string, label: string}[]}
 */
export const LOSS_CLASSES = [
  { upTo: 0, color: '#1a9e3a', label: '0 %' },
  { upTo: 2, color: '#00a3d9', label: '< 2 %' },
  { upTo: 5, color: '#2457f5', label: '< 5 %' },
  { upTo: 10, color: '#7a2cf0', label: '< 10 %' },
  { upTo: 25, color: '#d21fd2', label: '< 25 %' },
  { upTo: 50, color: '#ff7a00', label: '< 50 %' },
  { upTo: 100, color: '#d93025', label: '≥ 50 %' },
];

/**
 * The index in LOSS_CLASSES of a loss per cent (0 is its own class; anything lost is at least
 * class 1).
 * @param {number|null|undefined} pct
 */
export function lossClass(pct) {
  if (!pct || pct <= 0) return 0;
  for (let i = 1; i < LOSS_CLASSES.length - 1; i++) if (pct < LOSS_CLASSES[i].upTo) return i;
  return LOSS_CLASSES.length - 1;
}

/**
 * A step string from the API ("5m", "30m", "2h", "24h", "90s") in ms; NaN when not one.
 * @param {string} step
 */
export function stepMs(step) {
  const m = /^(\d+)(s|m|h|d)$/.exec(String(step).trim());
  if (!m) return NaN;
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[/** @type {'s'|'m'|'h'|'d'} */ (m[2])];
}

/**
 * A rounded top for the RTT axis: the largest p90 (outliers above it would squash the smoke)
 * times 1.1, up to 1, 2, 2.5 or 5 × a power of ten. 1 ms when nothing answered.
 * @param {Bucket[]} buckets
 */
export function smokeMax(buckets) {
  let m = 0;
  for (const b of buckets) {
    const v = b.p90_ms ?? b.p75_ms ?? b.p50_ms;
    if (v != null && v > m) m = v;
  }
  if (m <= 0) return 1;
  m *= 1.1;
  const p = Math.pow(10, Math.floor(Math.log10(m)));
  for (const f of [1, 2, 2.5, 5, 10]) if (f * p >= m) return +(f * p).toPrecision(6);
  return 10 * p;
}

/**
 * Ticks for an axis from 0 to max (5 or fewer, at a round step).
 * @param {number} max
 */
export function axisTicks(max) {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * p).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(6));
  return out;
}

/** @param {number} n */
const r1 = (n) => Math.round(n * 10) / 10;

/**
 * The geometry of a smoke chart.
 * @param {Bucket[]} buckets in time order
 * @param {{from: number, to: number, step: number, width: number, height: number, max: number}} o
 *   from/to: ms epoch of the chart's edges; step: a bucket's length in ms; width/height: px of the plot
 * @returns {{outer: string, inner: string, median: {cls: number, color: string, d: string}[],
 *   lost: {x: number, w: number}[], x: (ms: number) => number, y: (v: number) => number}}
 *   outer: the p10–p90 band, inner: p25–p75, as SVG path data (one closed shape per run of
 *   buckets with answers); median: one path per loss class; lost: buckets that sent and got nothing back
 */
export function smokeGeometry(buckets, o) {
  const span = Math.max(1, o.to - o.from);
  const x = (/** @type {number} */ ms) => r1(((ms - o.from) / span) * o.width);
  const y = (/** @type {number} */ v) => r1(o.height - (Math.min(v, o.max) / o.max) * o.height);
  /** @type {{x0: number, x1: number, b: Bucket}[][]} */
  const runs = [];
  /** @type {{x0: number, x1: number, b: Bucket}[]} */
  let run = [];
  /** @type {{x: number, w: number}[]} */
  const lost = [];
  let lastEnd = NaN;
  for (const b of buckets) {
    const t = typeof b.t === 'number' ? b.t : Date.parse(b.t);
    const x0 = x(t);
    const x1 = x(t + o.step);
    const answered = b.received > 0 && b.p50_ms != null;
    if (!answered) {
      if (b.sent > 0) lost.push({ x: x0, w: r1(x1 - x0) });
      if (run.length) runs.push(run);
      run = [];
    } else {
      if (run.length && t !== lastEnd) {
        runs.push(run);
        run = [];
      }
      run.push({ x0, x1, b });
    }
    lastEnd = t + o.step;
  }
  if (run.length) runs.push(run);

  /** @param {'p10_ms'|'p25_ms'} lo @param {'p90_ms'|'p75_ms'} hi */
  const band = (lo, hi) =>
    runs
      .map((rs) => {
        const top = rs.map((s) => `${s.x0},${y(s.b[hi] ?? s.b.p50_ms ?? 0)}H${s.x1}`).join('L');
        const bottom = [...rs].reverse().map((s) => `${s.x1},${y(s.b[lo] ?? s.b.p50_ms ?? 0)}H${s.x0}`).join('L');
        return `M${top}L${bottom}Z`;
      })
      .join('');

  /** @type {string[]} */
  const byCls = LOSS_CLASSES.map(() => '');
  for (const rs of runs) {
    for (const s of rs) {
      const c = lossClass(s.b.loss_pct ?? (s.b.sent ? (100 * (s.b.sent - s.b.received)) / s.b.sent : 0));
      byCls[c] += `M${s.x0},${y(/** @type {number} */ (s.b.p50_ms))}H${s.x1}`;
    }
  }
  const median = byCls.map((d, cls) => ({ cls, color: LOSS_CLASSES[cls].color, d })).filter((m) => m.d);
  return { outer: band('p10_ms', 'p90_ms'), inner: band('p25_ms', 'p75_ms'), median, lost, x, y };
}
