import { useEffect, useRef, useState } from 'preact/hooks';
import { signal } from '@preact/signals';
import { html } from '../html.js';
import { api, ApiError } from '../api.js';
import { notifications, unread, deck, focusGroup, reloadGroups, flashError, flash, live } from '../state.js';
import { go } from '../router.js';

/** The notification offered as "add to my dashboard" (its card is not on the dashboard). */
const offer = signal(/** @type {any} */ (null));

/** @param {any} n */
async function openNotification(n) {
  if (!n.read_at) {
    try {
      const r = await api('POST', `/api/v1/notifications/${n.id}/read`);
      notifications.value = notifications.peek().map((x) => (x.id === n.id ? r : x));
    } catch {
      /* still open the card */
    }
  }
  if (n.kind === 'alert') {
    go('#/alerts');
    return;
  }
  go('#/');
  if (deck.byId.has(n.group_id)) {
    offer.value = null;
    focusGroup.value = n.group_id;
    return;
  }
  offer.value = null;
  // show the card now, even before it is pinned; offer to pin it only if it is still visible
  try {
    deck.upsert(await api('GET', '/api/v1/groups/' + n.group_id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) flash(`“${n.group_name}” is no longer shared with you (or was deleted).`, true);
    else flashError(e);
    return;
  }
  offer.value = n;
  live.subscribe([n.group_id]);
  focusGroup.value = n.group_id;
}

/** "Add to my dashboard" for a card opened from a notification. */
export function PinOffer() {
  const n = offer.value;
  if (!n) return null;
  const pin = async () => {
    try {
      await api('PUT', '/api/v1/me/pins/' + n.group_id);
      offer.value = null;
      flash(`“${n.group_name}” is on your dashboard`);
      await reloadGroups();
      focusGroup.value = n.group_id;
    } catch (e) {
      flashError(e);
    }
  };
  return html`<div class="banner offer" role="region" aria-label="Shared card">
    <span><b>${n.from}</b> ${n.kind === 'shared' ? 'shared' : 'asked you to look at'} <b>${n.group_name}</b>${n.message ? ': ' + n.message : ''}</span>
    <button type="button" class="primary small" onClick=${pin}>Add to my dashboard</button>
    <button type="button" class="btn small" onClick=${() => (offer.value = null)}>Dismiss</button>
  </div>`;
}

/**
 * When a notification came: the time today, else the date.
 * @param {string} iso
 */
function fmtWhen(iso) {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString()
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** The bell: unread count, and the list of notifications (each on one or two lines). */
export function Bell() {
  const [open, setOpen] = useState(false);
  /** @type {import('preact').RefObject<HTMLDivElement>} */
  const ref = useRef(null);
  useEffect(() => {
    if (!open) return;
    /** @param {MouseEvent} e */
    const away = (e) => {
      if (ref.current && !ref.current.contains(/** @type {Node} */ (e.target))) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    /** @type {HTMLElement|null|undefined} */ (ref.current?.querySelector('.note'))?.focus();
    return () => document.removeEventListener('mousedown', away);
  }, [open]);
  const n = unread.value;
  const list = notifications.value;
  return html`<div class="menu bell" ref=${ref} onKeyDown=${(/** @type {KeyboardEvent} */ e) => e.key === 'Escape' && setOpen(false)}>
    <button type="button" class="icon" aria-haspopup="true" aria-expanded=${open}
      aria-label=${n ? `Notifications, ${n} unread` : 'Notifications'} onClick=${() => setOpen(!open)}>
      <svg viewBox="0 0 16 16" aria-hidden="true"><path d="M8 16a2 2 0 0 0 2-2H6a2 2 0 0 0 2 2Zm5-5V7a5 5 0 0 0-4-4.9V1a1 1 0 0 0-2 0v1.1A5 5 0 0 0 3 7v4l-2 2v1h14v-1l-2-2Z"/></svg>${n > 0 && html`<span class="bell-count">${n}</span>`}
    </button>
    ${open && html`<div class="menu-list notes" role="dialog" aria-label="Notifications">
      ${!list.length && html`<p class="muted">No notifications.</p>`}
      ${list.slice(0, 30).map((x) => html`<button type="button" class=${'note' + (x.read_at ? '' : ' unread')}
          onClick=${() => { setOpen(false); openNotification(x); }}>
        ${x.kind === 'alert'
          ? html`<span class="note-line"><b>${x.group_name || 'A group'}</b> alert <time class="muted">${fmtWhen(x.created_at)}</time></span>
            <span class="note-line">${x.message}</span>`
          : html`<span class="note-line"><b>${x.from}</b> ${x.kind === 'shared' ? 'shared' : 'wants you to look at'} <b>${x.group_name}</b>
          <time class="muted">${fmtWhen(x.created_at)}</time></span>
        ${x.message && html`<span class="note-line msg">“${x.message}”</span>`}`}
      </button>`)}
    </div>`}
  </div>`;
}
