// Hash routes, so every page is a permalink and the server needs no SPA fallback:
//   #/                         dashboard
//   #/report/<gid>?from=<unix s>&range=<s>[&location=<name>]
//   #/target/<gid>/<tid>
//   #/tokens                   your API tokens
//   #/users                    user management (administrators)
//   #/agents                   agents probing from other sites (administrators)
//   #/alerts                   firing alerts, their history, maintenance windows
//   #/channels                 notification channels (yours and your groups')
import { signal } from '@preact/signals';

/** @typedef {{page:'dashboard'|'report'|'target'|'tokens'|'users'|'agents'|'alerts'|'channels'|'notfound', gid?:string, tid?:string, q: URLSearchParams}} Route */

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
  if (['tokens', 'users', 'agents', 'alerts', 'channels'].includes(parts[0]) && parts.length === 1) return { page: /** @type {Route['page']} */ (parts[0]), q };
  if (parts.length) return { page: 'notfound', q };
  return { page: 'dashboard', q };
}

/**
 * @param {string} gid
 * @param {number} from unix seconds
 * @param {number} range seconds
 * @param {string} [location] only the results probed from there ('' or none: all)
 */
export function reportHash(gid, from, range, location) {
  return `#/report/${encodeURIComponent(gid)}?from=${from}&range=${range}` + (location ? '&location=' + encodeURIComponent(location) : '');
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
