// What changed between two polls of the firing alerts, how many fire per group, and the
// tab title. Pure, so it is tested without a browser.

/**
 * @typedef {{id: string, rule_id: string, rule_name: string, group_id: string, group_name: string,
 *   started_at: string, resolved_at: string|null, targets: number}} Alert
 */

/**
 * Alerts that started firing and that stopped, between the previous poll's list and this one.
 * The first poll (prev null) reports nothing: what already fires is not news.
 * @param {Alert[]|null} prev
 * @param {Alert[]} next
 * @returns {{started: Alert[], resolved: Alert[]}}
 */
export function firingChanges(prev, next) {
  if (!prev) return { started: [], resolved: [] };
  const before = new Map(prev.map((a) => [a.id, a]));
  const now = new Set(next.map((a) => a.id));
  return {
    started: next.filter((a) => !before.has(a.id)),
    resolved: prev.filter((a) => !now.has(a.id)),
  };
}

/**
 * How many alerts fire per group id.
 * @param {Alert[]} list
 */
export function firingByGroup(list) {
  /** @type {Map<string, number>} */
  const m = new Map();
  for (const a of list) m.set(a.group_id, (m.get(a.group_id) || 0) + 1);
  return m;
}

/**
 * The tab title: firing alerts first ("(2) pingdeck"); with none firing, targets shown down
 * ("(1 down) pingdeck"); else "pingdeck".
 * @param {number} firing
 * @param {number} down
 */
export function tabTitle(firing, down) {
  if (firing > 0) return `(${firing}) pingdeck`;
  if (down > 0) return `(${down} down) pingdeck`;
  return 'pingdeck';
}
