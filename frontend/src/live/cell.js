// One cell of the target × location matrix: the probes of one target from one location,
// with its last-minute counters. Pure (no DOM, no network) so it is tested directly.
import { signal, computed } from '@preact/signals';
import { fmtRtt, fmtFrac } from '../format.js';

/** @typedef {{at:number, ok:boolean, rtt_ms:number|null, err?:string}} Sample */
/** @typedef {'up'|'down'|'unknown'|'paused'} CellState */

/** Samples a sparkline shows. */
export const SPARK_SAMPLES = 60;
/** The "last minute" of loss and success rates. */
export const WINDOW_MS = 60000;
/** At most this many samples are kept per cell (a minute at 100 ms intervals). */
const MAX_SAMPLES = 600;
/** A cell is stale when its newest result is older than this many intervals. */
export const STALE_INTERVALS = 3;

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

/**
 * A sample from wire JSON.
 * @param {any} s
 * @returns {Sample}
 */
export function sample(s) {
  /** @type {Sample} */
  const out = { at: s.at, ok: s.ok, rtt_ms: s.rtt_ms ?? null };
  if (s.err) out.err = s.err;
  return out;
}

/**
 * What a cell shows: paused when its target or group is, offline when its location has not
 * been heard from, else the state of its last probe.
 * @param {boolean} offline @param {string} state
 */
export function cellView(offline, state) {
  return state === 'paused' ? 'paused' : offline ? 'offline' : state;
}

/**
 * What a cell says in place of an RTT: "paused", "offline" for a location not heard from
 * (never "timeout"), the failure's reason or "timeout" when down, else the RTT.
 * @param {{offline: boolean, state: string, reason: string, rtt: number|null}} c
 */
export function cellRttText(c) {
  const v = cellView(c.offline, c.state);
  if (v === 'paused' || v === 'offline') return v;
  if (v === 'down') return c.reason || 'timeout';
  return fmtRtt(c.rtt);
}

/**
 * The last-minute loss a cell shows: none for an offline location (its silence is not
 * loss) or a paused target.
 * @param {{offline: boolean, paused: boolean, loss: number|null}} c
 */
export function cellLossText(c) {
  return c.offline || c.paused ? '—' : fmtFrac(c.loss);
}

/** The probes of one target from one location. */
export class CellModel {
  /**
   * @param {any} target the TargetModel it belongs to (sparklines are keyed by it)
   * @param {string} loc location name ('' before the group said where it is probed from)
   * @param {boolean} offline whether the location is known to be offline
   */
  constructor(target, loc, offline = false) {
    this.target = target;
    this.loc = loc;
    /** @type {import('@preact/signals').Signal<CellState>} the state of its last probe */
    this.state = signal(/** @type {CellState} */ ('unknown'));
    /** the location has not been heard from (10 s): the cell says so instead of its figures */
    this.offline = signal(offline);
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
    /** @type {Record<string, import('@preact/signals').ReadonlySignal<string>>} built on first use (matrix cells only) */
    this.texts = {};
  }

  /** What the cell shows: its state, or offline. */
  view() {
    return cellView(this.offline.peek(), this.state.peek());
  }

  /** @returns {import('@preact/signals').ReadonlySignal<string>} RTT text, for binding into the DOM */
  get rttText() {
    return (this.texts.rtt ??= computed(() =>
      cellRttText({ offline: this.offline.value, state: this.state.value, reason: this.reason.value, rtt: this.rtt.value }),
    ));
  }

  /** @returns {import('@preact/signals').ReadonlySignal<string>} loss text */
  get lossText() {
    return (this.texts.loss ??= computed(() =>
      cellLossText({ offline: this.offline.value, paused: this.state.value === 'paused', loss: this.loss.value }),
    ));
  }

  /** @returns {import('@preact/signals').ReadonlySignal<string>} the class of a state dot for the cell */
  get dot() {
    return (this.texts.dot ??= computed(() => 'dot dot-' + cellView(this.offline.value, this.state.value)));
  }

  /** @returns {import('@preact/signals').ReadonlySignal<string>} the cell's class: its state and staleness */
  get cls() {
    return (this.texts.cls ??= computed(() => {
      const v = cellView(this.offline.value, this.state.value);
      return 'cell cell-' + v + (this.stale.value && v !== 'offline' ? ' stale' : '');
    }));
  }

  /**
   * Applies the live part of a snapshot for this location: {state, last, recent}.
   * @param {any} live
   * @param {boolean} paused the target is paused
   */
  applyLive(live, paused) {
    if (Array.isArray(live.recent)) {
      /** @type {Sample[]} */
      const recent = live.recent.map((/** @type {any} */ s) => sample(s));
      if (live.last && (!recent.length || recent[recent.length - 1].at < live.last.at)) recent.push(sample(live.last));
      // keep newer samples we already have (a snapshot can lag a result batch)
      const lastAt = recent.length ? recent[recent.length - 1].at : -Infinity;
      for (const s of this.samples) if (s.at > lastAt) recent.push(s);
      this.samples = recent.slice(-MAX_SAMPLES);
      this.version++;
      this.recount();
      this.showLast();
    }
    if (live.state === 'offline') {
      this.offline.value = true;
      const last = this.samples[this.samples.length - 1];
      this.state.value = paused ? 'paused' : last ? (last.ok ? 'up' : 'down') : 'unknown';
    } else if (live.state) {
      this.offline.value = false;
      this.state.value = live.state;
    }
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
   * @param {boolean} paused the target is paused (its state stays paused)
   */
  push(s, paused) {
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
    if (!paused) this.state.value = s.ok ? 'up' : 'down';
    return true;
  }

  /**
   * Moves the last-minute window to end at now (server clock, ms): samples sent at or
   * before now − WINDOW_MS leave the counters, so a cell that stopped reporting (paused,
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
   * Ages the cell to the wall clock: slides its minute and marks it stale when its newest
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
