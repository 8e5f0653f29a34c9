// Row sorting and the filter box.

/** @typedef {'address'|'rtt'|'loss'|`loc:${string}`} SortKey `loc:<name>` sorts by that location's cell */

/**
 * Compares addresses so 10.0.0.2 sorts before 10.0.0.10 (numeric per part).
 * @param {string} a @param {string} b
 */
export function compareAddress(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * How bad an RTT column entry is, for sorting worst first: down first of all, then down
 * from some locations, then the slowest; offline and nothing last.
 * @param {string} state @param {number|null} rtt
 */
function rttRank(state, rtt) {
  if (state === 'down') return Infinity;
  if (state === 'partial') return Number.MAX_VALUE;
  if (state === 'offline') return -2;
  return rtt ?? -1;
}

/**
 * Sorts rows (a copy). rtt: slowest first, lost ones first of all; loss: worst first;
 * loc:<name>: by that location's cell as rtt does.
 * @param {import('./live/model.js').TargetModel[]} rows
 * @param {SortKey} key
 */
export function sortRows(rows, key) {
  const out = rows.slice();
  /** @param {(t: import('./live/model.js').TargetModel) => number} v */
  const worstFirst = (v) => out.sort((a, b) => v(b) - v(a) || compareAddress(a.address.peek(), b.address.peek()));
  if (key === 'address') out.sort((a, b) => compareAddress(a.address.peek(), b.address.peek()));
  else if (key === 'rtt') worstFirst((t) => rttRank(t.state.peek(), t.rtt.peek()));
  else if (key === 'loss') worstFirst((t) => t.loss.peek() ?? -1);
  else {
    const loc = key.slice(4);
    worstFirst((t) => {
      const c = t.cells.get(loc);
      return c ? rttRank(c.view(), c.rtt.peek()) : -3;
    });
  }
  return out;
}

/**
 * Whether a row matches the filter box (read without subscribing: a row's update never re-renders its card): every word must appear in the address, IP, state,
 * the states of its locations' cells ("down" also finds rows down from one location only) or
 * the group's name.
 * @param {import('./live/model.js').TargetModel} t
 * @param {string} groupName
 * @param {string[]} words lower-case
 */
export function rowMatches(t, groupName, words) {
  if (!words.length) return true;
  const hay = (t.address.peek() + ' ' + (t.ip.peek() || '') + ' ' + t.state.peek() + ' ' + t.cellWords() + ' ' + groupName).toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** @param {string} q */
export function filterWords(q) {
  return q.toLowerCase().split(/\s+/).filter(Boolean);
}
