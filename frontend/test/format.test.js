import { describe, it, expect } from 'vitest';
import { fmtRtt, fmtFrac, splitTargetInput, lineResults, parseDurationS, fmtDurationS, pickStep } from '../src/format.js';
import { backoffDelay } from '../src/backoff.js';

describe('format', () => {
  it('formats RTTs like ping', () => {
    expect(fmtRtt(0.0456)).toBe('0.046 ms');
    expect(fmtRtt(12.345)).toBe('12.3 ms');
    expect(fmtRtt(null)).toBe('—');
    expect(fmtFrac(0.5)).toBe('50 %');
    expect(fmtFrac(null)).toBe('—');
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
