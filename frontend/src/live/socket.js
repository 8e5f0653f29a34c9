// The page's one WebSocket: connects, reconnects with backoff and jitter, resumes from the
// last seq it saw, and hands result batches to the deck once per animation frame.
import { signal, batch } from '@preact/signals';
import { backoffDelay } from '../backoff.js';

/** @typedef {'connecting'|'live'|'reconnecting'|'offline'} ConnState */

/** After this many failed attempts in a row the indicator says offline (it keeps retrying). */
const OFFLINE_AFTER = 4;
/** Client keepalive: a ping every 20 s; no frame for 50 s means the connection is dead. */
const PING_MS = 20000;
const DEAD_MS = 50000;
/** Time per frame spent applying snapshots while a dashboard loads. */
const SNAPSHOT_BUDGET_MS = 12;

/**
 * @typedef {object} LiveOptions
 * @property {import('./model.js').Deck} deck
 * @property {string} [url] ws URL (default: /api/v1/ws on this page's host)
 * @property {(targets: import('./model.js').TargetModel[]) => void} [onResults] after each applied batch
 * @property {(n: any) => void} [onNotification]
 * @property {() => void} [onSessionEnded] close code 4401
 * @property {() => void} [onAccessRevoked] close code 4403: no followed group is visible any more
 * @property {(user: any) => void} [onHello]
 * @property {typeof WebSocket} [WebSocketImpl]
 * @property {(fn: () => void) => any} [schedule] frame scheduler (default requestAnimationFrame, or a timer when hidden)
 * @property {() => number} [rand]
 */

export class LiveSocket {
  /** @param {LiveOptions} o */
  constructor(o) {
    this.o = o;
    this.deck = o.deck;
    /** @type {import('@preact/signals').Signal<ConnState>} */
    this.state = signal(/** @type {ConnState} */ ('connecting'));
    /** @type {import('@preact/signals').Signal<number>} when the next attempt is due (ms epoch), 0 if none */
    this.retryAt = signal(0);
    /** @type {import('@preact/signals').Signal<number>} when the stream last stopped being live (ms epoch), 0 while live */
    this.downSince = signal(Date.now());
    /** the server's clock minus this page's (ms), from hello: result times are the server's */
    this.clockOffset = 0;
    /** @type {WebSocket|null} */
    this.ws = null;
    this.token = '';
    this.seq = 0;
    this.failures = 0;
    this.stopped = true;
    /** @type {import('./model.js').ResultItem[][]} */
    this.queue = [];
    /** @type {any[]} snapshot, group_updated and locations messages not applied yet (kept in order) */
    this.pending = [];
    this.scheduled = false;
    /** @type {Set<string>} groups we asked for beyond the default dashboard */
    this.subs = new Set();
    /** @type {any} */
    this.retryTimer = null;
    /** @type {any} */
    this.pingTimer = null;
    this.lastFrame = 0;
    this.flush = this.flush.bind(this);
  }

