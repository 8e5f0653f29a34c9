// Firing alerts across the groups the user can see: polled every 15 s and when the window
// gets focus (GET /api/v1/alerts?state=firing), for the cards' badges, the tab title and,
// when the user opted in, the browser's notifications.
import { signal, computed } from '@preact/signals';
import { api } from './api.js';
import { firingChanges, firingByGroup } from './firing.js';

/** How often the firing alerts are read. */
export const POLL_MS = 15000;

/** The firing alerts, newest first; null before the first answer. */
export const firing = signal(/** @type {import('./firing.js').Alert[]|null} */ (null));
/** Firing alerts per group id (empty before the first answer). */
export const firingPerGroup = computed(() => firingByGroup(firing.value || []));
/** How many alerts fire (0 before the first answer). */
export const firingCount = computed(() => (firing.value || []).length);
/** Whether the user asked for browser notifications here (and the browser allowed them). */
export const notifyOn = signal(false);

let userKey = '';
/** @type {any} */
let timer = null;
let started = false;
let polling = false;

const prefKey = () => 'pingdeck.notify.' + userKey;

const onFocus = () => {
  poll();
};

/**
 * Starts polling for a signed-in user (idempotent).
 * @param {string} userId
 */
export function startAlerts(userId) {
  userKey = userId;
  try {
    notifyOn.value = globalThis.localStorage?.getItem(prefKey()) === '1' && notificationPermission() === 'granted';
  } catch {
    notifyOn.value = false;
  }
  if (started) return;
  started = true;
  poll();
  timer = setInterval(poll, POLL_MS);
  globalThis.addEventListener?.('focus', onFocus);
}

/** Stops polling and forgets the alerts (signed out). */
export function stopAlerts() {
  started = false;
  clearInterval(timer);
  timer = null;
  globalThis.removeEventListener?.('focus', onFocus);
  firing.value = null;
}

/** Reads the firing alerts now (after a change made here, or on focus). */
export async function poll() {
  if (polling || !started) return;
  polling = true;
  try {
    const res = await api('GET', '/api/v1/alerts?state=firing');
    if (!started) return;
    /** @type {import('./firing.js').Alert[]} */
    const next = (res.alerts || []).filter((/** @type {any} */ a) => !a.resolved_at);
    const { started: began, resolved } = firingChanges(firing.peek(), next);
    firing.value = next;
    if (notifyOn.peek()) {
      for (const a of began) show(`Alert: ${a.rule_name}`, `${a.group_name}: firing since ${new Date(a.started_at).toLocaleTimeString()} (${a.targets} target${a.targets === 1 ? '' : 's'})`, a.id);
      for (const a of resolved) show(`Resolved: ${a.rule_name}`, `${a.group_name}: back to normal`, a.id);
    }
  } catch {
    /* the next poll tries again; the badges keep their last figures */
  } finally {
    polling = false;
  }
}

/** The browser's notification permission, or 'unsupported'. */
export function notificationPermission() {
  const N = /** @type {any} */ (globalThis).Notification;
  return N ? /** @type {string} */ (N.permission) : 'unsupported';
}

/**
 * Turns browser notifications on (asking the browser's permission) or off. Resolves to
 * what the user got: '' or why not.
 * @param {boolean} on
 */
export async function setNotify(on) {
  const N = /** @type {any} */ (globalThis).Notification;
  if (on) {
    if (!N) return 'this browser has no notifications';
    let p = N.permission;
    if (p !== 'granted') p = await N.requestPermission();
    if (p !== 'granted') {
      notifyOn.value = false;
      return p === 'denied' ? 'notifications are blocked for this site in the browser settings' : 'permission not given';
    }
  }
  notifyOn.value = on;
  try {
    globalThis.localStorage?.setItem(prefKey(), on ? '1' : '0');
  } catch {
    /* not kept */
  }
  return '';
}

/**
 * Shows one browser notification (tagged by alert, so a resolve replaces its firing).
 * @param {string} title @param {string} body @param {string} tag
 */
function show(title, body, tag) {
  const N = /** @type {any} */ (globalThis).Notification;
  if (!N || N.permission !== 'granted') return;
  try {
    const n = new N(title, { body, tag, icon: './favicon.svg' });
    n.onclick = () => {
      globalThis.focus?.();
      location.hash = '#/alerts';
    };
  } catch {
    /* some browsers only allow notifications from a service worker */
  }
}
