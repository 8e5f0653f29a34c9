import { describe, it, expect } from 'vitest';
import { sparkGeometry } from '../src/sparkline.js';
import { applyOrder, move } from '../src/prefs.js';
import { sortRows, rowMatches, filterWords } from '../src/sort.js';
import { parseRoute, reportHash } from '../src/router.js';
import { TargetModel } from '../src/live/model.js';
import { seriesColumns } from '../src/pages/Report.js';
import { pingLine, sampleColumns, notSentSummary } from '../src/pages/Target.js';

describe('sparkline geometry', () => {
  it('puts the newest sample at the right and scales to the largest RTT', () => {
    const s = [{ at: 1, ok: true, rtt_ms: 10 }, { at: 2, ok: false, rtt_ms: null }, { at: 3, ok: true, rtt_ms: 5 }];
    const g = sparkGeometry(s, 60, 20, 3);
    expect(g.points.length).toBe(3);
    expect(g.points[1]).toBeNull();
    expect(g.losses).toEqual([30]);
    expect(g.points[2].x).toBe(50);
    expect(g.points[0].y).toBeLessThan(g.points[2].y); // 10 ms is higher than 5 ms
    expect(g.points[0].y).toBeGreaterThan(0);
    expect(g.max).toBeCloseTo(11.5);
  });
  it('marks probes that never left apart from lost packets', () => {
    const s = [{ at: 1, ok: false, rtt_ms: null, err: 'timeout' }, { at: 2, ok: false, rtt_ms: null, err: 'resolve x: no such host' }, { at: 3, ok: true, rtt_ms: 1 }];
    const g = sparkGeometry(s, 60, 20, 3);
    expect(g.losses).toEqual([10]);
    expect(g.unsent).toEqual([30]);
  });
  it('shows only the last n and leaves the left empty when short', () => {
    const s = Array.from({ length: 100 }, (_, i) => ({ at: i, ok: true, rtt_ms: 1 }));
    expect(sparkGeometry(s, 120, 20, 60).points.length).toBe(60);
    const g = sparkGeometry(s.slice(0, 2), 120, 20, 60);
    expect(g.points[0].x).toBeCloseTo(117);
    expect(sparkGeometry([], 120, 20).max).toBe(1);
  });
});

describe('dashboard helpers', () => {
  it('orders cards by the saved order, new ones last', () => {
    const items = [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }];
    expect(applyOrder(items, ['c', 'x', 'a']).map((x) => x.id)).toEqual(['c', 'a', 'b', 'd']);
    expect(move(['a', 'b', 'c'], 'c', -1)).toEqual(['a', 'c', 'b']);
    expect(move(['a', 'b', 'c'], 'a', -1)).toEqual(['a', 'b', 'c']);
    expect(move(['a', 'b', 'c'], 'a', 5)).toEqual(['b', 'c', 'a']);
  });
  it('sorts rows by address numerically, by RTT and loss worst first', () => {
    const mk = (id, addr, rtt, loss, state = 'up') => {
      const t = new TargetModel('g', { id, address: addr, ip: addr, paused: false });
      t.rtt.value = rtt;
      t.loss.value = loss;
      t.state.value = state;
      return t;
    };
    const rows = [mk('1', '10.0.0.10', 5, 0), mk('2', '10.0.0.2', 1, 0.5), mk('3', '10.0.0.3', null, 1, 'down')];
    expect(sortRows(rows, 'address').map((t) => t.id)).toEqual(['2', '3', '1']);
    expect(sortRows(rows, 'rtt').map((t) => t.id)).toEqual(['3', '1', '2']);
    expect(sortRows(rows, 'loss').map((t) => t.id)).toEqual(['3', '2', '1']);
    expect(rowMatches(rows[2], 'edge', filterWords('DOWN 10.0.0'))).toBe(true);
    expect(rowMatches(rows[0], 'edge', filterWords('down'))).toBe(false);
    expect(rowMatches(rows[0], 'edge routers', filterWords('edge'))).toBe(true);
  });
  it('parses hash routes and builds report permalinks', () => {
    expect(parseRoute('').page).toBe('dashboard');
    const r = parseRoute(reportHash('g-1', 1700000000, 120));
    expect(r.page).toBe('report');
    expect(r.gid).toBe('g-1');
    expect(r.q.get('from')).toBe('1700000000');
    expect(r.q.get('range')).toBe('120');
    expect(parseRoute('#/target/g/t')).toMatchObject({ page: 'target', gid: 'g', tid: 't' });
  });
  it('turns report series and samples into chart columns, and writes ping lines', () => {
    const cols = seriesColumns([{ at: '2026-01-01T00:00:00Z', rtt_avg_ms: 1, rtt_p95_ms: 2, loss_pct: 0 }, { at: '2026-01-01T00:00:10Z', rtt_avg_ms: null, rtt_p95_ms: null, loss_pct: 100 }]);
    expect(cols).toEqual([[1767225600, 1767225610], [1, null], [2, null], [0, 100]]);
    expect(sampleColumns([{ at: 1000, ok: true, rtt_ms: 3 }, { at: '1970-01-01T00:00:02Z', ok: false, rtt_ms: null }])).toEqual([[1, 2], [3, null], [0, 100], [0, 0]]);
    // a probe that never left is no loss: it has its own marker
    const hist = [{ at: 1000, ok: false, rtt_ms: null, err: 'timeout' }, { at: 2000, ok: false, rtt_ms: null, err: 'no such host' }, { at: 3000, ok: false, rtt_ms: null, err: 'no such host' }];
    expect(sampleColumns(hist)).toEqual([[1, 2, 3], [null, null, null], [100, 0, 0], [0, 100, 100]]);
    expect(notSentSummary(hist)).toBe('2 not sent: no such host');
    expect(notSentSummary([{ at: 1, ok: true, rtt_ms: 1 }])).toBe('');
    expect(pingLine({ at: 0, ok: true, rtt_ms: 0.0451 }, 3, '127.0.0.1', 64)).toMatch(/64 bytes from 127\.0\.0\.1: icmp_seq=3 time=0\.045 ms$/);
    expect(pingLine({ at: 0, ok: false, rtt_ms: null, err: 'timeout' }, 4, '127.0.0.1', 64)).toMatch(/Request timeout for icmp_seq 4$/);
    // live (the stream's full reason) and history (the samples API's short one) alike
    expect(pingLine({ at: 0, ok: false, rtt_ms: null, err: 'resolve x.invalid: lookup x.invalid on 10.0.0.53:53: no such host' }, 5, 'x.invalid', 64)).toMatch(/Not sent: no such host \(icmp_seq 5\)$/);
    expect(pingLine({ at: 0, ok: false, rtt_ms: null, err: 'no such host' }, 6, 'x.invalid', 64)).toMatch(/Not sent: no such host \(icmp_seq 6\)$/);
  });
});
