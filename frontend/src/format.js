// Formatting and parsing helpers shared by the pages. Pure functions, tested in test/format.test.js.

/**
 * Formats a round-trip time in milliseconds like ping does: 3 significant digits.
 * @param {number|null|undefined} ms
 */
export function fmtRtt(ms) {
  if (ms == null || !isFinite(ms)) return '—';
  if (ms < 1) return ms.toFixed(3) + ' ms';
  if (ms < 10) return ms.toFixed(2) + ' ms';
  if (ms < 100) return ms.toFixed(1) + ' ms';
  return Math.round(ms) + ' ms';
}

/**
 * Formats a fraction 0..1 as a percentage.
 * @param {number|null|undefined} f
 * @param {number} [digits]
 */
export function fmtFrac(f, digits = 0) {
  if (f == null || !isFinite(f)) return '—';
  return (f * 100).toFixed(digits) + ' %';
}

/**
 * Formats a percentage 0..100.
 * @param {number|null|undefined} p
 */
export function fmtPct(p, digits = 1) {
  if (p == null || !isFinite(p)) return '—';
  return p.toFixed(digits) + ' %';
}

/**
 * Formats a byte count in binary units: "0 B", "582 B", "1.5 KiB", "12 MiB".
 * @param {number|null|undefined} n
 */
export function fmtBytes(n) {
  if (n == null || !isFinite(n) || n < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 || n >= 10 ? String(Math.round(n)) : n.toFixed(1)) + ' ' + units[i];
}

/** @param {number|null|undefined} ms */
export function fmtMs(ms) {
  if (ms == null || !isFinite(ms)) return '—';
  return ms < 10 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(1);
}

/**
 * Splits pasted target text the way the server does (groups.SplitTargetInput): items are
 * separated by newlines, commas, semicolons and white space; '#' starts a comment to the
 * end of the line; empty items are dropped.
 * @param {string} text
 * @returns {string[]}
 */
export function splitTargetInput(text) {
  const out = [];
  for (const line of text.split(/\r?\n/)) {
    const hash = line.indexOf('#');
    const body = hash >= 0 ? line.slice(0, hash) : line;
    for (const item of body.split(/[\s,;]+/)) if (item) out.push(item);
  }
  return out;
}

/**
 * Pairs every pasted item with what the server did with it.
 * @param {string[]} items the pasted items, in order
 * @param {{address:string, ip:string|null}[]} added
 * @param {{input:string, reason:string}[]} skipped
 * @returns {{input:string, ok:boolean, detail:string}[]}
 */
export function lineResults(items, added, skipped) {
  /** @type {Map<string, string[]>} */
  const reasons = new Map();
  for (const s of skipped) {
    const list = reasons.get(s.input) || [];
    list.push(s.reason);
    reasons.set(s.input, list);
  }
  const addedBy = new Map(added.map((t) => [t.address, t]));
  const ranged = added.filter((a) => !items.includes(a.address)).length;
  // a skip of a repeated input ("duplicate in input") belongs to its later occurrences
  const out = new Array(items.length);
  for (let i = items.length - 1; i >= 0; i--) {
    const input = items[i];
    const r = reasons.get(input);
    if (r && r.length) {
      out[i] = { input, ok: false, detail: /** @type {string} */ (r.shift()) };
      continue;
    }
    const t = addedBy.get(input);
    if (t && t.unresolved) out[i] = { input, ok: true, detail: `added, does not resolve yet (${t.unresolved})` };
    else if (t) out[i] = { input, ok: true, detail: t.ip && t.ip !== t.address ? 'added → ' + t.ip : 'added' };
    else if (input.includes('/')) out[i] = { input, ok: true, detail: ranged ? `added (range, ${ranged} addresses)` : 'added (range)' };
    else out[i] = { input, ok: true, detail: 'added' };
  }
  return out;
}

/**
 * Parses a duration typed by a person: "120", "120s", "5m", "1h30m", "7d". Seconds; NaN if bad.
 * @param {string} s
 */
