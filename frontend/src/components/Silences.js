import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { dialog, deck, canEdit, flash } from '../state.js';
import { toLocalInput, fromLocalInput } from '../format.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

/** Lengths offered for a new maintenance window. */
const LENGTHS = /** @type {const} */ ([['30m', 1800], ['1h', 3600], ['2h', 7200], ['4h', 14400], ['8h', 28800], ['24h', 86400], ['3d', 259200], ['7d', 604800]]);

/**
 * Whether a silence is on now, still to come, or over.
 * @param {{from: string, to: string}} s @param {number} [now]
 */
export function silencePhase(s, now = Date.now()) {
  if (Date.parse(s.to) <= now) return 'past';
  return Date.parse(s.from) > now ? 'future' : 'active';
}

/** @param {string} gid @param {string|null} tid */
function scopeName(gid, tid) {
  if (!tid) return 'whole group';
  return deck.byId.get(gid)?.byId.get(tid)?.address.peek() || 'a removed target';
}

/**
 * Silences as a table; deletable by editors.
 * @param {{list: any[], onChange: () => void, showGroup?: boolean}} p
 */
export function SilenceTable({ list, onChange, showGroup }) {
  const [err, setErr] = useState('');
  /** @param {any} s */
  const del = async (s) => {
    setErr('');
    try {
      await api('DELETE', `/api/v1/groups/${enc(s.group_id)}/silences/${enc(s.id)}`);
      flash('Maintenance window deleted');
      onChange();
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  if (!list.length) return html`<p class="muted">No maintenance windows.</p>`;
  return html`<div class="table-wrap"><table class="stats plain" aria-label="Maintenance windows">
    <thead><tr>${showGroup && html`<th scope="col">Group</th>`}<th scope="col">Covers</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Comment</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
    <tbody>${list.map((s) => {
      const g = deck.byId.get(s.group_id);
      return html`<tr key=${s.id} data-silence=${s.comment || s.id} data-phase=${silencePhase(s)}>
        ${showGroup && html`<td>${g ? g.meta.peek().name : s.group_name || '—'}</td>`}
        <td>${scopeName(s.group_id, s.target_id)}</td><td>${new Date(s.from).toLocaleString()}</td><td>${new Date(s.to).toLocaleString()}</td>
        <td>${s.comment}</td><td>${silencePhase(s)}</td>
        <td>${g && canEdit(g.meta.peek()) && silencePhase(s) !== 'past' && html`<button type="button" class="btn small" aria-label=${'Delete maintenance window ' + (s.comment || '')} onClick=${() => del(s)}>Delete</button>`}</td>
      </tr>`;
    })}</tbody>
  </table><p class="err" role="alert">${err}</p></div>`;
}

/**
 * A new maintenance window: group (when not given), whole group or one target, from, length
 * or until, comment.
 * @param {{gid?: string, onDone: () => void}} p
 */
export function SilenceForm({ gid, onDone }) {
  const editable = deck.groups.value.filter((g) => canEdit(g.meta.peek()));
  const [group, setGroup] = useState(gid || editable[0]?.id || '');
  const [target, setTarget] = useState('');
  const now = Math.floor(Date.now() / 1000);
  const [from, setFrom] = useState(toLocalInput(now));
  const [len, setLen] = useState('3600');
  const [comment, setComment] = useState('');
  const [err, setErr] = useState('');
  const g = deck.byId.get(group);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setErr('');
    const a = fromLocalInput(from);
    if (!isFinite(a)) return setErr('Give a start time.');
    /** @type {any} */
    const body = { from: new Date(a * 1000).toISOString(), to: new Date((a + Number(len)) * 1000).toISOString() };
    if (target) body.target_id = target;
    if (comment.trim()) body.comment = comment.trim();
    try {
      await api('POST', `/api/v1/groups/${enc(group)}/silences`, body);
      flash('Maintenance window set');
      setComment('');
      onDone();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  if (!editable.length && !gid) return html`<p class="muted">You may not edit any group here.</p>`;
  return html`<form class="inline-form" onSubmit=${submit} aria-label="New maintenance window">
    ${!gid && html`<label>Group<select aria-label="Group" value=${group} onChange=${(/** @type {any} */ e) => { setGroup(e.currentTarget.value); setTarget(''); }}>
      ${editable.map((x) => html`<option value=${x.id}>${x.meta.peek().name}</option>`)}</select></label>`}
    <label>Covers<select aria-label="Covers" value=${target} onChange=${(/** @type {any} */ e) => setTarget(e.currentTarget.value)}>
      <option value="">the whole group</option>
      ${(g ? g.targets.value : []).map((t) => html`<option value=${t.id}>${t.address.peek()}</option>`)}</select></label>
    <label>From<input type="datetime-local" step="1" required value=${from} onInput=${(/** @type {any} */ e) => setFrom(e.currentTarget.value)} /></label>
    <label>For<select aria-label="For" value=${len} onChange=${(/** @type {any} */ e) => setLen(e.currentTarget.value)}>
      ${LENGTHS.map(([l, s]) => html`<option value=${s}>${l}</option>`)}</select></label>
    <label>Comment<input maxlength="200" value=${comment} placeholder="router upgrade" onInput=${(/** @type {any} */ e) => setComment(e.currentTarget.value)} /></label>
    <button type="submit" class="primary">Add window</button>
    <p class="err" role="alert">${err}</p>
  </form>`;
}

/**
 * A group's maintenance windows: while one covers a target, the group's rules neither count
 * it nor notify.
 * @param {{g: import('../live/model.js').GroupModel}} p
 */
export function SilenceDialog({ g }) {
  const m = g.meta.peek();
  const [list, setList] = useState(/** @type {any[]|null} */ (null));
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      setList((await api('GET', `/api/v1/groups/${enc(g.id)}/silences`)).silences || []);
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
      setList([]);
    }
  };
  useEffect(() => {
    load();
  }, []);
  return html`<${Dialog} title=${'Maintenance windows of “' + m.name + '”'} onClose=${close} wide>
    <p class="muted">While a window covers a target, the group's alert rules do not count it and nothing is sent; its states are still recorded.</p>
    ${list === null ? html`<p class="muted">Loading…</p>` : html`<${SilenceTable} list=${list} onChange=${load} />`}
    <p class="err" role="alert">${err}</p>
    ${canEdit(m) && html`<h3>New window</h3><${SilenceForm} gid=${g.id} onDone=${load} />`}
    <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Close</button></div>
  </${Dialog}>`;
}
