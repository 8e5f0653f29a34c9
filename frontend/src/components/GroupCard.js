import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { collapsed, toggleCollapsed, dialog, flashError, canEdit, canOwn, focusGroup, staleSince, deck } from '../state.js';
import { fmtDuration, fmtClock, plural, locationTitle } from '../format.js';
import { sortRows, rowMatches } from '../sort.js';
import { TargetRow } from './TargetRow.js';
import { GroupMenu } from './GroupMenu.js';
import { cellHoverHandlers } from './CellPopover.js';
import { useGroupHistory } from '../grouphistory.js';
import { firing, firingPerGroup } from '../alerts.js';

/** Height a row takes before it is rendered (keeps the scrollbar honest for lazy cards). */
const ROW_PX = 30;

/**
 * Whether the element has come near the viewport once (then stays true): rows of cards far
 * below are not built until scrolled to.
 * @param {import('preact').RefObject<Element>} ref
 */
function useNearOnce(ref) {
  const [near, setNear] = useState(typeof IntersectionObserver !== 'function');
  useLayoutEffect(() => {
    // the first screen builds its rows before the first paint
    if (!near && ref.current && ref.current.getBoundingClientRect().top < innerHeight + 800) setNear(true);
  }, []);
  useEffect(() => {
    if (near || !ref.current) return;
    const io = new IntersectionObserver(
      (es) => {
        if (es.some((e) => e.isIntersecting)) {
          setNear(true);
          io.disconnect();
        }
      },
      { rootMargin: '800px 0px' },
    );
    io.observe(ref.current);
    return () => io.disconnect();
  }, [near]);
  return near;
}

const SORTS = /** @type {const} */ ([
  ['address', 'Address'],
  ['rtt', 'RTT'],
  ['loss', 'Loss 1m'],
]);

/**
 * The header of a card's rows: Address, RTT, Loss 1m and the sparkline; or, for a group
 * probed from several locations, one column per location (sorting by it; offline marked).
 * @param {{locs: string[], sel: string, sort: import('../sort.js').SortKey, setSort: (k: import('../sort.js').SortKey) => void, onPick: (loc: string) => void, name: string}} p
 */
function HeadRow({ locs, sel, sort, setSort, onPick, name }) {
  /** @param {import('../sort.js').SortKey} k @param {any} label @param {string} cls @param {string} [title] */
  const col = (k, label, cls, title) => html`<span role="columnheader" class=${cls}
      aria-sort=${sort === k ? (k === 'address' ? 'ascending' : 'descending') : 'none'}>
    <button type="button" class=${'sort' + (sort === k ? ' on' : '')} title=${title} onClick=${() => setSort(k)}>${label}${sort === k ? (k === 'address' ? ' ↑' : ' ↓') : ''}</button></span>`;
  if (locs.length < 2) {
    return html`<div class="row head" role="row">
      <span role="columnheader"></span>
      ${SORTS.map(([k, label]) => col(k, label, k === 'address' ? 'addr' : 'num'))}
      <span role="columnheader" class="sparkcell">last ${60} probes</span>
      <span role="columnheader" class="hist" title="Uptime (answered / sent) and states over the last 24 h">24 h</span>
      <span role="columnheader" class="acts"></span>
    </div>`;
  }
  const known = new Map(deck.locations.value.map((l) => [l.name, l]));
  return html`<div class="row head" role="row">
    <span role="columnheader"></span>
    ${col('address', 'Address', 'addr')}
    ${locs.map((loc) => {
      const info = known.get(loc);
      const off = info && !info.online;
      return html`<span role="columnheader" key=${loc} class=${'loc-col' + (off ? ' off' : '')} data-loc=${loc} data-sel=${loc === sel ? '' : undefined}>
        ${col(/** @type {import('../sort.js').SortKey} */ ('loc:' + loc), loc, 'loc-name', locationTitle(loc, info))}${off && html`<small class="off-mark">offline</small>`}
        ${loc === sel && html`<${LocationPick} locs=${locs} sel=${sel} onPick=${onPick} name=${name} known=${known} />`}</span>`;
    })}
    <span role="columnheader" class="hist" title="Uptime (answered / sent) and states over the last 24 h">24 h</span>
    <span role="columnheader" class="acts"></span>
  </div>`;
}

/**
 * The location a phone shows of a card probed from several (≤ 600 px: one at a time, this
 * select in place of its column's name).
 * @param {{locs: string[], sel: string, onPick: (loc: string) => void, name: string, known: Map<string, any>}} p
 */
function LocationPick({ locs, sel, onPick, name, known }) {
  return html`<select class="loc-pick" value=${sel} aria-label=${'Location shown of ' + name}
      onChange=${(/** @type {any} */ e) => onPick(e.currentTarget.value)}>
    ${locs.map((l) => html`<option value=${l}>${l}${known.get(l)?.online === false ? ' (offline)' : ''}</option>`)}
  </select>`;
}

/**
 * One group's card.
 * @param {{g: import('../live/model.js').GroupModel, words: string[], index: number, count: number, onMove: (id: string, d: number) => void, onDrop: (from: string, to: string) => void}} p
 */
