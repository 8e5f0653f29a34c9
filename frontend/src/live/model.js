// The dashboard's live data: groups and targets as signals, fed by REST loads, socket
// snapshots and result batches. Pure (no DOM, no network) so it is tested directly.
import { signal, computed, batch } from '@preact/signals';
import { fmtRtt, fmtFrac } from '../format.js';

/** @typedef {{at:number, ok:boolean, rtt_ms:number|null, err?:string}} Sample */
/** @typedef {{g:string, t:string, at:number, ok:boolean, rtt_ms:number|null, err?:string}} ResultItem */

/** Samples a sparkline shows. */
export const SPARK_SAMPLES = 60;
/** The "last minute" of loss and success rates. */
export const WINDOW_MS = 60000;
/** At most this many samples are kept per target (a minute at 100 ms intervals). */
const MAX_SAMPLES = 600;

/**
 * Whether a sample is a lost packet: a probe that left and got no answer. A failure before
 * sending (no address, a send error) is not a loss and stays out of the loss figures.
 * @param {Sample} s
 */
export function isLoss(s) {
  return !s.ok && (!s.err || s.err === 'timeout');
}

/**
 * The short reason of a failure that is not a timeout ("no such host" from
 * "resolve x: lookup x: no such host"), or '' for answers and timeouts.
 * @param {Sample|undefined} s
 */
export function failureReason(s) {
  if (!s || s.ok || !s.err || s.err === 'timeout') return '';
  const i = s.err.lastIndexOf(': ');
  return i >= 0 ? s.err.slice(i + 2) : s.err;
}

/** A row is stale when its newest result is older than this many intervals. */
export const STALE_INTERVALS = 3;

/** One target row: fields the row shows are signals so only its own text nodes change. */
export class TargetModel {
  /**
   * @param {string} groupId
   * @param {any} t target JSON (REST) or live target (snapshot)
   */
  constructor(groupId, t) {
    this.groupId = groupId;
    this.id = /** @type {string} */ (t.id);
    this.address = signal(/** @type {string} */ (t.address));
    this.ip = signal(/** @type {string|null} */ (t.ip ?? null));
    this.paused = signal(!!t.paused);
    /** @type {import('@preact/signals').Signal<'up'|'down'|'unknown'|'paused'>} */
    this.state = signal(t.paused ? 'paused' : 'unknown');
    /** last sample's RTT, null when lost or none */
    this.rtt = signal(/** @type {number|null} */ (null));
    /** why the last probe failed when it was not a timeout ("no such host"), else '' */
    this.reason = signal('');
    /** the last probe's full error, for a tooltip */
    this.errText = signal('');
    /** loss over the last minute of wall time, 0..1, null with no probes sent in it */
    this.loss = signal(/** @type {number|null} */ (null));
    /** the newest result is older than STALE_INTERVALS intervals (set by age) */
    this.stale = signal(false);
    /** @type {Sample[]} oldest first */
    this.samples = [];
    /** bumped whenever samples change (sparklines compare it to what they drew) */
    this.version = 0;
    /** answered and sent probes (errors excluded) in the last minute */
    this.ok1m = 0;
    this.n1m = 0;
    /** index of the first sample inside the last minute */
    this.win = 0;
    /** @type {Set<(s: Sample) => void> | null} per-probe listeners (target detail page) */
    this.listeners = null;
    this.dot = computed(() => 'dot dot-' + this.state.value);
    this.rttText = computed(() => {
      const st = this.state.value;
      if (st === 'paused') return 'paused';
      if (st === 'down') return this.reason.value || 'timeout';
      return fmtRtt(this.rtt.value);
    });
    this.lossText = computed(() => (this.paused.value ? '—' : fmtFrac(this.loss.value)));
    this.rowClass = computed(() => (this.stale.value && !this.paused.value ? 'row stale' : 'row'));
    this.pauseLabel = computed(() => (this.paused.value ? 'Resume ' : 'Pause ') + this.address.value);
    this.pauseIcon = computed(() => (this.paused.value ? '▶' : '❚❚'));
    this.ipText = computed(() => {
      const ip = this.ip.value;
      return ip && ip !== this.address.value ? ip : '';
    });
    this.update(t);
  }

  /**
   * Applies target JSON: REST fields, and the live ones when present (snapshot).
   * @param {any} t
   */
  update(t) {
    this.address.value = t.address;
    if ('ip' in t) this.ip.value = t.ip ?? null;
    if ('paused' in t) this.paused.value = !!t.paused;
    if (Array.isArray(t.recent)) {
      /** @type {Sample[]} */
      const recent = t.recent.map((/** @type {any} */ s) => sample(s));
      if (t.last && (!recent.length || recent[recent.length - 1].at < t.last.at)) recent.push(sample(t.last));
      // keep newer samples we already have (a snapshot can lag a result batch)
      const lastAt = recent.length ? recent[recent.length - 1].at : -Infinity;
      for (const s of this.samples) if (s.at > lastAt) recent.push(s);
      this.samples = recent.slice(-MAX_SAMPLES);
      this.version++;
      this.recount();
      this.showLast();
    }
    if (t.state) this.state.value = t.state;
    else if (this.paused.value) this.state.value = 'paused';
    else if (this.state.value === 'paused') this.state.value = 'unknown';
  }

