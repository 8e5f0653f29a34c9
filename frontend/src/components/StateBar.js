import { html } from '../html.js';
import { stateBarLayout } from '../statebar.js';

/**
 * A target's states over a window as a coloured bar (up green, degraded amber, down red,
 * unknown grey); each segment's tooltip says its state and times.
 * @param {{segments: import('../statebar.js').StateSegment[]|undefined, from: string|number, to: string|number, label: string, small?: boolean}} p
 */
export function StateBar({ segments, from, to, label, small }) {
  const bar = stateBarLayout(segments || [], from, to, small ? 1 : 0.25);
  const fmt = (/** @type {number} */ t) => new Date(t).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  return html`<div class=${'statebar' + (small ? ' small' : '')} role="img" aria-label=${label}>
    ${bar.map((s) => html`<span class=${'sb sb-' + s.state} data-state=${s.state} style=${`left:${s.left}%;width:${s.width}%`}
      title=${small ? undefined : `${s.state}: ${fmt(s.from)} – ${fmt(s.to)}`}></span>`)}
  </div>`;
}
