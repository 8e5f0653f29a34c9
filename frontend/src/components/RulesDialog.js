import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc, ApiError } from '../api.js';
import { dialog, me, canEdit, flash } from '../state.js';
import { poll } from '../alerts.js';
import { Dialog } from './Dialog.js';
import { loadChannels } from './Channels.js';
import { go } from '../router.js';

const close = () => (dialog.value = null);

/** Mute lengths offered. */
const MUTES = /** @type {const} */ ([['1h', 3600e3], ['4h', 4 * 3600e3], ['24h', 86400e3], ['7d', 7 * 86400e3]]);

/**
 * What a rule says, in words: "down: ≥ 2 targets and ≥ 50 % for 2m".
 * @param {any} r
 */
export function ruleText(r) {
  const parts = [`≥ ${r.min_targets} target${r.min_targets === 1 ? '' : 's'}`];
  if (r.min_pct > 0) parts.push(`≥ ${r.min_pct} % of the group`);
  return `${r.state === 'degraded' ? 'degraded or down' : 'down'}: ${parts.join(' and ')}${r.for && r.for !== '0s' ? ' for ' + r.for : ''}`;
}

/**
 * A rule's body for a create, from a listed rule (keeps everything, for delete + create).
 * @param {any} r
 * @param {string|null} mutedUntil
 */
export function ruleBody(r, mutedUntil) {
  return { name: r.name, state: r.state, min_targets: r.min_targets, min_pct: r.min_pct, for: r.for, channel_ids: r.channel_ids, muted_until: mutedUntil };
}

/**
 * Sets a rule's mute: PATCH when the server has it, else delete and create again with the
 * same fields (the rule gets a new id).
 * @param {string} gid @param {any} r @param {string|null} until
 */
async function setMute(gid, r, until) {
  try {
    return await api('PATCH', `/api/v1/groups/${enc(gid)}/rules/${enc(r.id)}`, { muted_until: until });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 405) throw e;
  }
  const made = await api('POST', `/api/v1/groups/${enc(gid)}/rules`, ruleBody(r, until));
  await api('DELETE', `/api/v1/groups/${enc(gid)}/rules/${enc(r.id)}`);
  return made;
}

/**
 * The group's alert rules: list, mute, delete, and a form for a new one.
 * @param {{g: import('../live/model.js').GroupModel}} p
 */
