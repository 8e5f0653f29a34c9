// How a row sums up its cells (one per location the group is probed from), and where a
// group is probed from. Pure functions, tested in test/matrix.test.js.

/**
 * The key of the only cell of a group that has not said where it is probed from (an older
 * server): its results carry no location either.
 */
export const UNNAMED = '';

/**
 * The locations a group is probed from, in its order (the first is the one an older
 * server's results belong to).
 * @param {any} meta group JSON
 * @returns {string[]}
 */
export function groupLocations(meta) {
  const l = meta && meta.locations;
  return Array.isArray(l) && l.length ? l : [UNNAMED];
}

/**
 * The state of a row from what its cells show, in location order.
 * One cell: its own. Several: 'down' when every cell with an answer or a timeout is down,
 * 'partial' when some are ("down from Frankfurt only"), 'up' when none; with no such cell,
 * 'offline' when every location is offline, 'paused' when any cell is paused, else 'unknown'.
 * An offline location never makes a row down.
 * @param {string[]} views per cell: 'up'|'down'|'unknown'|'paused'|'offline'
 */
export function rowState(views) {
  if (views.length === 1) return views[0];
  let up = 0;
  let down = 0;
  let offline = 0;
  let paused = 0;
  for (const v of views) {
    if (v === 'up') up++;
    else if (v === 'down') down++;
    else if (v === 'offline') offline++;
    else if (v === 'paused') paused++;
  }
  if (down && !up) return 'down';
  if (down) return 'partial';
  if (up) return 'up';
  if (views.length && offline === views.length) return 'offline';
  return paused ? 'paused' : 'unknown';
}

/**
 * The largest of some numbers, ignoring nulls; null when there are none.
 * @param {(number|null)[]} xs
 */
export function worst(xs) {
  let m = null;
  for (const x of xs) if (x != null && (m === null || x > m)) m = x;
  return m;
}