  /** Opens the connection (idempotent). */
  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (logout, page teardown). */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.pending = [];
    this.queue = [];
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
    this.state.value = 'offline';
  }

  /** The server's clock now (ms epoch), for aging results. */
  serverNow() {
    return Date.now() + this.clockOffset;
  }

  /** The URL of the next attempt: resume where the previous connection stopped. */
  url() {
    let base = this.o.url;
    if (!base) {
      const l = globalThis.location;
      base = (l.protocol === 'https:' ? 'wss://' : 'ws://') + l.host + '/api/v1/ws';
    }
    if (!this.token) return base;
    return base + (base.includes('?') ? '&' : '?') + 'resume=' + encodeURIComponent(this.token) + '&since=' + this.seq;
  }

  connect() {
    const WS = this.o.WebSocketImpl || WebSocket;
    let ws;
    try {
      ws = new WS(this.url());
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrame = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.keepalive(), PING_MS);
    };
    ws.onmessage = (ev) => {
      this.lastFrame = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      this.ws = null;
      if (!this.downSince.peek()) this.downSince.value = Date.now();
      if (this.stopped) return;
      if (ev.code === 4401) {
        this.stopped = true;
        this.state.value = 'offline';
        this.o.onSessionEnded && this.o.onSessionEnded();
        return;
      }
      if (ev.code === 4403) this.o.onAccessRevoked && this.o.onAccessRevoked();
      this.retry();
    };
    ws.onerror = () => {};
  }

  keepalive() {
    if (!this.ws) return;
    if (Date.now() - this.lastFrame > DEAD_MS) {
      this.ws.close();
      return;
    }
    this.send({ type: 'ping' });
  }

  retry() {
    if (this.stopped) return;
    const delay = backoffDelay(this.failures, this.o.rand);
    this.failures++;
    const offline = this.failures > OFFLINE_AFTER || (globalThis.navigator && navigator.onLine === false);
    this.state.value = offline ? 'offline' : 'reconnecting';
    this.retryAt.value = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryAt.value = 0;
      this.connect();
    }, delay);
  }

  /** Retries at once (the "retry now" button, or the browser coming back online). */
  retryNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.retryAt.value = 0;
    this.connect();
  }

  /** @param {any} msg */
  send(msg) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  /**
   * Makes sure cards just added to the page are followed: nothing to do while the server
   * follows the dashboard for us (it pushes their snapshots), a subscribe once we left it.
   * @param {string[]} ids
   */
  follow(ids) {
    if (this.subs.size) this.subscribe(ids);
  }

  /**
   * Follows these groups as well as the dashboard's (a card opened from a notification).
   * The server then stops following the dashboard, so the page subscribes every card it adds.
   * @param {string[]} ids
   */
  subscribe(ids) {
    const fresh = ids.filter((id) => !this.subs.has(id));
    if (!fresh.length) return;
    for (const id of fresh) this.subs.add(id);
    this.send({ type: 'subscribe', groups: fresh });
  }

  /**
   * Applies one server frame.
   * @param {any} msg
   */
  handle(msg) {
    switch (msg.type) {
      case 'hello':
        if (msg.resume_token !== this.token) this.seq = typeof msg.seq === 'number' ? msg.seq : 0;
        this.token = msg.resume_token || '';
        this.failures = 0;
        this.state.value = 'live';
        this.downSince.value = 0;
        if (msg.server_time) this.clockOffset = Date.parse(msg.server_time) - Date.now() || 0;
        this.deck.here.value = typeof msg.location === 'string' ? msg.location : '';
        if (this.subs.size) this.send({ type: 'subscribe', groups: [...this.subs] });
        this.o.onHello && this.o.onHello(msg.user);
        break;
      case 'snapshot':
      case 'group_updated':
        // applied in frames, a few per frame, so the first cards paint while the rest arrive
        if (msg.group) {
          this.pending.push(msg);
          this.schedule();
        }
        break;
      case 'locations':
        // in order with the snapshots: a snapshot queued before it must not undo it
        if (Array.isArray(msg.locations)) {
          this.pending.push(msg);
          this.schedule();
        }
        break;
      case 'group_deleted':
      case 'access_revoked':
        this.applyPending();
        this.deck.remove(msg.id);
        break;
      case 'results':
        // The next resume continues from here. A replay may repeat results we have
        // (after a move to another replica): the cells drop samples not newer than theirs.
        if (typeof msg.seq === 'number') this.seq = msg.seq;
        if (Array.isArray(msg.items) && msg.items.length) this.enqueue(msg.items);
        break;
      case 'notification':
        this.o.onNotification && this.o.onNotification(msg.notification);
        break;
      default:
        break; // pong, error and future types
    }
  }

  /** @param {import('./model.js').ResultItem[]} items */
  enqueue(items) {
    this.queue.push(items);
    this.schedule();
  }

  /** Asks for one flush on the next frame. */
  schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    const schedule =
      this.o.schedule ||
      ((/** @type {() => void} */ fn) =>
        globalThis.document && document.hidden ? setTimeout(fn, 1000) : requestAnimationFrame(fn));
    schedule(this.flush);
  }

  /**
   * Applies queued snapshots/updates: all of them, or (budgetMs given) as many as fit.
   * @param {number} [budgetMs]
   * @returns {boolean} whether any are left
   */
  applyPending(budgetMs) {
    const t0 = performance.now();
    let i = 0;
    batch(() => {
      while (i < this.pending.length) {
        const m = this.pending[i++];
        if (m.type === 'locations') this.deck.setLocations(m.locations);
        else this.deck.upsert(m.group, m.type === 'snapshot');
        if (budgetMs !== undefined && performance.now() - t0 > budgetMs) break;
      }
    });
    this.pending.splice(0, i);
    return this.pending.length > 0;
  }

  /** Applies queued snapshots (within a frame budget) and every queued result batch in one signal batch. */
  flush() {
    this.scheduled = false;
    if (this.pending.length && this.applyPending(SNAPSHOT_BUDGET_MS)) {
      this.schedule(); // results wait until every snapshot before them is applied
      return;
    }
    const q = this.queue;
    this.queue = [];
    if (!q.length) return;
    let touched;
    batch(() => {
      touched = q.length === 1 ? this.deck.applyResults(q[0]) : this.deck.applyResults(q.flat());
    });
    this.o.onResults && this.o.onResults(/** @type {any} */ (touched));
  }
}
