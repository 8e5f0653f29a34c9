// REST client: JSON in and out, errors as ApiError carrying the server's code and details.

/** An error answer from the API (`{"error":{code,message,details}}`) or a network failure. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 for a network failure
   * @param {string} code
   * @param {string} message
   * @param {any} [details]
   */
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** @type {(() => void) | null} called on any 401 so the app can show the login page */
let onUnauthenticated = null;

/** @param {() => void} fn */
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

/**
 * Calls the API. Resolves to the decoded JSON body (null for 204).
 * @param {string} method
 * @param {string} path starting with /api/v1/
 * @param {any} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers = { ...init.headers, 'Content-Type': 'application/json' };
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'cannot reach the server');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    if (res.status === 401 && onUnauthenticated && !path.endsWith('/auth/login')) onUnauthenticated();
    throw new ApiError(res.status, err.code || 'http_' + res.status, err.message || res.statusText || 'request failed', err.details);
  }
  return data;
}

/** @param {string} s */
export const enc = encodeURIComponent;
