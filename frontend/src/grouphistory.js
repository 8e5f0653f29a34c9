// Per card: each target's uptime (24 h / 7 d / 30 d) and its 24 h state bar, read from
// GET …/uptime and …/statebar while the card is on screen, again every minute.
import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api, enc } from './api.js';

/** How often a shown card's uptime and state bars are read again. */
export const HISTORY_EVERY_MS = 60000;

/**
 * @typedef {{uptime: Record<string, {'24h': number|null, '7d': number|null, '30d': number|null}>,
 *   bar: {from: string, to: string, targets: Record<string, import('./statebar.js').StateSegment[]>}|null}} GroupHistory
 */

/** @type {Map<string, import('@preact/signals').Signal<GroupHistory|null>>} */
const byGroup = new Map();

/**
 * The signal holding a group's uptime and state bars (null until read).
 * @param {string} gid
 */
export function groupHistory(gid) {
  let s = byGroup.get(gid);
  if (!s) {
    s = signal(/** @type {GroupHistory|null} */ (null));
    byGroup.set(gid, s);
  }
  return s;
}

/**
 * Reads a group's uptime and 24 h state bars now.
 * @param {string} gid
 */
export async function loadGroupHistory(gid) {
  const [up, bar] = await Promise.all([
    api('GET', `/api/v1/groups/${enc(gid)}/uptime`).catch(() => null),
    api('GET', `/api/v1/groups/${enc(gid)}/statebar?range=24h`).catch(() => null),
  ]);
  if (!up && !bar) return;
  groupHistory(gid).value = { uptime: up?.targets || {}, bar: bar || null };
}

/**
 * Keeps a card's history fresh while active (the card is near the screen and expanded).
 * @param {string} gid
 * @param {boolean} active
 */
export function useGroupHistory(gid, active) {
  useEffect(() => {
    if (!active) return;
    loadGroupHistory(gid);
    const t = setInterval(() => {
      if (!document.hidden) loadGroupHistory(gid);
    }, HISTORY_EVERY_MS);
    return () => clearInterval(t);
  }, [gid, active]);
}
