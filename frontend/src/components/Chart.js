import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';

/** uPlot is loaded on first use, so the dashboard does not pay for it. */
let uplotP = /** @type {Promise<any>|null} */ (null);
function loadUPlot() {
  if (!uplotP) uplotP = Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([m]) => m.default);
  return uplotP;
}

/**
 * A uPlot chart of RTT (left axis, ms) and loss (right axis, %) over time.
 * @param {{data: [number[], ...(number|null)[][]], series: {label: string, color: string, loss?: boolean, points?: boolean}[], height?: number, label?: string}} p
 *   data[0] is unix seconds
 */
export function Chart({ data, series, height = 260, label }) {
  /** @type {import('preact').RefObject<HTMLDivElement>} */
  const ref = useRef(null);
  const plot = useRef(/** @type {any} */ (null));
  const latest = useRef(data);
  latest.current = data;
  const shape = series.map((s) => s.label + (s.points ? ' •' : '')).join('|');
  useEffect(() => {
    let gone = false;
    /** @type {ResizeObserver|undefined} */
    let ro;
    loadUPlot().then((UPlot) => {
      if (gone || !ref.current) return;
      const width = ref.current.clientWidth || 600;
      // canvas cannot use CSS variables: resolve the theme's colours now
      const cs = getComputedStyle(document.documentElement);
      const fg2 = cs.getPropertyValue('--fg2').trim() || '#5b6470';
      const grid = cs.getPropertyValue('--grid').trim() || '#0000000f';
      const opts = {
        width,
        height,
        scales: { x: { time: true }, ms: { auto: true, range: (/** @type {any} */ _u, /** @type {number} */ _min, /** @type {number} */ max) => [0, max > 0 ? max * 1.1 : 1] }, pct: { range: [0, 100] } },
        axes: [
          { stroke: fg2, grid: { stroke: grid }, ticks: { stroke: grid }, space: 80 },
          { scale: 'ms', label: 'RTT ms', stroke: fg2, grid: { stroke: grid }, ticks: { stroke: grid } },
          { scale: 'pct', side: 1, label: 'loss %', stroke: fg2, grid: { show: false }, ticks: { stroke: grid } },
        ],
        series: [
          {},
          ...series.map((s) =>
            s.loss
              ? { label: s.label, scale: 'pct', stroke: s.color, fill: s.color + '33', width: 1, paths: UPlot.paths.stepped({ align: 1 }), points: { show: !!s.points, size: 5 } }
              : { label: s.label, scale: 'ms', stroke: s.color, width: 1.5, spanGaps: false, points: { show: !!s.points, size: 5 } },
          ),
        ],
        legend: { live: true },
      };
      plot.current = new UPlot(opts, latest.current, ref.current);
      ro = new ResizeObserver(() => {
        if (plot.current && ref.current) plot.current.setSize({ width: ref.current.clientWidth, height });
      });
      ro.observe(ref.current);
    });
    return () => {
      gone = true;
      ro && ro.disconnect();
      plot.current && plot.current.destroy();
      plot.current = null;
    };
  }, [shape, height]);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);
  return html`<div class="chart" ref=${ref} role="img" aria-label=${label || 'chart'}></div>`;
}
