import { describe, it, expect } from 'vitest';
import { Deck } from '../src/live/model.js';
import { rowState, groupLocations, worst } from '../src/live/rows.js';
import { sortRows, rowMatches, filterWords } from '../src/sort.js';

const group = (targets, extra = {}) => ({ id: 'g1', name: 'edge', role: 'owner', interval_ms: 1000, locations: ['local', 'fra'], target_count: targets.length, targets, ...extra });
const ok = (at, rtt) => ({ at, ok: true, rtt_ms: rtt });
const lost = (at) => ({ at, ok: false, rtt_ms: null, err: 'timeout' });
/** cell texts of a target, per location */
const texts = (t) => Object.fromEntries(t.cellList.map((c) => [c.loc, c.rttText.value + ' / ' + c.lossText.value]));

describe('row state from its cells', () => {
  it.each([
    [['up'], 'up'],
    [['offline'], 'offline'],
    [['up', 'up'], 'up'],
    [['up', 'down'], 'partial'],
    [['down', 'down'], 'down'],
    [['down', 'offline'], 'down'],
    [['up', 'offline'], 'up'],
    [['offline', 'offline'], 'offline'],
    [['unknown', 'offline'], 'unknown'],
    [['paused', 'paused'], 'paused'],
    [['unknown', 'down'], 'down'],
  ])('%j → %s', (views, want) => {
    expect(rowState(views)).toBe(want);
  });

  it('knows where a group is probed from, and the worst of some figures', () => {
    expect(groupLocations({ locations: ['fra', 'local'] })).toEqual(['fra', 'local']);
    expect(groupLocations({})).toEqual(['']);
    expect(groupLocations({ locations: [] })).toEqual(['']);
    expect(worst([null, 3, 1])).toBe(3);
    expect(worst([null])).toBe(null);
  });
});

