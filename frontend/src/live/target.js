// One target row: its identity, one cell per location the group is probed from, and the
// row's summary of those cells. Pure (no DOM, no network) so it is tested directly.
import { signal, computed } from '@preact/signals';
import { fmtRtt, fmtFrac } from '../format.js';
import { CellModel } from './cell.js';
import { UNNAMED, rowState, worst } from './rows.js';

/** @typedef {import('./cell.js').Sample} Sample */
/** @typedef {'up'|'down'|'partial'|'unknown'|'paused'|'offline'} RowState */

/**
 * @typedef {object} TargetOptions
 * @property {string[]} [locations] the group's locations, in order
 * @property {(loc: string) => boolean} [offlineOf] whether a location is known to be offline
 */

/** One target row: fields the row shows are signals so only its own text nodes change. */
export class TargetModel {
  /**
   * @param {string} groupId
   * @param {any} t target JSON (REST) or live target (snapshot)
   * @param {TargetOptions} [o]
   */
  constructor(groupId, t, o = {}) {
    this.groupId = groupId;
    this.id = /** @type {string} */ (t.id);
    this.address = signal(/** @type {string} */ (t.address));
    this.ip = signal(/** @type {string|null} */ (t.ip ?? null));
    this.paused = signal(!!t.paused);
    this.offlineOf = o.offlineOf || (() => false);
    /** @type {string[]} the group's locations, in order */
    this.locations = [];
    /** @type {Map<string, CellModel>} */
    this.cells = new Map();
    /** @type {CellModel[]} in location order; the first is the group's first location */
    this.cellList = [];
    // The row's summary of its cells (with one location: that cell's own figures).
    /** @type {import('@preact/signals').Signal<RowState>} */
    this.state = signal(/** @type {RowState} */ (t.paused ? 'paused' : 'unknown'));
    /** the newest RTT (the slowest over the locations), null when lost or none */
    this.rtt = signal(/** @type {number|null} */ (null));
    /** why the last probe failed when it was not a timeout ("no such host"), else '' */
    this.reason = signal('');
    /** the last probe's full error, for a tooltip */
    this.errText = signal('');
    /** loss over the last minute (the worst over the locations), 0..1, null with no probes sent */
    this.loss = signal(/** @type {number|null} */ (null));
    /** every location still reporting has reported nothing for STALE_INTERVALS intervals */
    this.stale = signal(false);
    /** answered and sent probes (errors excluded) in the last minute, over the locations not offline */
    this.ok1m = 0;
    this.n1m = 0;
    /** @type {Set<(s: Sample, loc: string) => void> | null} per-probe listeners (target detail page) */
    this.listeners = null;
    this.dot = computed(() => 'dot dot-' + this.state.value);
    this.rttText = computed(() => {
      const st = this.state.value;
      if (st === 'paused' || st === 'offline') return st;
      if (st === 'down') return this.reason.value || 'timeout';
      return fmtRtt(this.rtt.value);
    });
    this.lossText = computed(() => (this.paused.value || this.state.value === 'offline' ? '—' : fmtFrac(this.loss.value)));
    this.rowClass = computed(() => (this.stale.value && !this.paused.value ? 'row stale' : 'row'));
    this.pauseLabel = computed(() => (this.paused.value ? 'Resume ' : 'Pause ') + this.address.value);
    this.pauseIcon = computed(() => (this.paused.value ? '▶' : '❚❚'));
    this.ipText = computed(() => {
      const ip = this.ip.value;
      return ip && ip !== this.address.value ? ip : '';
    });
    this.setLocations(o.locations || [UNNAMED]);
    this.update(t);
  }

  /**
   * Follows the group's locations: keeps the cells of locations it still has, adds cells
   * for new ones. The cell of a group that had not named its location becomes the first's.
   * @param {string[]} locs
   */
  setLocations(locs) {
    if (locs.length === this.locations.length && locs.every((l, i) => l === this.locations[i])) return;
    const old = this.cells;
    this.cells = new Map();
    for (const loc of locs) {
      let c = old.get(loc);
      if (!c && old.has(UNNAMED)) {
        c = /** @type {CellModel} */ (old.get(UNNAMED));
        old.delete(UNNAMED);
        c.loc = loc;
        c.offline.value = this.offlineOf(loc);
      }
      this.cells.set(loc, c || new CellModel(this, loc, this.offlineOf(loc)));
    }
    this.locations = locs;
    this.cellList = locs.map((l) => /** @type {CellModel} */ (this.cells.get(l)));
    this.refresh();
  }

  /**
   * The cell results of a location go to: an item without a location (an older server), or
   * any item while the group has not named its locations, belongs to the first.
   * @param {string|undefined|null} loc
   */
  cell(loc) {
    if (loc == null || this.locations[0] === UNNAMED) return this.cellList[0];
    return this.cells.get(loc);
  }

