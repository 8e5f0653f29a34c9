// Row sparklines: a small canvas per row, drawn by hand (no chart library), redrawn only
// when the row got samples and its canvas is on screen.
import { SPARK_SAMPLES, isLoss } from './live/model.js';

/**
 * Where each of the last n samples goes on a w×h canvas: newest at the right edge, one
 * slot per sample, y scaled from 0 to a little above the largest RTT shown.
 * @param {import('./live/model.js').Sample[]} samples oldest first
 * @param {number} w
 * @param {number} h
 * @param {number} [n] slots
 * @returns {{points: ({x:number,y:number}|null)[], losses: number[], unsent: number[], max: number}}
 *   points: one per ok sample (null where a failure breaks the line); losses: x of each lost
 *   packet; unsent: x of each probe that never left (no address, send refused)
 */
export function sparkGeometry(samples, w, h, n = SPARK_SAMPLES) {
  const shown = samples.length > n ? samples.slice(samples.length - n) : samples;
  let max = 0;
  for (const s of shown) if (s.ok && s.rtt_ms != null && s.rtt_ms > max) max = s.rtt_ms;
  max = max > 0 ? max * 1.15 : 1;
  const slot = w / n;
  const pad = 1;
  /** @type {({x:number,y:number}|null)[]} */
  const points = [];
  /** @type {number[]} */
  const losses = [];
  /** @type {number[]} */
  const unsent = [];
  const offset = n - shown.length;
  for (let i = 0; i < shown.length; i++) {
    const s = shown[i];
    const x = (offset + i + 0.5) * slot;
    if (s.ok && s.rtt_ms != null) {
      points.push({ x, y: h - pad - (s.rtt_ms / max) * (h - 2 * pad) });
    } else {
      if (isLoss(s)) losses.push(x);
      else if (!s.ok) unsent.push(x);
      points.push(null);
    }
  }
  return { points, losses, unsent, max };
}

/** Colours per scheme, read once from CSS custom properties. */
let colors = { line: '#2b7de9', loss: '#d93025', unsent: '#8b949e' };

/** Rereads the colours (call after the colour scheme changes). */
export function readColors() {
  if (!globalThis.getComputedStyle || !globalThis.document) return;
  const cs = getComputedStyle(document.documentElement);
  colors = {
    line: cs.getPropertyValue('--spark').trim() || colors.line,
    loss: cs.getPropertyValue('--down').trim() || colors.loss,
    unsent: cs.getPropertyValue('--fg2').trim() || colors.unsent,
  };
}

/**
 * Draws samples onto a canvas (device pixels already sized).
 * @param {HTMLCanvasElement} canvas
 * @param {import('./live/model.js').Sample[]} samples
 */
export function drawSparkline(canvas, samples) {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const g = sparkGeometry(samples, w, h);
  ctx.lineWidth = Math.max(1, Math.round(w / 120));
  ctx.strokeStyle = colors.line;
  ctx.beginPath();
  let pen = false;
  for (const p of g.points) {
    if (!p) {
      pen = false;
      continue;
    }
    if (pen) ctx.lineTo(p.x, p.y);
    else {
      ctx.moveTo(p.x, p.y);
      // a lone point still shows
      ctx.lineTo(p.x + 0.5, p.y);
      pen = true;
    }
  }
  ctx.stroke();
  const bw = Math.max(1, Math.floor(w / SPARK_SAMPLES) - 1);
  ctx.fillStyle = colors.loss;
  for (const x of g.losses) ctx.fillRect(Math.round(x - bw / 2), 0, bw, h);
  // a probe that never left is not a lost packet: a short grey mark, not a red bar
  ctx.fillStyle = colors.unsent;
  for (const x of g.unsent) ctx.fillRect(Math.round(x - bw / 2), h - Math.max(2, Math.round(h / 4)), bw, Math.max(2, Math.round(h / 4)));
}

/** @typedef {{version: number, recent: () => import('./live/model.js').Sample[], target?: any}} SparkSource a target (its first location) or one cell */

/**
 * Owns every sparkline canvas on the page: one IntersectionObserver tells which are on
 * screen; `changed` redraws the visible ones whose target got samples; the rest are drawn
 * when they scroll into view. A canvas shows a target's first location or one cell (a
 * location of it); either way it is found by its target.
 */
export class SparkRegistry {
  constructor() {
    /** @type {Map<Element, {src: SparkSource, visible: boolean, drawn: number}>} */
    this.canvases = new Map();
    /** @type {Map<any, Set<HTMLCanvasElement>>} canvases per target */
    this.byTarget = new Map();
    this.io =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => this.onIntersect(entries), { rootMargin: '200px 0px' })
        : null;
  }

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {SparkSource} src
   * @returns {() => void} unregister
   */
  register(canvas, src) {
    const dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    canvas.width = Math.round((canvas.clientWidth || 120) * dpr);
    canvas.height = Math.round((canvas.clientHeight || 24) * dpr);
    const entry = { src, visible: !this.io, drawn: -1 };
    const key = src.target || src;
    this.canvases.set(canvas, entry);
    let set = this.byTarget.get(key);
    if (!set) this.byTarget.set(key, (set = new Set()));
    set.add(canvas);
    if (this.io) this.io.observe(canvas);
    else this.draw(canvas, entry);
    return () => {
      this.canvases.delete(canvas);
      set.delete(canvas);
      if (!set.size) this.byTarget.delete(key);
      if (this.io) this.io.unobserve(canvas);
    };
  }

  /** @param {IntersectionObserverEntry[]} entries */
  onIntersect(entries) {
    for (const e of entries) {
      const entry = this.canvases.get(e.target);
      if (!entry) continue;
      entry.visible = e.isIntersecting;
      if (entry.visible && entry.drawn !== entry.src.version) this.draw(/** @type {HTMLCanvasElement} */ (e.target), entry);
    }
  }

  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{src: SparkSource, visible: boolean, drawn: number}} entry
   */
  draw(canvas, entry) {
    entry.drawn = entry.src.version;
    drawSparkline(canvas, entry.src.recent());
  }

  /**
   * Redraws the on-screen canvases of these targets (and of their cells).
   * @param {any[]} targets
   */
  changed(targets) {
    for (const t of targets) {
      const set = this.byTarget.get(t);
      if (!set) continue;
      for (const c of set) {
        const entry = this.canvases.get(c);
        if (entry && entry.visible && entry.drawn !== entry.src.version) this.draw(c, entry);
      }
    }
  }

  /** Redraws every visible canvas (colour scheme change). */
  redrawAll() {
    for (const [c, entry] of this.canvases) if (entry.visible) this.draw(/** @type {HTMLCanvasElement} */ (c), entry);
  }
}
