// Row sorting and the filter box.

/** @typedef {'address'|'rtt'|'loss'} SortKey */

/**
 * Compares addresses so 10.0.0.2 sorts before 10.0.0.10 (numeric per part).
 * @param {string} a @param {string} b
 */
export function compareAddress(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Sorts rows (a copy). rtt: slowest first, lost ones first of all; loss: worst first.
 * @param {import('./live/model.js').TargetModel[]} rows
 * @param {SortKey} key
 */
export function sortRows(rows, key) {
  const out = rows.slice();
  if (key === 'address') out.sort((a, b) => compareAddress(a.address.peek(), b.address.peek()));
  else if (key === 'rtt') {
    const v = (/** @type {import('./live/model.js').TargetModel} */ t) =>
      t.state.peek() === 'down' ? Infinity : t.rtt.peek() ?? -1;
    out.sort((a, b) => v(b) - v(a) || compareAddress(a.address.peek(), b.address.peek()));
  } else {
    const v = (/** @type {import('./live/model.js').TargetModel} */ t) => t.loss.peek() ?? -1;
    out.sort((a, b) => v(b) - v(a) || compareAddress(a.address.peek(), b.address.peek()));
  }
  return out;
}

/**
 * Whether a row matches the filter box (read without subscribing: a row's update never re-renders its card): every word must appear in the address, IP, state
 * or the group's name ("down" finds the down rows).
 * @param {import('./live/model.js').TargetModel} t
 * @param {string} groupName
 * @param {string[]} words lower-case
 */
export function rowMatches(t, groupName, words) {
  if (!words.length) return true;
  const hay = (t.address.peek() + ' ' + (t.ip.peek() || '') + ' ' + t.state.peek() + ' ' + groupName).toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** @param {string} q */
export function filterWords(q) {
  return q.toLowerCase().split(/\s+/).filter(Boolean);
}
