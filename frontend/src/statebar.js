// The state bar: a target's states over a window as coloured segments (from GET
// …/statebar), and its uptime as text. Pure: positions in per cent of the bar.

/** @typedef {{from: string|number, to: string|number, state: string}} StateSegment */
/** @typedef {{state: string, left: number, width: number, from: number, to: number}} BarSegment */

/** @param {string|number} t */
const ms = (t) => (typeof t === 'number' ? t : Date.parse(t));

/**
 * Lays segments out on a bar covering [from, to): each clipped to the window, in time order,
 * neighbours of the same state merged, gaps filled with `unknown`; left and width in per cent
 * (three decimals). A segment too thin to see still gets minPct of width, taken from its
 * neighbours' side so the bar never overflows.
 * @param {StateSegment[]} segments
 * @param {string|number} from
 * @param {string|number} to
 * @param {number} [minPct] the narrowest a segment is drawn, per cent
 * @returns {BarSegment[]}
 */
export function stateBarLayout(segments, from, to, minPct = 0.25) {
  const a = ms(from);
  const b = ms(to);
  if (!(b > a)) return [];
  /** @type {{state: string, from: number, to: number}[]} */
  const parts = [];
  const sorted = [...(segments || [])]
    .map((s) => ({ state: s.state || 'unknown', from: Math.max(a, ms(s.from)), to: Math.min(b, ms(s.to)) }))
    .filter((s) => s.to > s.from)
    .sort((x, y) => x.from - y.from);
  let at = a;
  for (const s of sorted) {
    if (s.from > at) push(parts, { state: 'unknown', from: at, to: s.from });
    const start = Math.max(s.from, at);
    if (s.to > start) push(parts, { state: s.state, from: start, to: s.to });
    at = Math.max(at, s.to);
  }
  if (at < b) push(parts, { state: 'unknown', from: at, to: b });
  const span = b - a;
  /** @type {BarSegment[]} */
  const out = parts.map((p) => ({ state: p.state, from: p.from, to: p.to, left: ((p.from - a) / span) * 100, width: ((p.to - p.from) / span) * 100 }));
  // widen the slivers, narrowing the widest segment to pay for them
  const thin = out.filter((s) => s.width < minPct);
  if (thin.length && thin.length < out.length) {
    let owed = 0;
    for (const s of thin) {
      owed += minPct - s.width;
      s.width = minPct;
    }
    const widest = out.reduce((m, s) => (s.width > m.width ? s : m), out[0]);
    widest.width = Math.max(minPct, widest.width - owed);
    let left = 0;
    for (const s of out) {
      s.left = left;
      left += s.width;
    }
  }
  for (const s of out) {
    s.left = Math.round(s.left * 1000) / 1000;
    s.width = Math.round(s.width * 1000) / 1000;
  }
  return out;
}

/**
 * @param {{state: string, from: number, to: number}[]} parts
 * @param {{state: string, from: number, to: number}} p
 */
function push(parts, p) {
  const last = parts[parts.length - 1];
  if (last && last.state === p.state && last.to === p.from) last.to = p.to;
  else parts.push(p);
}

/**
 * Uptime as text: "99.95 %", "100 %" only when nothing was lost (never rounded up to it),
 * "—" when nothing was probed.
 * @param {number|null|undefined} pct
 */
export function fmtUptime(pct) {
  if (pct == null || !isFinite(pct)) return '—';
  if (pct >= 100) return '100 %';
  const floor = Math.floor(pct * 100) / 100;
  return floor.toFixed(2) + ' %';
}

/**
 * Per cent of the window in each state ("up" 97.5, "down" 2.5 …), from a layout.
 * @param {BarSegment[]} bar
 */
export function stateShares(bar) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const s of bar) out[s.state] = (out[s.state] || 0) + (s.to - s.from);
  const total = bar.reduce((n, s) => n + (s.to - s.from), 0);
  for (const k of Object.keys(out)) out[k] = total ? (out[k] / total) * 100 : 0;
  return out;
}
