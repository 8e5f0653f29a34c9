// The page's shared state: who is signed in, the deck of cards, the live socket, the
// notifications, and the dashboard preferences.
import { signal, computed, effect } from '@preact/signals';
import { api, ApiError, setUnauthenticatedHandler } from './api.js';
import { Deck } from './live/model.js';
import { LiveSocket } from './live/socket.js';
import { SparkRegistry } from './sparkline.js';
import { load, save } from './prefs.js';
import { firingCount, startAlerts, stopAlerts, poll as pollAlerts } from './alerts.js';
import { tabTitle } from './firing.js';

/** undefined while checking the session, null when signed out */
export const me = signal(/** @type {any} */ (undefined));
export const deck = new Deck();
export const sparks = new SparkRegistry();
export const filter = signal('');
/** @type {import('@preact/signals').Signal<{kind:string, g?:import('./live/model.js').GroupModel, [k:string]:any}|null>} */
export const dialog = signal(null);
/** a short message at the bottom of the screen */
export const toast = signal(/** @type {{text:string, error?:boolean}|null} */ (null));
export const loadError = signal(/** @type {string|null} */ (null));
export const loading = signal(false);
export const notifications = signal(/** @type {any[]} */ ([]));
export const unread = computed(() => notifications.value.filter((n) => !n.read_at).length);
/** group id to scroll to and highlight (opened from a notification) */
export const focusGroup = signal(/** @type {string|null} */ (null));

const orderKey = () => 'pingdeck.order.' + (me.peek()?.id || '');
const collapsedKey = () => 'pingdeck.collapsed.' + (me.peek()?.id || '');
export const order = signal(/** @type {string[]} */ ([]));
export const collapsed = signal(/** @type {Set<string>} */ (new Set()));

/** @param {string[]} ids */
export function setOrder(ids) {
  order.value = ids;
  save(orderKey(), ids);
}

/** @param {string} id */
export function toggleCollapsed(id) {
  const s = new Set(collapsed.peek());
  if (s.has(id)) s.delete(id);
  else s.add(id);
  collapsed.value = s;
  save(collapsedKey(), [...s]);
}

export const live = new LiveSocket({
  deck,
  onResults: (targets) => sparks.changed(targets),
  onNotification: (n) => {
    notifications.value = [n, ...notifications.peek().filter((x) => x.id !== n.id)];
    if (n.kind === 'alert') {
      // an alert rule fired or resolved: the badges need not wait for the next poll
      flash((n.group_name ? n.group_name + ': ' : '') + (n.message || 'an alert changed'), !/resolved/.test(n.message || ''));
      pollAlerts();
      return;
    }
    flash(`${n.from}: ${n.message || 'shared “' + n.group_name + '” with you'}`);
  },
  onSessionEnded: () => signedOut(),
  onAccessRevoked: () => reloadGroups(),
  // a reconnect after the user's rights changed (close 1012) brings their new admin flag
  onHello: (u) => {
    const cur = me.peek();
    if (cur && u && cur.id === u.id && cur.is_admin !== u.is_admin) {
      me.value = { ...cur, is_admin: u.is_admin };
      reloadGroups();
    }
  },
});

/** When the locations were last read over REST (ms epoch): at most once per LOCATIONS_EVERY_MS. */
let locationsReadAt = 0;
const LOCATIONS_EVERY_MS = 2000;

/**
 * Reads the locations and their online states again (a group was given a location the
 * stream has not named: an agent created since, offline from the start).
 */
export async function refreshLocations() {
  if (Date.now() - locationsReadAt < LOCATIONS_EVERY_MS) return;
  locationsReadAt = Date.now();
  try {
    const res = await api('GET', '/api/v1/locations');
    deck.setLocations(res.locations || []);
  } catch {
    /* the next locations message brings them */
  }
}
deck.onUnknownLocation = () => {
  refreshLocations();
};

/** How long the stream may be down before the cards say their figures are stale. */
const STALE_AFTER_MS = 3000;
/** The wall clock, ticking once a second while the dashboard is open. */
export const clock = signal(Date.now());
/** When the cards' figures stopped being live (ms epoch), once the stream has been down > 3 s; 0 while live. */
export const staleSince = computed(() => {
  const d = live.downSince.value;
  return d && clock.value - d > STALE_AFTER_MS ? d : 0;
});
/** @type {any} */
let ticker = null;