  /**
   * Applies target JSON: REST fields, and the live ones when present (snapshot): the
   * top-level state/last/recent are the first location's, `by_location` has every one's.
   * @param {any} t
   */
  update(t) {
    this.address.value = t.address;
    if ('ip' in t) this.ip.value = t.ip ?? null;
    if ('paused' in t) this.paused.value = !!t.paused;
    const paused = this.paused.peek();
    const by = t.by_location && typeof t.by_location === 'object' ? t.by_location : null;
    /** @type {Set<CellModel>} cells the JSON gave a state */
    const told = new Set();
    const first = this.cellList[0];
    let firstDone = false;
    if (by) {
      for (const c of this.cellList) {
        const part = by[c.loc];
        if (!part || typeof part !== 'object') continue;
        c.applyLive(part, paused);
        if (part.state) told.add(c);
        if (c === first) firstDone = true;
      }
    }
    if (!firstDone && (Array.isArray(t.recent) || t.state)) {
      first.applyLive(t, paused);
      if (t.state) told.add(first);
    }
    for (const c of this.cellList) {
      if (told.has(c)) continue;
      if (paused) c.state.value = 'paused';
      else if (c.state.peek() === 'paused') c.state.value = 'unknown';
    }
    this.refresh();
  }

  /** Shows every cell paused (the group was paused). */
  pauseAll() {
    for (const c of this.cellList) c.state.value = 'paused';
    this.refresh();
  }

  /**
   * Marks a location offline or online. Returns whether anything changed.
   * @param {string} loc @param {boolean} offline
   */
  setOffline(loc, offline) {
    const c = this.cells.get(loc);
    if (!c || c.offline.peek() === offline) return false;
    c.offline.value = offline;
    this.refresh();
    return true;
  }

  /** Recomputes the row's summary from its cells. */
  refresh() {
    const cells = this.cellList;
    if (cells.length === 1) {
      const c = cells[0];
      const off = c.offline.peek();
      this.state.value = this.paused.peek() ? 'paused' : /** @type {RowState} */ (c.view());
      this.rtt.value = off ? null : c.rtt.peek();
      this.reason.value = off ? '' : c.reason.peek();
      this.errText.value = off ? '' : c.errText.peek();
      this.loss.value = off ? null : c.loss.peek();
      this.stale.value = !off && c.stale.peek();
      this.ok1m = off ? 0 : c.ok1m;
      this.n1m = off ? 0 : c.n1m;
      return;
    }
    const on = cells.filter((c) => !c.offline.peek());
    this.ok1m = on.reduce((n, c) => n + c.ok1m, 0);
    this.n1m = on.reduce((n, c) => n + c.n1m, 0);
    const st = rowState(cells.map((c) => c.view()));
    this.state.value = this.paused.peek() ? 'paused' : /** @type {RowState} */ (st);
    this.rtt.value = worst(on.map((c) => c.rtt.peek()));
    this.loss.value = worst(on.map((c) => c.loss.peek()));
    const down = on.find((c) => c.state.peek() === 'down');
    this.reason.value = down ? down.reason.peek() : '';
    this.errText.value = down ? down.loc + ': ' + down.errText.peek() : '';
    const reporting = on.filter((c) => c.samples.length);
    this.stale.value = reporting.length > 0 && reporting.every((c) => c.stale.peek());
  }

  /**
   * Adds one probe result from a location. Returns false for a duplicate or older one
   * (replays are idempotent) and for a location the group is not probed from.
   * @param {Sample} s
   * @param {string} [loc]
   */
  push(s, loc) {
    const c = this.cell(loc);
    if (!c || !c.push(s, this.paused.peek())) return false;
    this.refresh();
    if (this.listeners) for (const fn of this.listeners) fn(s, c.loc);
    return true;
  }

  /**
   * Ages every cell to the wall clock (see CellModel.age). Returns whether a minute changed.
   * @param {number} now server clock, ms
   * @param {number} intervalMs the group's probe interval
   */
  age(now, intervalMs) {
    let moved = false;
    let changed = false;
    for (const c of this.cellList) {
      const stale = c.stale.peek();
      if (c.age(now, intervalMs)) moved = true;
      if (c.stale.peek() !== stale) changed = true;
    }
    if (moved || changed) this.refresh();
    return moved;
  }

  /** Recomputes every cell's last-minute counters from its samples. */
  recount() {
    for (const c of this.cellList) c.recount();
    this.refresh();
  }

  /** The first location's samples, oldest first. */
  get samples() {
    return this.cellList[0].samples;
  }

  /** The first location's sample version (its sparkline redraws when it changes). */
  get version() {
    return this.cellList[0].version;
  }

  /** The first location's sparkline samples. */
  recent() {
    return this.cellList[0].recent();
  }

  /** Words the filter box matches per location ("fra down local up"), '' with one location. */
  cellWords() {
    if (this.cellList.length < 2) return '';
    return this.cellList.map((c) => c.loc + ' ' + c.view()).join(' ');
  }
}