export function RulesDialog({ g }) {
  const m = g.meta.peek();
  const edit = canEdit(m);
  const [rules, setRules] = useState(/** @type {any[]|null} */ (null));
  const [channels, setChannels] = useState(/** @type {any[]} */ ([]));
  const [err, setErr] = useState('');
  const [f, setF] = useState({ name: '', state: 'down', min_targets: '1', min_pct: '0', for: '2m', channel_ids: /** @type {string[]} */ ([]) });
  const load = async () => {
    try {
      setRules((await api('GET', `/api/v1/groups/${enc(g.id)}/rules`)).rules || []);
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
      setRules([]);
    }
  };
  useEffect(() => {
    load();
    if (edit) loadChannels().then((all) => setChannels(all.filter((c) => c.group_id === g.id || (!c.group_id && c.user_id === me.peek()?.id))), () => {});
  }, []);
  const names = new Map(channels.map((c) => [c.id, c.name]));
  /** @param {Event} e */
  const create = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      await api('POST', `/api/v1/groups/${enc(g.id)}/rules`, {
        name: f.name.trim(), state: f.state, min_targets: Number(f.min_targets), min_pct: Number(f.min_pct), for: f.for.trim() || '0s', channel_ids: f.channel_ids,
      });
      flash(`Rule “${f.name.trim()}” added`);
      setF({ ...f, name: '' });
      load();
      poll();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {any} r @param {string|null} until */
  const mute = async (r, until) => {
    setErr('');
    try {
      await setMute(g.id, r, until);
      load();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {any} r */
  const del = async (r) => {
    setErr('');
    try {
      await api('DELETE', `/api/v1/groups/${enc(g.id)}/rules/${enc(r.id)}`);
      load();
      poll();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {string} k */
  const bind = (k) => ({ value: /** @type {any} */ (f)[k], onInput: (/** @type {any} */ e) => setF({ ...f, [k]: e.currentTarget.value }) });
  /** @param {string} id @param {boolean} on */
  const pick = (id, on) => setF({ ...f, channel_ids: on ? [...f.channel_ids, id] : f.channel_ids.filter((x) => x !== id) });
  const now = Date.now();
  return html`<${Dialog} title=${'Alert rules of “' + m.name + '”'} onClose=${close} wide>
    ${rules === null ? html`<p class="muted">Loading…</p>` : !rules.length ? html`<p class="muted">No rules yet: nothing is sent when targets go down.</p>`
      : html`<ul class="shares rules" aria-label="Rules">${rules.map((r) => {
        const muted = r.muted_until && Date.parse(r.muted_until) > now;
        return html`<li key=${r.id} data-rule=${r.name}>
          <span><b>${r.name}</b> <span class="muted small">${ruleText(r)}</span>
            <span class="muted small"> → ${r.channel_ids.length ? r.channel_ids.map((/** @type {string} */ id) => names.get(id) || 'a channel').join(', ') : 'the bell only'}</span>
            ${muted && html` <span class="muted-until">muted until ${new Date(r.muted_until).toLocaleString()}</span>`}</span>
          ${edit && html`<span class="row-actions">
            ${muted ? html`<button type="button" class="btn small" onClick=${() => mute(r, null)}>Unmute</button>`
              : html`<select class="small" aria-label=${'Mute ' + r.name} value="" onChange=${(/** @type {any} */ e) => { const ms = Number(e.currentTarget.value); if (ms) mute(r, new Date(Date.now() + ms).toISOString()); }}>
                  <option value="">Mute…</option>${MUTES.map(([l, ms]) => html`<option value=${ms}>for ${l}</option>`)}</select>`}
            <button type="button" class="btn small" aria-label=${'Delete rule ' + r.name} onClick=${() => del(r)}>Delete</button></span>`}
        </li>`;
      })}</ul>`}
    ${edit && html`<fieldset class="plain"><legend>New rule</legend><form onSubmit=${create} aria-label="New rule">
      <div class="form-grid">
        <label>Rule name<input required maxlength="100" placeholder="core down" ...${bind('name')} /></label>
        <label>When targets are<select value=${f.state} onChange=${(/** @type {any} */ e) => setF({ ...f, state: e.currentTarget.value })}>
          <option value="down">down</option><option value="degraded">degraded or down</option></select></label>
        <label>At least (targets)<input type="number" min="1" required ...${bind('min_targets')} /></label>
        <label>And at least (%)<input type="number" min="0" max="100" step="any" required ...${bind('min_pct')} /></label>
        <label>For<input placeholder="2m" title="e.g. 30s, 2m, 1h" ...${bind('for')} /></label>
      </div>
      <fieldset class="plain"><legend>Send to</legend>
        ${channels.length ? html`<div class="chips">${channels.map((c) => html`<label class="inline" key=${c.id}>
          <input type="checkbox" checked=${f.channel_ids.includes(c.id)} onChange=${(/** @type {any} */ e) => pick(c.id, e.currentTarget.checked)} />${c.name} <span class="muted small">${c.kind}${c.group_id ? ', this group' : ''}</span></label>`)}</div>`
          : html`<p class="muted small">No channels yet (the group's owner and editors still get the bell). <button type="button" class="link" onClick=${() => { close(); go('#/channels'); }}>Make one</button></p>`}
      </fieldset>
      <p class="err" role="alert">${err}</p>
      <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Close</button><button type="submit" class="primary">Add rule</button></div>
    </form></fieldset>`}
    ${!edit && html`<p class="err" role="alert">${err}</p><div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Close</button></div>`}
  </${Dialog}>`;
}
