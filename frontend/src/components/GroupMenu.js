import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { dialog, canEdit, canOwn, deck, flashError } from '../state.js';
import { api } from '../api.js';
import { go, reportHash } from '../router.js';

/** Takes a shared or public card off my dashboard. @param {import('../live/model.js').GroupModel} g */
async function unpin(g) {
  try {
    await api('DELETE', '/api/v1/me/pins/' + g.id);
    deck.remove(g.id);
  } catch (e) {
    flashError(e);
  }
}

/**
 * The card's "⋯" menu: a button that opens a list of buttons. Arrow keys move, Escape closes.
 * @param {{g: import('../live/model.js').GroupModel, index: number, count: number, onMove: (id: string, d: number) => void}} p
 */
export function GroupMenu({ g, index, count, onMove }) {
  const [open, setOpen] = useState(false);
  /** @type {import('preact').RefObject<HTMLDivElement>} */
  const ref = useRef(null);
  const meta = g.meta.peek();
  useEffect(() => {
    if (!open) return;
    const first = ref.current?.querySelector('[role=menuitem]');
    if (first) /** @type {HTMLElement} */ (first).focus();
    /** @param {MouseEvent} e */
    const away = (e) => {
      if (ref.current && !ref.current.contains(/** @type {Node} */ (e.target))) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);
  /** @param {() => void} fn */
  const pick = (fn) => () => {
    setOpen(false);
    fn();
  };
  /** @param {KeyboardEvent} e */
  const onKey = (e) => {
    if (e.key === 'Escape') {
      setOpen(false);
      /** @type {HTMLElement|null|undefined} */ (ref.current?.querySelector('.menu-btn'))?.focus();
      return;
    }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    e.preventDefault();
    const items = /** @type {HTMLElement[]} */ ([...(ref.current?.querySelectorAll('[role=menuitem]') || [])]);
    const i = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const j = (i + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
    items[j]?.focus();
  };
  const now = Math.floor(Date.now() / 1000);
  const m = g.meta.value;
  const items = [
    ['Report…', () => go(reportHash(g.id, now - 120, 120)), true],
    ['Add targets…', () => (dialog.value = { kind: 'add', g }), canEdit(m)],
    ['Remove unreachable…', () => (dialog.value = { kind: 'prune', g }), canEdit(m)],
    ['Rename…', () => (dialog.value = { kind: 'rename', g }), canEdit(m)],
    ['Probe settings…', () => (dialog.value = { kind: 'probe', g }), canEdit(m)],
    ['Alert rules…', () => (dialog.value = { kind: 'rules', g }), true],
    ['Alert thresholds…', () => (dialog.value = { kind: 'thresholds', g }), true],
    ['Maintenance windows…', () => (dialog.value = { kind: 'silences', g }), true],
    ['Channels…', () => (dialog.value = { kind: 'gchannels', g }), canEdit(m)],
    ['Move up', () => onMove(g.id, -1), index > 0],
    ['Move down', () => onMove(g.id, 1), index < count - 1],
    ['Delete…', () => (dialog.value = { kind: 'delete', g }), canOwn(m)],
    ['Remove from my dashboard', () => unpin(g), m.role !== 'owner'],
  ].filter((x) => x[2]);
  return html`<div class="menu" ref=${ref} onKeyDown=${onKey}>
    <button type="button" class="icon menu-btn" aria-haspopup="menu" aria-expanded=${open}
      aria-label=${'Actions for ' + meta.name} onClick=${() => setOpen(!open)}>⋯</button>
    ${open && html`<div class="menu-list" role="menu">
      ${items.map(([label, fn]) => html`<button type="button" role="menuitem" class=${label === 'Delete…' ? 'danger' : ''}
        onClick=${pick(/** @type {() => void} */ (fn))}>${label}</button>`)}
    </div>`}
  </div>`;
}
