import { describe, it, expect } from 'vitest';
import { fmtRtt, fmtFrac, fmtBytes, splitTargetInput, lineResults, parseDurationS, fmtDurationS, pickStep } from '../src/format.js';
import { backoffDelay } from '../src/backoff.js';

describe('format', () => {
  it('formats RTTs like ping', () => {
    expect(fmtRtt(0.0456)).toBe('0.046 ms');
    expect(fmtRtt(12.345)).toBe('12.3 ms');
    expect(fmtRtt(null)).toBe('—');
    expect(fmtFrac(0.5)).toBe('50 %');
    expect(fmtFrac(null)).toBe('—');
  });

  it('formats an agent’s buffer in bytes', () => {
    expect([null, 0, 582, 1536, 12 * 1024 * 1024, 3 * 1024 ** 3].map(fmtBytes)).toEqual(['—', '0 B', '582 B', '1.5 KiB', '12 MiB', '3.0 GiB']);
  });

  it('splits pasted targets like the server', () => {
    expect(splitTargetInput('192.0.2.1, 192.0.2.2;192.0.2.3\n  host.example # core router\r\n\n2001:db8::/126 # lab')).toEqual([
      '192.0.2.1', '192.0.2.2', '192.0.2.3', 'host.example', '2001:db8::/126',
    ]);
    expect(splitTargetInput('# only a comment\n')).toEqual([]);
  });

  it('pairs every pasted line with its result; a duplicate skips the later copy', () => {
    const items = ['127.0.0.1', 'h.example', '224.0.0.1', '127.0.0.1', '10.0.0.0/30'];
    const added = [
      { address: '127.0.0.1', ip: '127.0.0.1' },
      { address: 'h.example', ip: '192.0.2.9' },
      { address: '10.0.0.1', ip: '10.0.0.1' },
      { address: '10.0.0.2', ip: '10.0.0.2' },
    ];
    const skipped = [
      { input: '224.0.0.1', reason: 'multicast address cannot be pinged' },
      { input: '127.0.0.1', reason: 'duplicate in input' },
    ];
    expect(lineResults(items, added, skipped)).toEqual([
      { input: '127.0.0.1', ok: true, detail: 'added' },
      { input: 'h.example', ok: true, detail: 'added → 192.0.2.9' },
      { input: '224.0.0.1', ok: false, detail: 'multicast address cannot be pinged' },
      { input: '127.0.0.1', ok: false, detail: 'duplicate in input' },
      { input: '10.0.0.0/30', ok: true, detail: 'added (range, 2 addresses)' },
    ]);
  });

  it('says per line that a name was added although it does not resolve yet', () => {
    const items = ['nope.invalid', 'gone.invalid'];
    const added = [{ address: 'nope.invalid', ip: null, unresolved: 'no such host' }];
    const skipped = [{ input: 'gone.invalid', reason: 'does not resolve: no such host' }];
    expect(lineResults(items, added, skipped)).toEqual([
      { input: 'nope.invalid', ok: true, detail: 'added, does not resolve yet (no such host)' },
      { input: 'gone.invalid', ok: false, detail: 'does not resolve: no such host' },
    ]);
  });

  it('parses and prints durations', () => {
    expect(parseDurationS('120')).toBe(120);
    expect(parseDurationS('5m')).toBe(300);
    expect(parseDurationS('1h30m')).toBe(5400);
    expect(parseDurationS('7d')).toBe(604800);
    expect(parseDurationS('5 minutes')).toBeNaN();
    expect([120, 300, 3600, 86400, 604800, 90].map(fmtDurationS)).toEqual(['120s', '5m', '1h', '24h', '7d', '90s']);
  });

  it('picks report steps that keep buckets bounded', () => {
    expect(pickStep(120)).toBe(1);
    expect(pickStep(300)).toBe(5);
    expect(pickStep(3600)).toBe(30);
    expect(pickStep(604800)).toBe(7200);
    for (const r of [120, 300, 3600, 86400, 604800]) expect(r / pickStep(r)).toBeLessThanOrEqual(120);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(0, () => 0)).toBe(250);
    expect(backoffDelay(0, () => 0.999999)).toBe(500);
    expect(backoffDelay(3, () => 0)).toBe(2000);
    expect(backoffDelay(50, () => 0.999999)).toBe(30000);
    expect(backoffDelay(50, () => 0)).toBe(15000);
  });
});

describe('human units', () => {
  it('formats durations without Go spellings', async () => {
    const { fmtDuration, plural } = await import('../src/format.js');
    const parseDuration = (/** @type {string} */ d) => 1000 * parseDurationS(d);
    expect(['200ms', '1s', '60s', '1m0s', '2m0s', '120s', '5m', '1h30m', '24h', '7d'].map((d) => fmtDuration(parseDuration(d)))).toEqual([
      '200 ms', '1 s', '1 min', '1 min', '2 min', '2 min', '5 min', '1 h 30 min', '1 d', '7 d',
    ]);
    expect(fmtDuration(1500)).toBe('1.5 s');
    expect(parseDuration('x')).toBeNaN();
    expect(parseDuration('5m junk')).toBeNaN();
    expect([plural(1, 'target'), plural(2, 'target'), plural(0, 'target')]).toEqual(['1 target', '2 targets', '0 targets']);
  });
});

describe('report window from the URL', () => {
  it('accepts every form the API accepts', async () => {
    const { reportWindow, hasIsolated } = await import('../src/pages/Report.js');
    const w = (/** @type {string} */ qs) => reportWindow(new URLSearchParams(qs));
    expect(w('from=1795341600&range=5m')).toEqual({ from: 1795341600, range: 300 });
    expect(w('from=2026-11-22T10:00:00Z&range=120')).toEqual({ from: 1795341600, range: 120 });
    expect(w('floor_time=1795341600&time_range=1h')).toEqual({ from: 1795341600, range: 3600 });
    expect(w('range=7d').range).toBe(604800);
    expect(w('range=2m0s').range).toBe(120);
    expect(w('range=nonsense')).toEqual({ from: NaN, range: 120 });
    expect(hasIsolated([null, 1, null])).toBe(true);
    expect(hasIsolated([1])).toBe(true);
    expect(hasIsolated([1, 2, null])).toBe(false);
  });
});
