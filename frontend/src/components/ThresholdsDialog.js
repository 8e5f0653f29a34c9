import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { dialog, canEdit, flash } from '../state.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

/** The thresholds' fields, their labels and input attributes (the server checks them again). */
export const FIELDS = /** @type {const} */ ([
  ['window', 'Window (probes)', { type: 'number', min: 3, max: 100 }],
  ['down_loss_pct', 'Down at loss ≥ (%)', { type: 'number', min: 0.1, max: 100, step: 'any' }],
  ['degraded_loss_pct', 'Degraded at loss ≥ (%)', { type: 'number', min: 0.1, max: 100, step: 'any' }],
  ['degraded_rtt_ms', 'Degraded at RTT ≥ (ms, 0 = off)', { type: 'number', min: 0, max: 60000, step: 'any' }],
  ['rtt_percentile', 'RTT percentile', null],
  ['consecutive', 'Evaluations to change', { type: 'number', min: 1, max: 100 }],
  ['flap_changes', 'Flapping after (changes)', { type: 'number', min: 2, max: 100 }],
  ['flap_window', 'within', { type: 'text' }],
]);

/**
 * The request body from the form's strings: numbers as numbers, the flap window as text.
 * @param {Record<string, string>} f
 */
export function thresholdsBody(f) {
  /** @type {Record<string, number|string>} */
  const out = {};
  for (const [k] of FIELDS) {
    const v = String(f[k] ?? '').trim();
    if (v === '') continue;
    out[k] = k === 'flap_window' ? v : Number(v);
  }
  return out;
}

/** @param {any} t thresholds from the API @returns {Record<string, string>} */
const toForm = (t) => Object.fromEntries(FIELDS.map(([k]) => [k, t && t[k] != null ? String(t[k]) : '']));

/**
 * The form of one set of thresholds.
 * @param {{initial: any, onSave: (body: any) => Promise<void>, extra?: any, disabled?: boolean}} p
 */
function ThresholdsForm({ initial, onSave, extra, disabled }) {
  const [f, setF] = useState(toForm(initial));
  const [err, setErr] = useState('');
  useEffect(() => setF(toForm(initial)), [initial]);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      await onSave(thresholdsBody(f));
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  return html`<form onSubmit=${submit} aria-label="Thresholds">
    <div class="form-grid">
      ${FIELDS.map(([k, label, attrs]) => html`<label key=${k}>${label}
        ${attrs ? html`<input name=${k} disabled=${disabled} ...${attrs} value=${f[k]} onInput=${(/** @type {any} */ e) => setF({ ...f, [k]: e.currentTarget.value })} />`
          : html`<select name=${k} disabled=${disabled} value=${f[k]} onChange=${(/** @type {any} */ e) => setF({ ...f, [k]: e.currentTarget.value })}>
              <option value="50">p50 (median)</option><option value="95">p95</option></select>`}</label>`)}
    </div>
    <p class="muted small">A target is judged on its last <i>window</i> probes that left: loss at or above the down threshold makes it down,
      at or above the degraded one (or an RTT percentile at or above the RTT threshold) degraded. It changes state after that many evaluations agree.</p>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot">${extra}<button type="button" class="btn" onClick=${close}>Close</button>
      ${!disabled && html`<button type="submit" class="primary">Save</button>`}</div>
  </form>`;
}

/**
 * The group's thresholds (its defaults for every target).
 * @param {{g: import('../live/model.js').GroupModel}} p
 */
export function ThresholdsDialog({ g }) {
  const m = g.meta.peek();
  const [t, setT] = useState(/** @type {any} */ (null));
  const [overrides, setOverrides] = useState(0);
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      const r = await api('GET', `/api/v1/groups/${enc(g.id)}/thresholds`);
      setT(r.group || {});
      setOverrides(Object.keys(r.targets || {}).length);
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  useEffect(() => {
    load();
  }, []);
  /** @param {any} body */
  const save = async (body) => {
    setT(await api('PUT', `/api/v1/groups/${enc(g.id)}/thresholds`, body));
    flash('Thresholds saved');
    close();
  };
  const reset = async () => {
    try {
      setT(await api('PUT', `/api/v1/groups/${enc(g.id)}/thresholds`, {}));
      flash('Thresholds back to the defaults');
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  const edit = canEdit(m);
  return html`<${Dialog} title=${'Alert thresholds of “' + m.name + '”'} onClose=${close} wide>
    <p class="muted">Defaults for every target of the group${overrides ? html`; <b>${overrides}</b> target${overrides === 1 ? ' has its own' : 's have their own'} (set on the target's page)` : ''}.</p>
    <p class="err" role="alert">${err}</p>
    ${t ? html`<${ThresholdsForm} initial=${t} onSave=${save} disabled=${!edit}
        extra=${edit && html`<button type="button" class="btn" onClick=${reset}>Reset to defaults</button>`} />` : !err && html`<p class="muted">Loading…</p>`}
  </${Dialog}>`;
}

/**
 * One target's own thresholds, overriding the group's.
 * @param {{g: import('../live/model.js').GroupModel, tid: string}} p
 */
export function TargetThresholdsDialog({ g, tid }) {
  const addr = g.byId.get(tid)?.address.peek() || tid;
  const [state, setState] = useState(/** @type {{group: any, own: any}|null} */ (null));
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      const r = await api('GET', `/api/v1/groups/${enc(g.id)}/thresholds`);
      setState({ group: r.group || {}, own: (r.targets || {})[tid] || null });
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const path = `/api/v1/groups/${enc(g.id)}/targets/${enc(tid)}/thresholds`;
  /** @param {any} body */
  const save = async (body) => {
    await api('PUT', path, body);
    flash(`Thresholds of ${addr} saved`);
    close();
  };
  const remove = async () => {
    try {
      await api('DELETE', path);
      flash(`${addr} follows the group's thresholds again`);
      close();
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  return html`<${Dialog} title=${'Alert thresholds of ' + addr} onClose=${close} wide>
    <p class="muted">${state?.own ? 'This target has its own thresholds.' : 'This target follows the group\u2019s thresholds (shown); saving gives it its own.'}</p>
    <p class="err" role="alert">${err}</p>
    ${state ? html`<${ThresholdsForm} initial=${state.own || state.group} onSave=${save}
        extra=${state.own && html`<button type="button" class="btn" onClick=${remove}>Use the group's</button>`} />` : !err && html`<p class="muted">Loading…</p>`}
  </${Dialog}>`;
}
