import { describe, it, expect, vi, afterEach } from 'vitest';
import { Deck } from '../src/live/model.js';
import { LiveSocket } from '../src/live/socket.js';

/** A WebSocket stand-in the test drives. */
class FakeWS {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeWS.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  recv(msg) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  send(s) {
    this.sent.push(JSON.parse(s));
  }
  close(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const snapshot = { type: 'snapshot', group: { id: 'g', name: 'G', role: 'owner', targets: [{ id: 't', address: '127.0.0.1', ip: '127.0.0.1', paused: false, state: 'unknown', last: null, loss_1m: null, recent: [] }] } };

function setup(extra = {}) {
  FakeWS.all = [];
  const deck = new Deck();
  const frames = [];
  const batches = [];
  const live = new LiveSocket({
    deck, url: 'ws://x/api/v1/ws', WebSocketImpl: /** @type {any} */ (FakeWS), rand: () => 0,
    schedule: (fn) => frames.push(fn), onResults: (t) => batches.push(t), ...extra,
  });
  const runFrames = () => frames.splice(0).forEach((f) => f());
  return { deck, live, frames, batches, runFrames };
}

afterEach(() => vi.useRealTimers());

describe('live socket', () => {
  it('applies results once per frame in one batch', () => {
    const { deck, live, frames, batches, runFrames } = setup();
    live.start();
    const ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', user: { id: 'u' }, resume_token: 'r1', seq: 10 });
    expect(live.state.value).toBe('live');
    ws.recv(snapshot);
    expect(deck.groups.value.length).toBe(0); // snapshots apply in the frame
    ws.recv({ type: 'results', seq: 11, items: [{ g: 'g', t: 't', at: 1000, ok: true, rtt_ms: 0.05 }] });
    ws.recv({ type: 'results', seq: 12, items: [{ g: 'g', t: 't', at: 2000, ok: true, rtt_ms: 0.06 }] });
    expect(frames.length).toBe(1); // one frame scheduled for all three
    expect(deck.target('g', 't')).toBeUndefined();
    runFrames();
    expect(batches.length).toBe(1);
    expect(deck.target('g', 't').samples.length).toBe(2);
    expect(deck.target('g', 't').state.value).toBe('up');
  });

  it('reconnects with backoff, resumes from the last seq, and takes a replay once', () => {
    vi.useFakeTimers();
    const { deck, live, runFrames } = setup();
    live.start();
    let ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r1', seq: 5 });
    ws.recv(snapshot);
    ws.recv({ type: 'results', seq: 6, items: [{ g: 'g', t: 't', at: 1000, ok: true, rtt_ms: 1 }] });
    runFrames();
    ws.close(1006);
    expect(live.state.value).toBe('reconnecting');
    expect(FakeWS.all.length).toBe(1);
    vi.advanceTimersByTime(250); // attempt 0 with rand 0
    expect(FakeWS.all.length).toBe(2);
    ws = FakeWS.all[1];
    expect(ws.url).toBe('ws://x/api/v1/ws?resume=r1&since=6');
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r1', seq: 8 });
    // another replica's replay starts a little before what we had: that part is dropped
    ws.recv({ type: 'results', seq: 7, items: [{ g: 'g', t: 't', at: 1000, ok: true, rtt_ms: 1 }] });
    ws.recv({ type: 'results', seq: 8, items: [{ g: 'g', t: 't', at: 2000, ok: false, rtt_ms: null }] });
    runFrames();
    expect(deck.target('g', 't').samples.map((s) => s.at)).toEqual([1000, 2000]);
    ws.close(1006);
    vi.advanceTimersByTime(250);
    expect(FakeWS.all[2].url).toBe('ws://x/api/v1/ws?resume=r1&since=8');
  });

  it('says offline after repeated failures and keeps retrying; a new server token resets seq', () => {
    vi.useFakeTimers();
    const { live } = setup();
    live.start();
    for (let i = 0; i < 6; i++) {
      FakeWS.all[FakeWS.all.length - 1].close(1006);
      vi.advanceTimersByTime(60000);
    }
    expect(live.state.value).toBe('offline');
    const ws = FakeWS.all[FakeWS.all.length - 1];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'restarted', seq: 2 });
    expect(live.state.value).toBe('live');
    expect(live.seq).toBe(2);
    expect(live.failures).toBe(0);
  });

  it('drops cards on group_deleted and access_revoked, and stops on 4401', () => {
    const ended = vi.fn();
    const { deck, live } = setup({ onSessionEnded: ended });
    live.start();
    const ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r', seq: 0 });
    ws.recv(snapshot);
    ws.recv({ type: 'snapshot', group: { ...snapshot.group, id: 'h' } });
    live.flush();
    expect(deck.groups.value.length).toBe(2);
    ws.recv({ type: 'group_deleted', id: 'g' });
    ws.recv({ type: 'access_revoked', id: 'h' });
    expect(deck.groups.value.length).toBe(0);
    ws.close(4401);
    expect(ended).toHaveBeenCalled();
    expect(FakeWS.all.length).toBe(1);
  });

  it('applies snapshots a few per frame, holding results until the snapshots before them are in', () => {
    const { deck, live, frames, runFrames } = setup();
    live.start();
    const ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r', seq: 0 });
    const big = (id) => ({ type: 'snapshot', group: { id, name: id, targets: Array.from({ length: 1500 }, (_, j) => ({ id: id + j, address: '10.0.0.' + j, ip: null, paused: false, state: 'up', last: null, loss_1m: 0, recent: Array.from({ length: 20 }, (_, k) => ({ at: k, ok: true, rtt_ms: 1 })) })) } });
    for (let i = 0; i < 8; i++) ws.recv(big('g' + i));
    ws.recv({ type: 'results', seq: 1, items: [{ g: 'g7', t: 'g70', at: 100, ok: false, rtt_ms: null }] });
    let rounds = 0;
    while (frames.length && rounds < 100) {
      runFrames();
      rounds++;
    }
    expect(rounds).toBeGreaterThan(1); // spread over frames
    expect(deck.groups.value.length).toBe(8);
    expect(deck.target('g7', 'g70').state.value).toBe('down'); // the result after its snapshot was not lost
  });

  it('re-sends extra subscriptions after a reconnect', () => {
    vi.useFakeTimers();
    const { live } = setup();
    live.start();
    let ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r', seq: 0 });
    live.subscribe(['x']);
    expect(ws.sent).toEqual([{ type: 'subscribe', groups: ['x'] }]);
    ws.close();
    vi.advanceTimersByTime(1000);
    ws = FakeWS.all[1];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r', seq: 0 });
    expect(ws.sent).toEqual([{ type: 'subscribe', groups: ['x'] }]);
  });
  it('applies locations in order with snapshots, and takes the server’s location from hello', () => {
    const { deck, live, runFrames } = setup();
    live.start();
    const ws = FakeWS.all[0];
    ws.open();
    ws.recv({ type: 'hello', resume_token: 'r', seq: 0, location: 'local' });
    expect(deck.here.value).toBe('local');
    const t = { id: 't', address: '127.0.0.1', ip: null, paused: false, state: 'up', last: null, recent: [],
      by_location: { local: { state: 'up', last: null, recent: [] }, fra: { state: 'offline', last: null, recent: [] } } };
    ws.recv({ type: 'snapshot', group: { id: 'g', name: 'G', locations: ['local', 'fra'], targets: [t] } });
    ws.recv({ type: 'locations', locations: [{ name: 'local', kind: 'server', online: true }, { name: 'fra', kind: 'agent', online: true, last_seen: null }] });
    ws.recv({ type: 'results', seq: 1, items: [{ g: 'g', t: 't', loc: 'fra', at: 1000, ok: true, rtt_ms: 40 }] });
    runFrames();
    const cell = deck.target('g', 't').cells.get('fra');
    expect(cell.view()).toBe('up'); // the later locations message wins over the snapshot before it
    expect(cell.rttText.value).toBe('40.0 ms');
    expect(deck.locations.value.map((l) => l.name)).toEqual(['local', 'fra']);
  });
});
