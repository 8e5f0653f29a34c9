import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';

const FOCUSABLE = 'a[href],button:not([disabled]),input:not([disabled]),select:not([disabled]),textarea:not([disabled]),[tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: the rest of the page is inert, Tab cycles inside, Escape closes, and
 * focus goes back where it was.
 * @param {{title: string, onClose: () => void, children?: any, wide?: boolean}} p
 */
export function Dialog({ title, onClose, children, wide }) {
  /** @type {import('preact').RefObject<HTMLDialogElement>} */
  const ref = useRef(null);
  const id = useRef('dlg-' + Math.random().toString(36).slice(2)).current;
  useEffect(() => {
    const d = ref.current;
    const before = /** @type {HTMLElement|null} */ (document.activeElement);
    if (d && !d.open && d.showModal) d.showModal();
    const first = d && /** @type {HTMLElement|null} */ (d.querySelector('[autofocus]') || d.querySelector('input,textarea,select') || d.querySelector(FOCUSABLE));
    if (first) first.focus();
    return () => {
      if (before && before.focus && document.contains(before)) before.focus();
    };
  }, []);
  /** @param {KeyboardEvent} e */
  const onKeyDown = (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onClose();
      return;
    }
    if (e.key !== 'Tab' || !ref.current) return;
    const items = /** @type {HTMLElement[]} */ ([...ref.current.querySelectorAll(FOCUSABLE)]).filter((el) => el.offsetParent !== null || el === document.activeElement);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };
  return html`<dialog ref=${ref} class=${'dlg' + (wide ? ' wide' : '')} aria-labelledby=${id}
      onCancel=${(/** @type {Event} */ e) => { e.preventDefault(); onClose(); }} onKeyDown=${onKeyDown}>
    <header class="dlg-head">
      <h2 id=${id}>${title}</h2>
      <button type="button" class="icon" aria-label="Close" onClick=${onClose}>✕</button>
    </header>
    <div class="dlg-body">${children}</div>
  </dialog>`;
}
