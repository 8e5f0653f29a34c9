import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { html } from '../html.js';
import { Spark } from './Spark.js';

/**
 * The matrix cell under the pointer: its target, location and where to draw its sparkline.
 * @type {import('@preact/signals').Signal<{cell: import('../live/cell.js').CellModel, address: string, x: number, below: number, above: number}|null>}
 */
export const hoveredCell = signal(null);

/** Width of the popover, px (it is kept inside the window). */
const WIDTH = 200;

/**
 * Handlers for a card body that show the popover of the matrix cell under the pointer
 * (one pair of listeners per card, not per cell).
 * @param {import('../live/model.js').GroupModel} g
 */
export function cellHoverHandlers(g) {
  return {
    /** @param {MouseEvent} e */
    onMouseOver(e) {
      const el = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest?.('.cell[data-loc]'));
      if (!el) return;
      const row = /** @type {HTMLElement|null} */ (el.closest('[data-target]'));
      const t = row && g.byId.get(row.dataset.target || '');
      const cell = t && t.cells.get(el.dataset.loc || '');
      if (!t || !cell) return;
      if (hoveredCell.peek()?.cell === cell) return;
      const r = el.getBoundingClientRect();
      const x = Math.max(4, Math.min(r.right - WIDTH, innerWidth - WIDTH - 4));
      hoveredCell.value = { cell, address: t.address.peek(), x, below: r.bottom + 4, above: r.top - 4 };
    },
    /** @param {MouseEvent} e */
    onMouseOut(e) {
      const from = /** @type {HTMLElement} */ (e.target).closest?.('.cell[data-loc]');
      const to = /** @type {HTMLElement|null} */ (e.relatedTarget);
      if (from && !(to && from.contains(to))) hoveredCell.value = null;
    },
  };
}

/** The sparkline and figures of the hovered matrix cell, beside it. */
export function CellPopover() {
  const h = hoveredCell.value;
  useEffect(() => {
    if (!h) return;
    // it is placed by the cell's position: once the page scrolls it would point elsewhere
    const hide = () => (hoveredCell.value = null);
    addEventListener('scroll', hide, { capture: true, once: true });
    return () => removeEventListener('scroll', hide, { capture: true });
  }, [h]);
  if (!h) return null;
  const c = h.cell;
  return html`<div class="cell-pop" role="tooltip" ref=${(/** @type {HTMLElement|null} */ el) => {
    if (!el) return;
    el.style.left = h.x + 'px';
    // below the cell, or above it when it would leave the window
    el.style.top = (h.below + el.offsetHeight > innerHeight && h.above > el.offsetHeight ? h.above - el.offsetHeight : h.below) + 'px';
  }}>
    <div class="pop-title"><b>${h.address}</b> from <b>${c.loc}</b></div>
    <${Spark} key=${c.target.groupId + '/' + c.target.id + '/' + c.loc} src=${c} cls="spark pop-spark" />
    <div class="pop-facts"><span class=${c.dot}></span> ${c.rttText} · loss 1m ${c.lossText}${c.reason.value && !c.offline.value ? html`<div class="muted">${c.errText}</div>` : ''}</div>
  </div>`;
}