describe('target × location matrix', () => {
  it('fills one cell per location from a snapshot (top level is the first location)', () => {
    const d = new Deck();
    d.upsert(group([{
      id: 't1', address: '198.18.1.1', ip: '198.18.1.1', paused: false,
      state: 'up', last: ok(3000, 5), loss_1m: 0, recent: [ok(1000, 5), ok(2000, 5)],
      by_location: {
        local: { state: 'up', last: ok(3000, 5), loss_1m: 0, recent: [ok(1000, 5), ok(2000, 5)] },
        fra: { state: 'down', last: lost(3000), loss_1m: 0.5, recent: [ok(1000, 40), ok(2000, 41), lost(2500)] },
      },
    }]));
    const t = d.target('g1', 't1');
    expect(t.cellList.map((c) => c.loc)).toEqual(['local', 'fra']);
    expect(t.cells.get('local').samples.length).toBe(3);
    expect(t.cells.get('fra').samples.map((s) => s.at)).toEqual([1000, 2000, 2500, 3000]);
    expect(texts(t)).toEqual({ local: '5.00 ms / 0 %', fra: 'timeout / 50 %' });
    expect(t.state.value).toBe('partial');
    expect(t.loss.value).toBe(0.5); // the worst location
    expect(t.errText.value).toBe('fra: timeout');
    expect(d.byId.get('g1').success.value).toBeCloseTo(5 / 7);
  });

  it('takes the top-level figures as the first location when by_location is missing', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false, state: 'up', last: ok(2000, 2), recent: [ok(1000, 1)] }]));
    const t = d.target('g1', 't1');
    expect(t.cells.get('local').samples.length).toBe(2);
    expect(t.cells.get('fra').samples.length).toBe(0);
    expect(texts(t)).toEqual({ local: '2.00 ms / 0 %', fra: '— / —' });
  });

  it('routes results by location; items without one are the first location’s; unknown ones are dropped', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    const touched = d.applyResults([
      { g: 'g1', t: 't1', loc: 'fra', at: 1000, ok: true, rtt_ms: 40 },
      { g: 'g1', t: 't1', at: 1000, ok: true, rtt_ms: 5 },
      { g: 'g1', t: 't1', loc: 'nyc', at: 1000, ok: true, rtt_ms: 90 },
      { g: 'g1', t: 't1', loc: 'fra', at: 2000, ok: false, rtt_ms: null, err: 'timeout' },
      { g: 'g1', t: 't1', loc: 'fra', at: 2000, ok: true, rtt_ms: 1 }, // a replay: dropped
    ]);
    expect(touched).toEqual([t, t, t]);
    expect(t.cells.get('local').samples.map((s) => s.rtt_ms)).toEqual([5]);
    expect(t.cells.get('fra').samples.map((s) => s.ok)).toEqual([true, false]);
    expect(t.state.value).toBe('partial');
    d.applyResults([{ g: 'g1', t: 't1', loc: 'local', at: 3000, ok: false, rtt_ms: null }]);
    expect(t.state.value).toBe('down');
    d.applyResults([{ g: 'g1', t: 't1', loc: 'local', at: 4000, ok: true, rtt_ms: 6 }, { g: 'g1', t: 't1', loc: 'fra', at: 4000, ok: true, rtt_ms: 42 }]);
    expect(t.state.value).toBe('up');
    expect(t.rtt.value).toBe(42); // the slowest location, for sorting
  });

  it('shows an offline location as offline, never as loss, and counts it nowhere', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    const g = d.byId.get('g1');
    d.applyResults([
      { g: 'g1', t: 't1', loc: 'local', at: 1000, ok: true, rtt_ms: 5 },
      { g: 'g1', t: 't1', loc: 'fra', at: 1000, ok: false, rtt_ms: null, err: 'timeout' },
    ]);
    expect(g.success.value).toBe(0.5);
    d.setLocations([{ name: 'local', kind: 'server', online: true }, { name: 'fra', kind: 'agent', online: false, last_seen: null }]);
    expect(texts(t)).toEqual({ local: '5.00 ms / 0 %', fra: 'offline / —' });
    expect(t.cells.get('fra').cls.value).toBe('cell cell-offline');
    expect(t.state.value).toBe('up');
    expect(t.loss.value).toBe(0);
    expect(g.success.value).toBe(1);
    expect(rowMatches(t, 'edge', filterWords('down'))).toBe(false);
    expect(rowMatches(t, 'edge', filterWords('offline'))).toBe(true);
    // a target added while fra is offline starts offline there
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }, { id: 't2', address: 'b', ip: null, paused: false }]));
    expect(d.target('g1', 't2').cells.get('fra').view()).toBe('offline');
    // back online: its figures come back
    d.setLocations([{ name: 'local', online: true }, { name: 'fra', online: true }]);
    expect(texts(t).fra).toBe('timeout / 100 %');
    expect(t.state.value).toBe('partial');
    expect(g.success.value).toBe(0.5);
  });

  it('takes offline from a snapshot cell and keeps what it last knew beneath', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false, state: 'up', last: ok(1000, 1), recent: [],
      by_location: { local: { state: 'up', last: ok(1000, 1), recent: [] }, fra: { state: 'offline', last: ok(900, 30), recent: [] } } }]));
    const t = d.target('g1', 't1');
    const fra = t.cells.get('fra');
    expect(fra.view()).toBe('offline');
    expect(fra.state.value).toBe('up');
    expect(fra.rttText.value).toBe('offline');
    expect(t.state.value).toBe('up');
    // every location offline: the row says so rather than down
    d.setLocations([{ name: 'local', online: false }, { name: 'fra', online: false }]);
    expect(t.state.value).toBe('offline');
    expect(t.lossText.value).toBe('—');
  });

  it('treats a group from an older server (no locations, no loc) as one location, and adopts it when named', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }], { locations: undefined }));
    const t = d.target('g1', 't1');
    d.applyResults([{ g: 'g1', t: 't1', at: 1000, ok: true, rtt_ms: 1 }, { g: 'g1', t: 't1', loc: 'local', at: 2000, ok: true, rtt_ms: 2 }]);
    expect(t.samples.length).toBe(2);
    expect(t.rttText.value).toBe('2.00 ms');
    d.upsert({ id: 'g1', locations: ['local', 'fra'] });
    expect(t.cells.get('local').samples.length).toBe(2); // same cell, named now
    expect(t.cells.get('fra').samples.length).toBe(0);
    // a location dropped from the group takes its cell with it
    d.upsert({ id: 'g1', locations: ['fra'] });
    expect(t.cellList.map((c) => c.loc)).toEqual(['fra']);
    expect(t.state.value).toBe('unknown');
  });

  it('marks a row stale only when every reporting location is', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    d.applyResults([{ g: 'g1', t: 't1', loc: 'local', at: 1000, ok: true, rtt_ms: 1 }, { g: 'g1', t: 't1', loc: 'fra', at: 9000, ok: true, rtt_ms: 1 }]);
    d.age(10000);
    expect(t.cells.get('local').stale.value).toBe(true);
    expect(t.cells.get('local').cls.value).toBe('cell cell-up stale');
    expect(t.stale.value).toBe(false);
    d.age(20000);
    expect(t.stale.value).toBe(true);
  });

  it('pauses every cell with its target or group', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    d.applyResults([{ g: 'g1', t: 't1', loc: 'fra', at: 1000, ok: true, rtt_ms: 1 }]);
    t.update({ address: 'a', paused: true });
    expect(texts(t)).toEqual({ local: 'paused / —', fra: 'paused / —' });
    expect(t.state.value).toBe('paused');
    t.update({ address: 'a', paused: false });
    expect(t.cells.get('fra').state.value).toBe('unknown');
    d.upsert({ id: 'g1', paused: true });
    expect(t.state.value).toBe('paused');
    expect(t.cells.get('fra').rttText.value).toBe('paused');
    // paused is what the user did: it shows over an offline location
    d.setLocations([{ name: 'local', online: true }, { name: 'fra', online: false }]);
    expect(t.cells.get('fra').rttText.value).toBe('paused');
    expect(t.cells.get('fra').dot.value).toBe('dot dot-paused');
  });

  it('sorts by one location’s cell and finds rows down from one location', () => {
    const d = new Deck();
    d.upsert(group([1, 2, 3].map((i) => ({ id: 't' + i, address: '10.0.0.' + i, ip: null, paused: false }))));
    d.applyResults([
      { g: 'g1', t: 't1', loc: 'fra', at: 1, ok: true, rtt_ms: 10 },
      { g: 'g1', t: 't2', loc: 'fra', at: 1, ok: false, rtt_ms: null },
      { g: 'g1', t: 't3', loc: 'fra', at: 1, ok: true, rtt_ms: 30 },
      { g: 'g1', t: 't1', loc: 'local', at: 1, ok: true, rtt_ms: 50 },
      { g: 'g1', t: 't2', loc: 'local', at: 1, ok: true, rtt_ms: 1 },
      { g: 'g1', t: 't3', loc: 'local', at: 1, ok: true, rtt_ms: 2 },
    ]);
    const rows = d.byId.get('g1').targets.value;
    expect(sortRows(rows, 'loc:fra').map((t) => t.id)).toEqual(['t2', 't3', 't1']);
    expect(sortRows(rows, 'loc:local').map((t) => t.id)).toEqual(['t1', 't3', 't2']);
    expect(sortRows(rows, 'rtt').map((t) => t.id)).toEqual(['t2', 't1', 't3']); // down somewhere first
    expect(rows.filter((t) => rowMatches(t, 'edge', filterWords('down'))).map((t) => t.id)).toEqual(['t2']);
  });

  it('tells listeners which location a probe came from', () => {
    const d = new Deck();
    d.upsert(group([{ id: 't1', address: 'a', ip: null, paused: false }]));
    const t = d.target('g1', 't1');
    const heard = [];
    t.listeners = new Set([(s, loc) => heard.push(loc + '@' + s.at)]);
    d.applyResults([{ g: 'g1', t: 't1', loc: 'fra', at: 1, ok: true, rtt_ms: 1 }, { g: 'g1', t: 't1', at: 2, ok: true, rtt_ms: 1 }]);
    expect(heard).toEqual(['fra@1', 'local@2']);
  });
});

describe('locations the stream has not named', () => {
  it('asks for the list again when a group is probed from one (an agent created since)', () => {
    const d = new Deck();
    let asked = 0;
    d.onUnknownLocation = () => asked++;
    d.upsert(group([]));
    expect(asked).toBe(0); // no locations message yet: nothing to compare with
    d.setLocations([{ name: 'local', online: true }, { name: 'fra', online: true }]);
    d.upsert({ id: 'g1', locations: ['local', 'fra'] });
    expect(asked).toBe(0);
    d.upsert({ id: 'g1', locations: ['local', 'ams'] });
    expect(asked).toBe(1);
    d.setLocations([{ name: 'local', online: true }, { name: 'ams', online: false }]);
    d.upsert({ id: 'g1', targets: [{ id: 't', address: 'a', ip: null, paused: false }] });
    expect(d.target('g1', 't').cells.get('ams').view()).toBe('offline');
    expect(asked).toBe(1);
  });
});
