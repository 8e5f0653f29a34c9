import { describe, it, expect } from 'vitest';
import { smokeGeometry, smokeMax, axisTicks, lossClass, stepMs, LOSS_CLASSES } from '../src/smoke.js';
import { stateBarLayout, fmtUptime, stateShares } from '../src/statebar.js';
import { firingChanges, firingByGroup, tabTitle } from '../src/firing.js';
import { thresholdsBody } from '../src/components/ThresholdsDialog.js';
import { channelBody } from '../src/components/Channels.js';
import { ruleText, ruleBody } from '../src/components/RulesDialog.js';
import { silencePhase } from '../src/components/Silences.js';
import { parseRoute } from '../src/router.js';

const T0 = Date.parse('2026-12-07T00:00:00Z');
const MIN5 = 300e3;

/** @param {number} i @param {Partial<import('../src/smoke.js').Bucket>} o */
function bucket(i, o = {}) {
  return { t: new Date(T0 + i * MIN5).toISOString(), sent: 300, received: 300, loss_pct: 0, p10_ms: 1, p25_ms: 2, p50_ms: 3, p75_ms: 4, p90_ms: 5, ...o };
}

describe('smoke chart geometry', () => {
  const o = { from: T0, to: T0 + 4 * MIN5, step: MIN5, width: 400, height: 100, max: 10 };

  it('draws each band as one closed stepped shape over contiguous buckets, p90 on top', () => {
    const g = smokeGeometry([bucket(0), bucket(1)], o);
    // p10–p90: along the top (p90 = 5 of 10 → y 50) left to right, back along the bottom (p10 = 1 → y 90)
    expect(g.outer).toBe('M0,50H100L100,50H200L200,90H100L100,90H0Z');
    expect(g.inner).toBe('M0,60H100L100,60H200L200,80H100L100,80H0Z');
    expect(g.median).toEqual([{ cls: 0, color: LOSS_CLASSES[0].color, d: 'M0,70H100M100,70H200' }]);
    expect(g.lost).toEqual([]);
  });

  it('breaks the bands where nothing answered and marks total loss as a red bar', () => {
    const g = smokeGeometry([bucket(0), bucket(1, { received: 0, loss_pct: 100, p10_ms: null, p25_ms: null, p50_ms: null, p75_ms: null, p90_ms: null }), bucket(2)], o);
    expect(g.outer.match(/M/g)?.length).toBe(2);
    expect(g.outer.match(/Z/g)?.length).toBe(2);
    expect(g.lost).toEqual([{ x: 100, w: 100 }]);
  });

  it('breaks the bands over a missing bucket (no probes, no row) without marking loss', () => {
    const g = smokeGeometry([bucket(0), bucket(3)], o);
    expect(g.outer.match(/Z/g)?.length).toBe(2);
    expect(g.lost).toEqual([]);
    const none = smokeGeometry([bucket(0), bucket(1, { sent: 0, received: 0, loss_pct: null, p50_ms: null })], o);
    expect(none.lost).toEqual([]);
  });

  it('colours the median by the loss of its bucket', () => {
    const g = smokeGeometry([bucket(0), bucket(1, { loss_pct: 3 }), bucket(2, { loss_pct: 60 })], o);
    expect(g.median.map((m) => m.cls)).toEqual([0, 2, 6]);
    expect(g.median[1].d).toBe('M100,70H200');
  });

  it('clips RTTs above the axis to its top', () => {
    const g = smokeGeometry([bucket(0, { p90_ms: 50 })], o);
    expect(g.outer.startsWith('M0,0H100')).toBe(true);
  });

  it('loss classes: 0 alone, anything lost at least class 1, half or more the last', () => {
    expect([0, null, 0.1, 1.99, 2, 4.9, 9, 24, 49, 50, 100].map(lossClass)).toEqual([0, 0, 1, 1, 2, 2, 3, 4, 5, 6, 6]);
  });

  it('axis top from the largest p90, rounded up; ticks at round steps', () => {
    expect(smokeMax([bucket(0, { p90_ms: 42 })])).toBe(50);
    expect(smokeMax([bucket(0, { p90_ms: 0.08 })])).toBe(0.1);
    expect(smokeMax([])).toBe(1);
    expect(axisTicks(50)).toEqual([0, 20, 40]);
    expect(axisTicks(0.1)).toEqual([0, 0.025, 0.05, 0.075, 0.1]);
  });

  it('parses the API steps', () => {
    expect(stepMs('5m')).toBe(MIN5);
    expect(stepMs('24h')).toBe(86400e3);
    expect(stepMs('1d')).toBe(86400e3);
    expect(stepMs('soon')).toBeNaN();
  });
});

