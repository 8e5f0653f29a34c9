import { describe, it, expect } from 'vitest';
import { effect } from '@preact/signals';
import { Deck, GroupModel } from '../src/live/model.js';

const group = (targets) => ({ id: 'g1', name: 'edge', role: 'owner', visibility: 'private', paused: false, target_count: targets.length, targets });

describe('live model', () => {
  it('builds targets from a snapshot with recent samples and state', () => {
    const d = new Deck();
    d.upsert(group([
      { id: 't1', address: 'a.example', ip: '192.0.2.1', paused: false, state: 'up', last: { at: 3000, ok: true, rtt_ms: 2 }, loss_1m: 0.5,
        recent: [{ at: 1000, ok: true, rtt_ms: 1 }, { at: 2000, ok: false, rtt_ms: null }] },
      { id: 't2', address: '192.0.2.2', ip: '192.0.2.2', paused: true, state: 'paused', last: null, loss_1m: null, recent: [] },
    ]));
    const g = d.byId.get('g1');
    const [t1, t2] = g.targets.value;
    expect(t1.samples.map((s) => s.at)).toEqual([1000, 2000, 3000]);
    expect(t1.state.value).toBe('up');
    expect(t1.rtt.value).toBe(2);
    expect(t1.loss.value).toBeCloseTo(1 / 3);
    expect(t1.ipText.value).toBe('192.0.2.1');
    expect(t2.ipText.value).toBe('');
    expect(t2.dot.value).toBe('dot dot-paused');
    expect(g.success.value).toBeCloseTo(2 / 3);
  });

  it('applies a result batch to the right rows, ignoring replays and unknown targets', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: '192.0.2.1', ip: '192.0.2.1', paused: false }]));
    const t = d.target('g1', 't1');
    let touched = d.applyResults([
      { g: 'g1', t: 't1', at: 1000, ok: true, rtt_ms: 1.5 },
      { g: 'g1', t: 'nope', at: 1000, ok: true, rtt_ms: 1 },
      { g: 'zz', t: 't1', at: 1000, ok: true, rtt_ms: 1 },
    ]);
    expect(touched).toEqual([t]);
    expect(t.state.value).toBe('up');
    expect(t.rttText.value).toBe('1.50 ms');
    touched = d.applyResults([{ g: 'g1', t: 't1', at: 2000, ok: false, rtt_ms: null, err: 'timeout' }, { g: 'g1', t: 't1', at: 2000, ok: false, rtt_ms: null }]);
    expect(touched.length).toBe(1); // the second is a duplicate
    expect(t.state.value).toBe('down');
    expect(t.rttText.value).toBe('timeout');
    expect(t.loss.value).toBe(0.5);
    expect(d.byId.get('g1').successText.value).toBe('50.0 %');
    expect(d.applyResults([{ g: 'g1', t: 't1', at: 1500, ok: true, rtt_ms: 1 }])).toEqual([]); // replayed, older
  });

  it('keeps the last minute and at least a sparkline of samples', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'x', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    const items = [];
    for (let i = 1; i <= 200; i++) items.push({ g: 'g1', t: 't1', at: i * 1000, ok: i % 10 !== 0, rtt_ms: i % 10 ? 1 : null });
    d.applyResults(items);
    expect(t.samples.length).toBeGreaterThanOrEqual(60);
    expect(t.samples.length).toBeLessThan(60 + 64);
    expect(t.recent().length).toBe(60);
    expect(t.recent()[59].at).toBe(200000);
    expect(t.n1m).toBe(60);
    expect(t.loss.value).toBeCloseTo(6 / 60);
  });

  it('ages the last minute by the wall clock: paused and silent targets drop out, two viewers agree', () => {
    const mk = () => {
      const d = new Deck();
      d.upsert({ ...group([{ id: 'a', address: 'a', ip: null, paused: false }, { id: 'b', address: 'b', ip: null, paused: false }]), interval_ms: 1000 });
      return d;
    };
    const items = [];
    for (let i = 1; i <= 30; i++) {
      items.push({ g: 'g1', t: 'a', at: i * 1000, ok: true, rtt_ms: 1 });
      items.push({ g: 'g1', t: 'b', at: i * 1000, ok: i > 20, rtt_ms: i > 20 ? 1 : null }); // b lost 20 of 30, then paused
    }
    for (let i = 31; i <= 100; i++) items.push({ g: 'g1', t: 'a', at: i * 1000, ok: true, rtt_ms: 1 });
    const one = mk();
    one.applyResults(items);
    const two = mk(); // another viewer, who received the same results in smaller batches
    for (let i = 0; i < items.length; i += 7) two.applyResults(items.slice(i, i + 7));
    for (const d of [one, two]) {
      d.age(100500);
      const g = d.byId.get('g1');
      const [a, b] = g.targets.value;
      expect(a.n1m).toBe(60); // probes sent in (40.5 s, 100.5 s]
      expect(b.n1m).toBe(0);
      expect(b.loss.value).toBe(null);
      expect(b.stale.value).toBe(true);
      expect(a.stale.value).toBe(false);
      expect(g.success.value).toBe(1);
    }
    one.target('g1', 'b').update({ address: 'b', paused: true });
    expect(one.target('g1', 'b').lossText.value).toBe('—');
    expect(one.target('g1', 'b').rowClass.value).toBe('row');
    one.age(200000);
    expect(one.byId.get('g1').success.value).toBe(null);
    expect(one.target('g1', 'a').loss.value).toBe(null);
  });

  it('keeps failures that are not lost packets out of the loss and shows their reason', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'nope.invalid', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    d.applyResults([
      { g: 'g1', t: 't1', at: 1000, ok: true, rtt_ms: 1 },
      { g: 'g1', t: 't1', at: 2000, ok: false, rtt_ms: null, err: 'timeout' },
      { g: 'g1', t: 't1', at: 3000, ok: false, rtt_ms: null, err: 'resolve nope.invalid: lookup nope.invalid: no such host' },
    ]);
    expect(t.n1m).toBe(2);
    expect(t.loss.value).toBe(0.5);
    expect(t.state.value).toBe('down');
    expect(t.rttText.value).toBe('no such host');
    expect(t.errText.value).toContain('resolve nope.invalid');
    d.applyResults([{ g: 'g1', t: 't1', at: 4000, ok: false, rtt_ms: null, err: 'timeout' }]);
    expect(t.rttText.value).toBe('timeout');
  });

  it('keeps incremental last-minute counters equal to a full recount', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'x', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    let at = 0;
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let i = 0; i < 3000; i++) {
      at += 50 + Math.floor(rnd() * 3000); // irregular intervals, some gaps over a minute
      if (rnd() < 0.01) at += 90000;
      const r = rnd();
      d.applyResults([{ g: 'g1', t: 't1', at, ok: r > 0.2, rtt_ms: 1, err: r < 0.05 ? 'send: no route' : r <= 0.2 ? 'timeout' : undefined }]);
      const ok = t.ok1m;
      const n = t.n1m;
      t.recount();
      expect([t.ok1m, t.n1m]).toEqual([ok, n]);
    }
    expect(t.samples.length).toBeLessThanOrEqual(600 + 64);
  });

  it('updates a row without notifying the card (no card re-render for a row update)', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'x', ip: null, paused: false }]));
    const g = d.byId.get('g1');
    let cardRuns = 0;
    const stop = effect(() => {
      g.meta.value;
      g.targets.value;
      cardRuns++;
    });
    d.applyResults([{ g: 'g1', t: 't1', at: 1, ok: true, rtt_ms: 1 }, { g: 'g1', t: 't1', at: 2, ok: true, rtt_ms: 2 }]);
    expect(cardRuns).toBe(1);
    stop();
  });

  it('reconciles group updates keeping live data of known targets', () => {
    const g = new GroupModel(group([{ id: 't1', address: 'x', ip: null, paused: false }]));
    const t1 = g.byId.get('t1');
    t1.push({ at: 1, ok: true, rtt_ms: 1 });
    g.update(group([{ id: 't1', address: 'x', ip: '192.0.2.1', paused: false }, { id: 't2', address: 'y', ip: null, paused: false }]));
    expect(g.targets.value[0]).toBe(t1);
    expect(t1.samples.length).toBe(1);
    expect(t1.ip.value).toBe('192.0.2.1');
    g.update({ id: 'g1', name: 'renamed', targets: [{ id: 't2', address: 'y', ip: null, paused: false }] });
    expect(g.targets.value.map((t) => t.id)).toEqual(['t2']);
    expect(g.meta.value.name).toBe('renamed');
    expect(g.meta.value.role).toBe('owner');
  });

  it('drops removed groups and keeps list order', () => {
    const d = new Deck();
    d.setList([{ id: 'a', name: 'A' }, { id: 'b', name: 'B' }]);
    const a = d.byId.get('a');
    d.setList([{ id: 'b', name: 'B' }, { id: 'a', name: 'A2' }]);
    expect(d.groups.value.map((g) => g.id)).toEqual(['b', 'a']);
    expect(d.byId.get('a')).toBe(a);
    d.remove('b');
    expect(d.groups.value.map((g) => g.id)).toEqual(['a']);
  });
});
