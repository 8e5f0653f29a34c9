// Card order and collapsed cards, kept in localStorage per user.

/**
 * Orders items by a saved id order; ids not in it keep their relative order after the known ones.
 * @template {{id:string}} T
 * @param {T[]} items
 * @param {string[]} order
 * @returns {T[]}
 */
export function applyOrder(items, order) {
  const pos = new Map(order.map((id, i) => [id, i]));
  return items
    .map((it, i) => ({ it, k: pos.has(it.id) ? /** @type {number} */ (pos.get(it.id)) : order.length + i }))
    .sort((a, b) => a.k - b.k)
    .map((x) => x.it);
}

/**
 * Moves id by delta places within ids (clamped).
 * @param {string[]} ids current order
 * @param {string} id
 * @param {number} delta
 */
export function move(ids, id, delta) {
  const i = ids.indexOf(id);
  if (i < 0) return ids;
  const j = Math.max(0, Math.min(ids.length - 1, i + delta));
  const out = ids.slice();
  out.splice(i, 1);
  out.splice(j, 0, id);
  return out;
}

/** @param {string} key */
export function load(key) {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(key) || 'null');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** @param {string} key @param {string[]} ids */
export function save(key, ids) {
  try {
    globalThis.localStorage?.setItem(key, JSON.stringify(ids));
  } catch {
    /* storage full or disabled: order just isn't kept */
  }
}
