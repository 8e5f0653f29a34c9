// Reconnect delays for the live socket.

/**
 * Exponential backoff with "equal jitter": half the delay is fixed, half random, so a
 * server restart does not get every browser back in the same millisecond.
 * attempt 0 → 250–500 ms, 1 → 0.5–1 s, … capped at 15–30 s.
 * @param {number} attempt number of failed attempts so far (0 for the first retry)
 * @param {() => number} [rand] uniform in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, rand = Math.random) {
  const base = Math.min(30000, 500 * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + (base / 2) * rand());
}
