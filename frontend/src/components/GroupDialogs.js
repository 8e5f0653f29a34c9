import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { deck, dialog, flash } from '../state.js';
import { Dialog } from './Dialog.js';
import { LocationPicker, locationsChange } from './LocationPicker.js';
import { fmtDuration, parseDurationS, plural } from '../format.js';

const close = () => (dialog.value = null);

/**
 * A dialog with one text field that PATCHes the group.
 * @param {{g: import('../live/model.js').GroupModel, title: string, label: string, field: string, initial: string}} p
 */
function PatchDialog({ g, title, label, field, initial }) {
  const [v, setV] = useState(initial);
  const [err, setErr] = useState('');
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    try {
      g.update(await api('PATCH', '/api/v1/groups/' + g.id, { [field]: v.trim() }));
      close();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  const input = html`<input required value=${v} onInput=${(/** @type {any} */ e) => setV(e.currentTarget.value)} />`;
  return html`<${Dialog} title=${title} onClose=${close}>
    <form onSubmit=${submit}>
      <label>${label}${input}</label>
      <p class="err" role="alert">${err}</p>
      <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Cancel</button><button type="submit" class="primary">Save</button></div>
    </form>
  </${Dialog}>`;
}

/** @param {{g: import('../live/model.js').GroupModel}} p */
export function RenameDialog({ g }) {
  return html`<${PatchDialog} g=${g} title="Rename group" label="Name" field="name" initial=${g.meta.peek().name} />`;
}

const INTERVALS = ['200ms', '500ms', '1s', '2s', '5s', '10s', '30s', '1m'];
const TIMEOUTS = ['100ms', '250ms', '500ms', '1s', '2s', '5s', '10s'];

/**
 * Options of a duration select: the presets, plus the current value when it is not one.
 * @param {string[]} presets
 * @param {number} currentMs
 */
function durationOptions(presets, currentMs) {
  const opts = presets.map((v) => ({ value: v, ms: 1000 * parseDurationS(v) }));
  if (currentMs > 0 && !opts.some((o) => o.ms === currentMs)) opts.push({ value: currentMs + 'ms', ms: currentMs });
  return opts.sort((a, b) => a.ms - b.ms);
}

/** Probe interval, timeout and packet size of a group. @param {{g: import('../live/model.js').GroupModel}} p */
export function ProbeSettingsDialog({ g }) {
  const m = g.meta.peek();
  const intervals = durationOptions(INTERVALS, m.interval_ms);
  const timeouts = durationOptions(TIMEOUTS, m.timeout_ms);
  const [every, setEvery] = useState(intervals.find((o) => o.ms === m.interval_ms)?.value || '1s');
  const [wait, setWait] = useState(timeouts.find((o) => o.ms === m.timeout_ms)?.value || '1s');
  const [size, setSize] = useState(String(m.packet_size ?? 56));
  const [locs, setLocs] = useState(/** @type {string[]} */ (m.locations || []));
  const [err, setErr] = useState('');
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    if (m.locations && !locs.length) return setErr('Choose at least one location to probe from.');
    try {
      deck.upsert(await api('PATCH', '/api/v1/groups/' + g.id, { interval: every, timeout: wait, packet_size: Number(size), locations: locationsChange(m.locations, locs) }), false);
      close();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {{value: string, ms: number}[]} opts @param {string} v @param {(v: string) => void} set */
  const select = (opts, v, set) => html`<select value=${v} onChange=${(/** @type {any} */ e) => set(e.currentTarget.value)}>
    ${opts.map((o) => html`<option value=${o.value}>${fmtDuration(o.ms)}</option>`)}</select>`;
  return html`<${Dialog} title=${'Probe settings of “' + m.name + '”'} onClose=${close}>
    <form onSubmit=${submit}>
      <div class="form-grid">
        <label>Probe every ${select(intervals, every, setEvery)}</label>
        <label>Timeout ${select(timeouts, wait, setWait)}</label>
        <label>Payload (bytes) <input type="number" min="24" max="1452" required value=${size} onInput=${(/** @type {any} */ e) => setSize(e.currentTarget.value)} /></label>
      </div>
      ${m.locations && html`<${LocationPicker} value=${locs} onChange=${setLocs} />`}
      <p class="err" role="alert">${err}</p>
      <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Cancel</button><button type="submit" class="primary">Save</button></div>
    </form>
  </${Dialog}>`;
}

/** @param {{g: import('../live/model.js').GroupModel}} p */
export function DeleteDialog({ g }) {
  const [err, setErr] = useState('');
  const m = g.meta.peek();
  const del = async () => {
    try {
      await api('DELETE', '/api/v1/groups/' + g.id);
      deck.remove(g.id);
      flash(`Deleted “${m.name}”`);
      close();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  return html`<${Dialog} title="Delete group?" onClose=${close}>
    <p>Delete <b>${m.name}</b> and its ${plural(m.target_count, 'target')}? Probing stops at once and its stored results go with it. This cannot be undone.</p>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${close}>Cancel</button>
      <button type="button" class="danger" onClick=${del}>Delete</button></div>
  </${Dialog}>`;
}
