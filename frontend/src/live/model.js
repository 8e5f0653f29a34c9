// The dashboard's live data: groups and targets as signals, fed by REST loads, socket
// snapshots, result batches and the locations' online states. Pure (no DOM, no network)
// so it is tested directly.
import { signal, computed, batch } from '@preact/signals';
import { fmtFrac } from '../format.js';
import { sample } from './cell.js';
import { TargetModel } from './target.js';
import { groupLocations } from './rows.js';

export { SPARK_SAMPLES, WINDOW_MS, STALE_INTERVALS, isLoss, failureReason, CellModel } from './cell.js';
export { TargetModel } from './target.js';

/** @typedef {import('./cell.js').Sample} Sample */
/** @typedef {{g:string, t:string, loc?:string, at:number, ok:boolean, rtt_ms:number|null, err?:string}} ResultItem */
/** @typedef {{name:string, kind?:string, agent?:string, online:boolean, last_seen?:string|null}} LocationInfo */

/**
 * @typedef {object} GroupOptions
 * @property {(loc: string) => boolean} [offlineOf] whether a location is known to be offline
 */

/** One card. `meta` is the group JSON without targets; `targets` changes only when the target set does. */
export class GroupModel {
  /**
   * @param {any} g group JSON
   * @param {GroupOptions} [o]
   */
  constructor(g, o = {}) {
    this.id = /** @type {string} */ (g.id);
    this.offlineOf = o.offlineOf || (() => false);
    this.meta = signal(/** @type {any} */ ({}));
    /** @type {import('@preact/signals').Signal<TargetModel[]>} */
    this.targets = signal([]);
    /** @type {Map<string, TargetModel>} */
    this.byId = new Map();
    /** @type {string[]} where the group is probed from, in order */
    this.locations = groupLocations(null);
    /** success rate of the last minute over all targets and reporting locations, 0..1 */
    this.success = signal(/** @type {number|null} */ (null));
    /** whether the target list has been loaded (REST detail or snapshot) */
    this.loaded = signal(false);
    this.successText = computed(() => fmtFrac(this.success.value, 1));
    this.update(g);
  }

  /** @param {any} g group JSON, with or without targets */
  update(g) {
    batch(() => this.apply(g));
  }

  /** @param {any} g */
  apply(g) {
    const { targets, skipped, ...meta } = g;
    const prev = this.meta.peek();
    const next = { ...prev, ...meta };
    // the targets follow the locations before the card that shows them hears of the change
    const locs = groupLocations(next);
    const moved = locs.join('\n') !== this.locations.join('\n');
    if (moved) {
      this.locations = locs;
      for (const t of this.targets.peek()) t.setLocations(locs);
    }
    this.meta.value = next;
    if (Array.isArray(targets)) {
      const seen = new Set();
      let changed = targets.length !== this.targets.peek().length;
      const list = targets.map((/** @type {any} */ t, /** @type {number} */ i) => {
        seen.add(t.id);
        let m = this.byId.get(t.id);
        if (m) m.update(t);
        else {
          m = new TargetModel(this.id, t, { locations: this.locations, offlineOf: this.offlineOf });
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
    } else {
      if (meta.paused !== undefined && prev.paused !== meta.paused && meta.paused) for (const t of this.targets.peek()) t.pauseAll();
      if (moved) this.recount();
    }
  }

  /** @param {string} id */
  removeTarget(id) {
    if (!this.byId.delete(id)) return;
    this.targets.value = this.targets.peek().filter((t) => t.id !== id);
    this.recount();
  }

  /** Recomputes the card's success rate from its targets' counters (offline locations left out). */
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

/** All cards of the page, keyed by group id, and the locations they are probed from. */
export class Deck {
  constructor() {
    /** @type {import('@preact/signals').Signal<GroupModel[]>} in server order */
    this.groups = signal([]);
    /** @type {Map<string, GroupModel>} */
    this.byId = new Map();
    /** @type {import('@preact/signals').Signal<LocationInfo[]>} the stream's last `locations` message */
    this.locations = signal(/** @type {LocationInfo[]} */ ([]));
    /** @type {Map<string, boolean>} online per location named in it */
    this.online = new Map();
    /** the server's own location (hello), '' from an older server */
    this.here = signal('');
    this.offlineOf = (/** @type {string} */ loc) => this.online.get(loc) === false;
    /**
     * Called when a group is probed from a location the last `locations` message did not
     * name (an agent created since: the stream only says when a location goes on or off
     * line), so the page can read the list again.
     * @type {(() => void) | null}
     */
    this.onUnknownLocation = null;
  }

  /** @param {GroupModel} g */
  checkLocations(g) {
    if (!this.onUnknownLocation || !this.locations.peek().length) return;
    if (g.locations.some((l) => l && !this.online.has(l))) this.onUnknownLocation();
  }

  /** @param {any} g */
  newGroup(g) {
    return new GroupModel(g, { offlineOf: this.offlineOf });
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
        let m = this.byId.get(g.id);
        if (m) m.update(g);
        else this.byId.set(g.id, (m = this.newGroup(g)));
        this.checkLocations(m);
        return m;
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
      let m = this.byId.get(g.id);
      if (m) m.update(g);
      else if (add) {
        this.byId.set(g.id, (m = this.newGroup(g)));
        this.groups.value = [...this.groups.peek(), m];
      }
      if (m) this.checkLocations(m);
    });
  }

  /** @param {string} id */
  remove(id) {
    if (!this.byId.delete(id)) return;
    this.groups.value = this.groups.peek().filter((g) => g.id !== id);
  }

  /**
   * Takes the locations' online states (the `locations` message): the cells of an offline
   * location say "offline" and leave the loss figures.
   * @param {LocationInfo[]} list
   */
  setLocations(list) {
    batch(() => {
      this.online = new Map(list.map((l) => [l.name, !!l.online]));
      this.locations.value = list;
      for (const g of this.groups.peek()) {
        let changed = false;
        for (const t of g.targets.peek()) {
          for (const loc of g.locations) {
            const on = this.online.get(loc);
            if (on !== undefined && t.setOffline(loc, !on)) changed = true;
          }
        }
        if (changed) g.recount();
      }
    });
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
        if (t.push(sample(it), it.loc)) {
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