export function parseDurationS(s) {
  s = s.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  let total = 0;
  let m;
  let pos = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * unit[/** @type {keyof typeof unit} */ (m[2])];
    pos = re.lastIndex;
  }
  return pos === s.length && pos > 0 ? total : NaN;
}

/**
 * Formats seconds compactly: 120 → "120s", 300 → "5m", 3600 → "1h", 86400 → "24h", 604800 → "7d".
 * @param {number} s
 */
export function fmtDurationS(s) {
  if (s >= 86400 * 2 && s % 86400 === 0) return s / 86400 + 'd';
  if (s >= 3600 && s % 3600 === 0) return s / 3600 + 'h';
  if (s > 120 && s % 60 === 0) return s / 60 + 'm';
  return s + 's';
}

const NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/**
 * Picks a report bucket size giving at most ~maxBuckets buckets over rangeS seconds.
 * @param {number} rangeS
 * @param {number} [maxBuckets]
 */
export function pickStep(rangeS, maxBuckets = 120) {
  for (const s of NICE_STEPS) if (rangeS / s <= maxBuckets) return s;
  return NICE_STEPS[NICE_STEPS.length - 1];
}

/**
 * A unix-seconds time as the value of an <input type="datetime-local"> (local time, seconds).
 * @param {number} unixS
 */
export function toLocalInput(unixS) {
  const d = new Date(unixS * 1000);
  const p = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** @param {string} v value of a datetime-local input */
export function fromLocalInput(v) {
  const t = new Date(v).getTime();
  return isFinite(t) ? Math.floor(t / 1000) : NaN;
}

/**
 * A duration in human units: "500 ms", "1 s", "1.5 s", "2 min", "1 h 30 min", "7 d".
 * @param {number|null|undefined} ms
 */
export function fmtDuration(ms) {
  if (ms == null || !isFinite(ms)) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return (Number.isInteger(s) ? s : +s.toFixed(1)) + ' s';
  const parts = [];
  let rest = Math.round(s);
  for (const [unit, size] of /** @type {const} */ ([['d', 86400], ['h', 3600], ['min', 60], ['s', 1]])) {
    if (rest >= size) {
      parts.push(Math.floor(rest / size) + ' ' + unit);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(' ');
}

/**
 * "1 target", "2 targets".
 * @param {number} n
 * @param {string} one
 * @param {string} [many]
 */
export function plural(n, one, many = one + 's') {
  return n + ' ' + (n === 1 ? one : many);
}

/**
 * HH:MM:SS of a time in the browser's zone.
 * @param {number} ms epoch
 */
export function fmtClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/**
 * When something happened, for account pages: "never", "just now", "5 min ago",
 * "3 h ago", or the date for anything older than a day.
 * @param {string|null|undefined} iso RFC 3339 time
 * @param {number} [now] ms epoch
 */
export function fmtAgo(iso, now = Date.now()) {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (!isFinite(t)) return '—';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return new Date(t).toLocaleString();
  if (s < 60) return 'just now';
  if (s < 86400) return fmtDuration(Math.floor(s / 60) * 60000) + ' ago';
  return new Date(t).toLocaleDateString();
}

/**
 * What a location is, for a tooltip: "local: this server", "fra: agent fra-1, offline,
 * last seen 5 min ago". Without what the server said of it, just its name.
 * @param {string} name
 * @param {{kind?: string, agent?: string, online?: boolean, last_seen?: string|null}|undefined} info
 * @param {number} [now] ms epoch
 */
export function locationTitle(name, info, now = Date.now()) {
  if (!info) return name;
  const what = info.kind === 'server' ? 'this server' : 'agent' + (info.agent ? ' ' + info.agent : '');
  if (info.online) return `${name}: ${what}, online`;
  return `${name}: ${what}, offline, ` + (info.last_seen ? 'last seen ' + fmtAgo(info.last_seen, now) : 'never seen');
}
