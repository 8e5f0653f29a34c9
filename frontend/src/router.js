// Hash routes, so every page is a permalink and the server needs no SPA fallback:
//   #/                         dashboard
//   #/report/<gid>?from=<unix s>&range=<s>
//   #/target/<gid>/<tid>
//   #/tokens                   your API tokens
//   #/users                    user management (administrators)
import { signal } from '@preact/signals';

/** @typedef {{page:'dashboard'|'report'|'target'|'tokens'|'users'|'notfound', gid?:string, tid?:string, q: URLSearchParams}} Route */

/**
 * @param {string} hash location.hash
 * @returns {Route}
 */
export function parseRoute(hash) {
  const h = hash.replace(/^#\/?/, '');
  const [path, query = ''] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query);
  if (parts[0] === 'report' && parts[1]) return { page: 'report', gid: parts[1], q };
  if (parts[0] === 'target' && parts[1] && parts[2]) return { page: 'target', gid: parts[1], tid: parts[2], q };
  if ((parts[0] === 'tokens' || parts[0] === 'users') && parts.length === 1) return { page: parts[0], q };
  if (parts.length) return { page: 'notfound', q };
  return { page: 'dashboard', q };
}

/**
 * @param {string} gid
 * @param {number} from unix seconds
 * @param {number} range seconds
 */
export function reportHash(gid, from, range) {
  return `#/report/${encodeURIComponent(gid)}?from=${from}&range=${range}`;
}

export const route = signal(parseRoute(globalThis.location ? location.hash : ''));

if (globalThis.addEventListener) {
  addEventListener('hashchange', () => {
    route.value = parseRoute(location.hash);
  });
}

/** @param {string} hash */
export function go(hash) {
  if (location.hash === hash) route.value = parseRoute(hash);
  else location.hash = hash;
}

/** Replaces the current URL without a history entry (a report's resolved window). @param {string} hash */
export function replace(hash) {
  history.replaceState(null, '', hash);
  route.value = parseRoute(hash);
}