export function GroupCard({ g, words, index, count, onMove, onDrop }) {
  const meta = g.meta.value;
  const targets = g.targets.value;
  const loaded = g.loaded.value;
  const isCollapsed = collapsed.value.has(g.id);
  const locs = g.locations;
  const matrix = locs.length > 1;
  const [sort, setSort] = useState(/** @type {import('../sort.js').SortKey} */ ('address'));
  const [pick, setPick] = useState(locs[0]);
  const sel = locs.includes(pick) ? pick : locs[0];
  const hover = useMemo(() => cellHoverHandlers(g), [g]);
  const [over, setOver] = useState(false);
  /** @type {import('preact').RefObject<HTMLElement>} */
  const ref = useRef(null);
  const near = useNearOnce(ref);
  const rows = useMemo(
    () => sortRows(targets.filter((t) => rowMatches(t, meta.name, words)), sort.startsWith('loc:') && !locs.includes(sort.slice(4)) ? 'address' : sort),
    [targets, words, sort, meta.name, locs],
  );
  useGroupHistory(g.id, near && loaded && !isCollapsed);
  const focused = focusGroup.value === g.id;
  useEffect(() => {
    if (focused && ref.current) ref.current.scrollIntoView({ block: 'start', behavior: 'smooth' });
  }, [focused]);
  if (words.length && !rows.length) return null;
  const edit = canEdit(meta);
  const bodyId = 'card-body-' + g.id;
  const togglePause = async () => {
    try {
      g.update(await api('PATCH', '/api/v1/groups/' + g.id, { paused: !meta.paused }));
    } catch (e) {
      flashError(e);
    }
  };
  const shared = meta.role === 'viewer' || meta.role === 'editor';
  // the poll's figure once it has answered, the list's until then
  const alerts = firing.value ? firingPerGroup.value.get(g.id) || 0 : meta.firing_alerts || 0;
  const stale = staleSince.value;
  return html`<section ref=${ref} class=${'card' + (focused ? ' focus' : '') + (over ? ' dragover' : '') + (meta.paused ? ' paused' : '') + (stale ? ' stale' : '')}
      aria-label=${'Group ' + meta.name} data-group=${g.id}
      onDragOver=${(/** @type {DragEvent} */ e) => { if (e.dataTransfer?.types.includes('text/x-pingdeck-group')) { e.preventDefault(); setOver(true); } }}
      onDragLeave=${() => setOver(false)}
      onDrop=${(/** @type {DragEvent} */ e) => { setOver(false); const from = e.dataTransfer?.getData('text/x-pingdeck-group'); if (from && from !== g.id) onDrop(from, g.id); }}>
    <header class="card-head">
      <span class="grip" draggable="true" title="Drag to reorder" aria-hidden="true"
        onDragStart=${(/** @type {DragEvent} */ e) => { e.dataTransfer?.setData('text/x-pingdeck-group', g.id); if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move'; }}>⋮⋮</span>
      <button type="button" class="icon collapse" aria-expanded=${!isCollapsed} aria-controls=${bodyId}
        aria-label=${(isCollapsed ? 'Expand ' : 'Collapse ') + meta.name} onClick=${() => toggleCollapsed(g.id)}>${isCollapsed ? '▸' : '▾'}</button>
      <h2 class="card-title">${meta.name}</h2>
      <span class="owner" title="Owner">${meta.owner?.username}</span>
      <span class=${'badge ' + meta.visibility}>${meta.visibility}</span>
      ${shared && html`<span class="badge shared" title=${'Shared with you as ' + meta.role}>${meta.role}</span>`}
      ${meta.paused && html`<span class="badge pausedb">paused</span>`}
      ${alerts > 0 && html`<a class="badge firing" href="#/alerts" title="Alerts firing in this group">${plural(alerts, 'alert')} firing</a>`}
      <span class="count" title="Targets">${plural(loaded ? targets.length : meta.target_count, 'target')}</span>
      ${meta.interval_ms > 0 && html`<span class="interval" title="Probe interval">every ${fmtDuration(meta.interval_ms)}</span>`}
      ${!matrix && locs[0] && deck.here.value && locs[0] !== deck.here.value && html`<span class="badge from" title="Probed from">from ${locs[0]}</span>`}
      <span class="success" title="Success rate over the last minute">✓ <b>${g.successText}</b></span>
      ${stale > 0 && html`<span class="badge stale" role="status">stale since ${fmtClock(stale)}</span>`}
      <span class="spacer"></span>
      ${edit && html`<button type="button" class="btn small" onClick=${togglePause} aria-pressed=${!!meta.paused}>${meta.paused ? 'Resume' : 'Pause'}</button>`}
      ${canOwn(meta) && html`<button type="button" class="btn small" onClick=${() => (dialog.value = { kind: 'share', g })}>Share</button>`}
      <${GroupMenu} g=${g} index=${index} count=${count} onMove=${onMove} />
    </header>
    ${!isCollapsed && html`<div class=${'card-body' + (matrix ? ' matrix' : '')} id=${bodyId} role="table" aria-label=${meta.name + ' targets'}
        style=${'contain-intrinsic-size: auto ' + (ROW_PX * ((loaded ? rows.length : meta.target_count) || 1) + 26) + 'px' + (matrix ? '; --locs: ' + locs.length : '')}
        onMouseOver=${matrix ? hover.onMouseOver : undefined} onMouseOut=${matrix ? hover.onMouseOut : undefined}>
      <${HeadRow} locs=${locs} sel=${sel} sort=${sort} setSort=${setSort} onPick=${setPick} name=${meta.name} />
      ${near && loaded
        ? rows.map((t) => html`<${TargetRow} key=${t.id} t=${t} g=${g} canEdit=${edit} locs=${locs} sel=${sel} />`)
        : html`<div class="placeholder" style=${'height:' + ROW_PX * (meta.target_count || 1) + 'px'}>${loaded || !near ? '' : 'Loading…'}</div>`}
      ${loaded && !targets.length && html`<p class="empty">No targets yet. ${edit && html`<button type="button" class="link" onClick=${() => (dialog.value = { kind: 'add', g })}>Add targets</button>`}</p>`}
    </div>`}
  </section>`;
}