  /** Sets the RTT and failure reason from the newest sample. */
  showLast() {
    const last = this.samples[this.samples.length - 1];
    this.rtt.value = last && last.ok ? last.rtt_ms : null;
    this.reason.value = failureReason(last);
    this.errText.value = last && !last.ok ? last.err || 'timeout' : '';
  }

  /**
   * Adds one probe result. Returns false for a duplicate or older one (replays are idempotent).
   * @param {Sample} s
   */
  push(s) {
    const list = this.samples;
    const n = list.length;
    if (n && s.at <= list[n - 1].at) return false;
    list.push(s);
    if (s.ok) {
      this.n1m++;
      this.ok1m++;
    } else if (isLoss(s)) this.n1m++;
    this.slide(s.at);
    this.setLoss();
    // drop what neither the window nor the sparkline needs, in chunks (no shift per result)
    let cut = Math.min(this.win, list.length - SPARK_SAMPLES);
    if (list.length - cut > MAX_SAMPLES) cut = list.length - MAX_SAMPLES;
    if (cut >= 64 || list.length > MAX_SAMPLES + 64) this.dropOldest(cut);
    this.version++;
    this.showLast();
    this.stale.value = false;
    if (!this.paused.value) this.state.value = s.ok ? 'up' : 'down';
    if (this.listeners) for (const fn of this.listeners) fn(s);
    return true;
  }

  /**
   * Moves the last-minute window to end at now (server clock, ms): samples sent at or
   * before now − WINDOW_MS leave the counters, so a target that stopped reporting (paused,
   * removed from probing, a dead stream) does not keep an old minute's figures.
   * @param {number} now
   */
  slide(now) {
    const list = this.samples;
    const from = now - WINDOW_MS;
    let moved = false;
    while (this.win < list.length && list[this.win].at <= from) {
      const old = list[this.win];
      if (old.ok) {
        this.n1m--;
        this.ok1m--;
      } else if (isLoss(old)) this.n1m--;
      this.win++;
      moved = true;
    }
    return moved;
  }

  /**
   * Ages the row to the wall clock: slides its minute and marks it stale when its newest
   * result is older than STALE_INTERVALS × intervalMs. Returns whether the minute changed.
   * @param {number} now server clock, ms
   * @param {number} intervalMs the group's probe interval
   */
  age(now, intervalMs) {
    const moved = this.slide(now);
    if (moved) this.setLoss();
    const last = this.samples[this.samples.length - 1];
    this.stale.value = !!last && intervalMs > 0 && now - last.at > STALE_INTERVALS * intervalMs;
    return moved;
  }

  setLoss() {
    this.loss.value = this.n1m ? 1 - this.ok1m / this.n1m : null;
  }

  /** @param {number} cut samples to drop from the start */
  dropOldest(cut) {
    for (let i = this.win; i < cut; i++) {
      const s = this.samples[i];
      if (s.ok) {
        this.n1m--;
        this.ok1m--;
      } else if (isLoss(s)) this.n1m--;
    }
    this.samples.splice(0, cut);
    this.win = Math.max(0, this.win - cut);
  }

  /** Recomputes the last-minute counters from the samples (after a snapshot). */
  recount() {
    const list = this.samples;
    const n = list.length;
    let ok = 0;
    let sent = 0;
    let i = n - 1;
    if (n) {
      const from = list[n - 1].at - WINDOW_MS;
      for (; i >= 0 && list[i].at > from; i--) {
        if (list[i].ok) ok++;
        if (list[i].ok || isLoss(list[i])) sent++;
      }
    }
    this.win = i + 1;
    this.ok1m = ok;
    this.n1m = sent;
    this.setLoss();
  }

  /** Samples the sparkline shows: the last SPARK_SAMPLES. */
  recent() {
    return this.samples.length > SPARK_SAMPLES ? this.samples.slice(-SPARK_SAMPLES) : this.samples;
  }
}

/**
 * A sample from wire JSON.
 * @param {any} s
 * @returns {Sample}
 */
function sample(s) {
  /** @type {Sample} */
  const out = { at: s.at, ok: s.ok, rtt_ms: s.rtt_ms ?? null };
  if (s.err) out.err = s.err;
  return out;
}