/** Targets shown down on the page, from every location or some (for the tab title). */
export const downCount = computed(() => {
  let n = 0;
  for (const g of deck.groups.value) {
    for (const t of g.targets.value) {
      const s = t.state.value;
      if (s === 'down' || s === 'partial') n++;
    }
  }
  return n;
});

/** @param {string} text @param {boolean} [error] */
export function flash(text, error = false) {
  toast.value = { text, error };
  const mine = toast.peek();
  setTimeout(() => {
    if (toast.peek() === mine) toast.value = null;
  }, 5000);
}

/** @param {unknown} e */
export function flashError(e) {
  flash(e instanceof Error ? e.message : String(e), true);
}

effect(() => {
  const signed = !!me.value;
  if (globalThis.document) document.title = signed ? tabTitle(firingCount.value, downCount.value) : 'pingdeck';
});

function signedOut() {
  clearInterval(ticker);
  ticker = null;
  live.stop();
  stopAlerts();
  deck.setList([]);
  notifications.value = [];
  me.value = null;
}
setUnauthenticatedHandler(() => {
  if (me.peek()) signedOut();
});

/** Checks the session cookie at start-up; the dashboard opens the socket once signed in. */
export async function checkSession() {
  try {
    me.value = await api('GET', '/api/v1/me');
  } catch (e) {
    me.value = null;
    if (!(e instanceof ApiError) || e.status !== 401) loadError.value = 'cannot reach the server: ' + /** @type {Error} */ (e).message;
  }
}

/** @param {string} username @param {string} password */
export async function login(username, password) {
  const res = await api('POST', '/api/v1/auth/login', { username, password });
  me.value = res.user;
}

export async function logout() {
  try {
    await api('POST', '/api/v1/auth/logout');
  } finally {
    signedOut();
  }
}

/** Loads the preferences of the signed-in user, the cards, their targets and the notifications, then goes live. */
export async function startDashboard() {
  order.value = load(orderKey());
  collapsed.value = new Set(load(collapsedKey()));
  live.start();
  startAlerts(me.peek()?.id || '');
  clearInterval(ticker);
  ticker = setInterval(() => {
    clock.value = Date.now();
    deck.age(live.serverNow());
  }, 1000);
  await reloadGroups();
  loadNotifications();
}

/** Re-reads the card list (after creating, deleting or pinning a group). */
export async function reloadGroups() {
  loading.value = true;
  try {
    const res = await api('GET', '/api/v1/groups?scope=dashboard');
    deck.setList(res.groups || []);
    live.follow(deck.groups.peek().map((g) => g.id));
    loadError.value = null;
    loadTargetsSoon();
  } catch (e) {
    loadError.value = /** @type {Error} */ (e).message;
  } finally {
    loading.value = false;
  }
}

/**
 * Fills cards the socket has not: at once when it is down, else after giving its
 * snapshots a moment (each card's snapshot carries its targets and recent samples).
 */
function loadTargetsSoon(waited = 0) {
  const s = live.state.peek();
  if (s === 'reconnecting' || s === 'offline' || waited >= 4000) loadTargets();
  else setTimeout(() => loadTargetsSoon(waited + 500), 500);
}

/** Fetches the targets of cards no snapshot has filled yet, a few at a time. */
async function loadTargets() {
  const todo = deck.groups.peek().filter((g) => !g.loaded.peek());
  const worker = async () => {
    for (let g = todo.shift(); g; g = todo.shift()) {
      if (g.loaded.peek()) continue;
      try {
        deck.upsert(await api('GET', '/api/v1/groups/' + g.id), false);
      } catch {
        /* the card shows its header; a snapshot or the next reload fills it */
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

/** Re-reads one group (after a change made here, in case no group_updated arrives). @param {string} id */
export async function reloadGroup(id) {
  try {
    deck.upsert(await api('GET', '/api/v1/groups/' + id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) deck.remove(id);
  }
}

export async function loadNotifications() {
  try {
    const res = await api('GET', '/api/v1/notifications');
    notifications.value = res.notifications || [];
  } catch (e) {
    flashError(e);
  }
}

/** @param {any} g group meta */
export function canEdit(g) {
  return g.role === 'owner' || g.role === 'admin' || g.role === 'editor';
}

/** @param {any} g group meta */
export function canOwn(g) {
  return g.role === 'owner' || g.role === 'admin';
}