describe('state bar layout', () => {
  const from = '2026-12-07T00:00:00Z';
  const to = '2026-12-07T10:00:00Z';
  /** @param {number} h */
  const at = (h) => new Date(T0 + h * 3600e3).toISOString();

  it('covers the window: gaps unknown, neighbours of a state merged, clipped to the edges', () => {
    const bar = stateBarLayout([
      { from: at(-5), to: at(2), state: 'up' },
      { from: at(2), to: at(4), state: 'up' },
      { from: at(5), to: at(6), state: 'down' },
      { from: at(6), to: at(12), state: 'degraded' },
    ], from, to);
    expect(bar.map((s) => [s.state, s.left, s.width])).toEqual([
      ['up', 0, 40],
      ['unknown', 40, 10],
      ['down', 50, 10],
      ['degraded', 60, 40],
    ]);
  });

  it('no segments: all unknown; an empty window: nothing', () => {
    expect(stateBarLayout([], from, to).map((s) => [s.state, s.width])).toEqual([['unknown', 100]]);
    expect(stateBarLayout([], to, from)).toEqual([]);
  });

  it('widens slivers to stay visible without overflowing the bar', () => {
    const bar = stateBarLayout([
      { from: at(0), to: at(5), state: 'up' },
      { from: at(5), to: new Date(T0 + 5 * 3600e3 + 1000).toISOString(), state: 'down' },
      { from: new Date(T0 + 5 * 3600e3 + 1000).toISOString(), to: at(10), state: 'up' },
    ], from, to, 1);
    expect(bar.map((s) => s.state)).toEqual(['up', 'down', 'up']);
    expect(bar[1].width).toBe(1);
    const total = bar.reduce((n, s) => n + s.width, 0);
    expect(total).toBeCloseTo(100, 2);
    expect(bar[2].left + bar[2].width).toBeCloseTo(100, 2);
  });

  it('overlapping segments never draw twice over the same time', () => {
    const bar = stateBarLayout([{ from: at(0), to: at(6), state: 'up' }, { from: at(4), to: at(10), state: 'down' }], from, to);
    expect(bar.map((s) => [s.state, s.left, s.width])).toEqual([['up', 0, 60], ['down', 60, 40]]);
    expect(stateShares(bar)).toEqual({ up: 60, down: 40 });
  });

  it('uptime text never rounds up to 100 %', () => {
    expect(fmtUptime(100)).toBe('100 %');
    expect(fmtUptime(99.999)).toBe('99.99 %');
    expect(fmtUptime(87.5)).toBe('87.50 %');
    expect(fmtUptime(null)).toBe('—');
  });
});

describe('firing alerts', () => {
  /** @param {string} id @param {string} g */
  const a = (id, g = 'g1') => ({ id, rule_id: 'r', rule_name: 'core down', group_id: g, group_name: 'core', started_at: '2026-12-07T00:00:00Z', resolved_at: null, targets: 1 });

  it('the first poll reports nothing; later ones what started and what resolved', () => {
    expect(firingChanges(null, [a('1')])).toEqual({ started: [], resolved: [] });
    const c = firingChanges([a('1'), a('2')], [a('2'), a('3')]);
    expect(c.started.map((x) => x.id)).toEqual(['3']);
    expect(c.resolved.map((x) => x.id)).toEqual(['1']);
  });

  it('counts per group and titles the tab', () => {
    expect([...firingByGroup([a('1', 'x'), a('2', 'y'), a('3', 'x')])]).toEqual([['x', 2], ['y', 1]]);
    expect(tabTitle(2, 5)).toBe('(2) pingdeck');
    expect(tabTitle(0, 1)).toBe('(1 down) pingdeck');
    expect(tabTitle(0, 0)).toBe('pingdeck');
  });
});