/** One card. `meta` is the group JSON without targets; `targets` changes only when the target set does. */
export class GroupModel {
  /** @param {any} g group JSON */
  constructor(g) {
    this.id = /** @type {string} */ (g.id);
    this.meta = signal(/** @type {any} */ ({}));
    /** @type {import('@preact/signals').Signal<TargetModel[]>} */
    this.targets = signal([]);
    /** @type {Map<string, TargetModel>} */
    this.byId = new Map();
    /** success rate of the last minute over all targets, 0..1 */
    this.success = signal(/** @type {number|null} */ (null));
    /** whether the target list has been loaded (REST detail or snapshot) */
    this.loaded = signal(false);
    this.successText = computed(() => fmtFrac(this.success.value, 1));
    this.update(g);
  }

  /** @param {any} g group JSON, with or without targets */
  update(g) {
    const { targets, skipped, ...meta } = g;
    const prev = this.meta.peek();
    this.meta.value = { ...prev, ...meta };
    if (Array.isArray(targets)) {
      const seen = new Set();
      let changed = targets.length !== this.targets.peek().length;
      const list = targets.map((/** @type {any} */ t, /** @type {number} */ i) => {
        seen.add(t.id);
        let m = this.byId.get(t.id);
        if (m) m.update(t);
        else {
          m = new TargetModel(this.id, t);
          this.byId.set(t.id, m);
          changed = true;
        }
        if (this.targets.peek()[i] !== m) changed = true;
        return m;
      });
      for (const id of [...this.byId.keys()]) if (!seen.has(id)) this.byId.delete(id);
      if (changed) this.targets.value = list;
      this.loaded.value = true;
      this.recount();
    } else if (meta.paused !== undefined && prev.paused !== meta.paused) {
      for (const t of this.targets.peek()) if (meta.paused) t.state.value = 'paused';
    }
  }

  /** @param {string} id */
  removeTarget(id) {
    if (!this.byId.delete(id)) return;
    this.targets.value = this.targets.peek().filter((t) => t.id !== id);
    this.recount();
  }

  /** Recomputes the card's success rate from its targets' counters. */
  recount() {
    let ok = 0;
    let n = 0;
    for (const t of this.targets.peek()) {
      ok += t.ok1m;
      n += t.n1m;
    }
    this.success.value = n ? ok / n : null;
  }
}

/** All cards of the page, keyed by group id. */
export class Deck {
  constructor() {
    /** @type {import('@preact/signals').Signal<GroupModel[]>} in server order */
    this.groups = signal([]);
    /** @type {Map<string, GroupModel>} */
    this.byId = new Map();
  }

  /**
   * Replaces the card list with the groups of a list answer (keeping live data of known ones).
   * @param {any[]} list
   */
  setList(list) {
    batch(() => {
      const keep = new Set();
      const out = list.map((g) => {
        keep.add(g.id);
        const m = this.byId.get(g.id);
        if (m) {
          m.update(g);
          return m;
        }
        const n = new GroupModel(g);
        this.byId.set(g.id, n);
        return n;
      });
      for (const id of [...this.byId.keys()]) if (!keep.has(id)) this.byId.delete(id);
      this.groups.value = out;
    });
  }

  /**
   * Adds or updates one group (snapshot, group_updated, a REST answer).
   * @param {any} g
   * @param {boolean} [add] add it when unknown (false: ignore groups not on the page)
   */
  upsert(g, add = true) {
    batch(() => {
      const m = this.byId.get(g.id);
      if (m) m.update(g);
      else if (add) {
        const n = new GroupModel(g);
        this.byId.set(g.id, n);
        this.groups.value = [...this.groups.peek(), n];
      }
    });
  }

  /** @param {string} id */
  remove(id) {
    if (!this.byId.delete(id)) return;
    this.groups.value = this.groups.peek().filter((g) => g.id !== id);
  }

  /**
   * Applies a batch of results in one signal batch. Returns the targets that got samples.
   * @param {ResultItem[]} items
   * @returns {TargetModel[]}
   */
  applyResults(items) {
    /** @type {TargetModel[]} */
    const touched = [];
    /** @type {Set<GroupModel>} */
    const groups = new Set();
    batch(() => {
      for (const it of items) {
        const g = this.byId.get(it.g);
        const t = g && g.byId.get(it.t);
        if (!g || !t) continue;
        if (t.push(sample(it))) {
          touched.push(t);
          groups.add(g);
        }
      }
      for (const g of groups) g.recount();
    });
    return touched;
  }

  /**
   * Ages every row to the wall clock (server time, ms): last-minute figures drop what is
   * older than a minute and rows with no recent result turn stale.
   * @param {number} now
   */
  age(now) {
    batch(() => {
      for (const g of this.groups.peek()) {
        const interval = g.meta.peek().interval_ms || 1000;
        let moved = false;
        for (const t of g.targets.peek()) if (t.age(now, interval)) moved = true;
        if (moved) g.recount();
      }
    });
  }

  /**
   * Finds a target anywhere on the deck.
   * @param {string} gid
   * @param {string} tid
   */
  target(gid, tid) {
    const g = this.byId.get(gid);
    return g ? g.byId.get(tid) : undefined;
  }
}
