import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { deck, dialog, flash } from '../state.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

/**
 * A dialog with one field that PATCHes the group.
 * @param {{g: import('../live/model.js').GroupModel, title: string, label: string, field: string, initial: string, options?: string[]}} p
 */
function PatchDialog({ g, title, label, field, initial, options }) {
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
  const input = options
    ? html`<select value=${v} onChange=${(/** @type {any} */ e) => setV(e.currentTarget.value)}>
        ${options.map((o) => html`<option value=${o}>${o}</option>`)}</select>`
    : html`<input required value=${v} onInput=${(/** @type {any} */ e) => setV(e.currentTarget.value)} />`;
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

/** @param {{g: import('../live/model.js').GroupModel}} p */
export function IntervalDialog({ g }) {
  const cur = g.meta.peek().interval;
  const opts = ['200ms', '500ms', '1s', '2s', '5s', '10s', '30s', '1m0s'];
  if (!opts.includes(cur)) opts.unshift(cur);
  return html`<${PatchDialog} g=${g} title=${'Probe interval of “' + g.meta.peek().name + '”'} label="Probe every" field="interval" initial=${cur} options=${opts} />`;
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
    <p>Delete <b>${m.name}</b> and its ${m.target_count} targets? Probing stops at once and its stored results go with it. This cannot be undone.</p>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${close}>Cancel</button>
      <button type="button" class="danger" onClick=${del}>Delete</button></div>
  </${Dialog}>`;
}