describe('alert forms', () => {
  it('thresholds: numbers as numbers, the flap window as text, blanks left to the default', () => {
    expect(thresholdsBody({ window: '10', down_loss_pct: '100', degraded_loss_pct: '', degraded_rtt_ms: '0.5', rtt_percentile: '95', consecutive: '3', flap_changes: '5', flap_window: '10m' }))
      .toEqual({ window: 10, down_loss_pct: 100, degraded_rtt_ms: 0.5, rtt_percentile: 95, consecutive: 3, flap_changes: 5, flap_window: '10m' });
  });

  it('channels: each kind its config; a secret left empty on edit is kept (not sent)', () => {
    const f = { kind: 'email', name: ' noc ', url: '', host: 'smtp.example.com', port: '587', tls: 'starttls', username: '', from: 'pd@example.com', to: 'a@example.com, b@example.com', hold: '', secret: '' };
    expect(channelBody(f, 'g1')).toEqual({ kind: 'email', group_id: 'g1', name: 'noc', config: { host: 'smtp.example.com', port: 587, tls: 'starttls', from: 'pd@example.com', to: ['a@example.com', 'b@example.com'] } });
    expect(channelBody({ ...f, kind: 'webhook', url: 'https://h.example/x', secret: '' }, undefined, true)).toEqual({ name: 'noc', config: { url: 'https://h.example/x' } });
    expect(channelBody({ ...f, kind: 'webhook', url: 'https://h.example/x', secret: 'sixteen-chars-secret' })).toEqual({ kind: 'webhook', name: 'noc', config: { url: 'https://h.example/x' }, secret: 'sixteen-chars-secret' });
    expect(channelBody({ ...f, kind: 'alertmanager', url: 'http://am:9093', hold: '5m' }).config).toEqual({ url: 'http://am:9093', hold: '5m' });
  });

  it('rules in words, and the body that recreates one with a mute', () => {
    const r = { id: 'x', name: 'edge', state: 'degraded', min_targets: 2, min_pct: 50, for: '2m', channel_ids: ['c'], muted_until: null };
    expect(ruleText(r)).toBe('degraded or down: ≥ 2 targets and ≥ 50 % of the group for 2m');
    expect(ruleText({ ...r, state: 'down', min_targets: 1, min_pct: 0, for: '0s' })).toBe('down: ≥ 1 target');
    expect(ruleBody(r, '2026-12-07T01:00:00Z')).toEqual({ name: 'edge', state: 'degraded', min_targets: 2, min_pct: 50, for: '2m', channel_ids: ['c'], muted_until: '2026-12-07T01:00:00Z' });
  });

  it('silences are past, active or to come', () => {
    const now = T0;
    expect(silencePhase({ from: '2026-12-06T00:00:00Z', to: '2026-12-06T01:00:00Z' }, now)).toBe('past');
    expect(silencePhase({ from: '2026-12-06T23:00:00Z', to: '2026-12-07T01:00:00Z' }, now)).toBe('active');
    expect(silencePhase({ from: '2026-12-07T02:00:00Z', to: '2026-12-07T03:00:00Z' }, now)).toBe('future');
  });

  it('routes to the alerts and channels pages', () => {
    expect(parseRoute('#/alerts').page).toBe('alerts');
    expect(parseRoute('#/channels').page).toBe('channels');
    expect(parseRoute('#/alerts/x').page).toBe('notfound');
  });
});
