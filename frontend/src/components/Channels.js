import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { flash, flashError, dialog } from '../state.js';
import { Dialog } from './Dialog.js';

export const KINDS = /** @type {const} */ ([
  ['webhook', 'Webhook (JSON, signed)'],
  ['slack', 'Slack incoming webhook'],
  ['email', 'Email (SMTP)'],
  ['alertmanager', 'Prometheus Alertmanager'],
]);

/** What the secret is, per kind. */
const SECRET_LABEL = { webhook: 'Signing secret', slack: 'Slack webhook URL', email: 'SMTP password', alertmanager: 'Password or bearer token' };

/**
 * Where a channel sends, in a few words.
 * @param {any} c channel
 */
export function destination(c) {
  const cfg = c.config || {};
  if (c.kind === 'email') return `${(cfg.to || []).join(', ')} via ${cfg.host}:${cfg.port}`;
  if (c.kind === 'slack') return 'Slack';
  return cfg.url || '';
}

/**
 * The form's fields from a channel (editing) or blank (a new one).
 * @param {any} [c]
 */
function fieldsOf(c) {
  const cfg = c?.config || {};
  return {
    kind: c?.kind || 'webhook', name: c?.name || '', url: cfg.url || '', host: cfg.host || '', port: String(cfg.port || 587),
    tls: cfg.tls || 'auto', username: cfg.username || '', from: cfg.from || '', to: (cfg.to || []).join(', '), hold: cfg.hold || '', secret: '',
  };
}

/**
 * The request body for the form's fields.
 * @param {ReturnType<typeof fieldsOf>} f
 * @param {string} [groupId]
 * @param {boolean} [editing]
 */
export function channelBody(f, groupId, editing) {
  /** @type {any} */
  let config = {};
  if (f.kind === 'webhook') config = { url: f.url.trim() };
  else if (f.kind === 'email') {
    config = { host: f.host.trim(), port: Number(f.port), tls: f.tls, from: f.from.trim(), to: f.to.split(/[\s,;]+/).filter(Boolean) };
    if (f.username.trim()) config.username = f.username.trim();
  } else if (f.kind === 'alertmanager') {
    config = { url: f.url.trim() };
    if (f.username.trim()) config.username = f.username.trim();
    if (f.hold.trim()) config.hold = f.hold.trim();
  }
  /** @type {any} */
  const body = { name: f.name.trim(), config };
  if (!editing) {
    body.kind = f.kind;
    if (groupId) body.group_id = groupId;
  }
  if (f.secret || !editing) body.secret = f.secret;
  if (!editing && !f.secret && f.kind !== 'webhook' && f.kind !== 'slack') delete body.secret;
  return body;
}

/**
 * Create or edit a channel. Secrets are write-only: an edit shows "set" and keeps the
 * stored one unless a new one is typed.
 * @param {{channel?: any, groupId?: string, onDone: (c: any) => void, onCancel: () => void}} p
 */
function ChannelForm({ channel, groupId, onDone, onCancel }) {
  const [f, setF] = useState(fieldsOf(channel));
  const [err, setErr] = useState('');
  const editing = !!channel;
  /** @param {keyof ReturnType<typeof fieldsOf>} k */
  const bind = (k) => ({ value: f[k], onInput: (/** @type {any} */ e) => setF({ ...f, [k]: e.currentTarget.value }) });
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      const body = channelBody(f, groupId, editing);
      const c = editing ? await api('PATCH', '/api/v1/channels/' + enc(channel.id), body) : await api('POST', '/api/v1/channels', body);
      onDone(c);
    } catch (x) {
      const d = /** @type {any} */ (x).details;
      setErr(/** @type {Error} */ (x).message + (d?.field && !/** @type {Error} */ (x).message.includes(d.field) ? ` (${d.field})` : ''));
    }
  };
  const secretNote = editing && channel.secret_set ? 'set — leave empty to keep it' : '';
  return html`<form class="channel-form" onSubmit=${submit} aria-label=${editing ? 'Edit channel' : 'New channel'}>
    <div class="form-grid">
      <label>Kind<select value=${f.kind} disabled=${editing} onChange=${(/** @type {any} */ e) => setF({ ...f, kind: e.currentTarget.value })}>
        ${KINDS.map(([k, l]) => html`<option value=${k}>${l}</option>`)}</select></label>
      <label>Name<input required maxlength="100" ...${bind('name')} placeholder="ops on-call" /></label>
    </div>
    ${(f.kind === 'webhook' || f.kind === 'alertmanager') && html`<label>URL<input required type="url" ...${bind('url')}
      placeholder=${f.kind === 'webhook' ? 'https://hooks.example.com/pingdeck' : 'http://alertmanager:9093'} /></label>`}
    ${f.kind === 'email' && html`<div class="form-grid">
      <label>SMTP host<input required ...${bind('host')} placeholder="smtp.example.com" /></label>
      <label>Port<input required type="number" min="1" max="65535" ...${bind('port')} /></label>
      <label>TLS<select value=${f.tls} onChange=${(/** @type {any} */ e) => setF({ ...f, tls: e.currentTarget.value })}>
        <option value="auto">auto</option><option value="starttls">STARTTLS</option><option value="tls">TLS</option></select></label>
      <label>From<input required ...${bind('from')} placeholder="pingdeck@example.com" /></label>
    </div>
    <label>To <span class="hint">(addresses, comma separated)</span><input required ...${bind('to')} placeholder="noc@example.com" /></label>`}
    ${(f.kind === 'email' || f.kind === 'alertmanager') && html`<div class="form-grid">
      <label>Username <span class="hint">(optional)</span><input autocomplete="off" ...${bind('username')} /></label>
      ${f.kind === 'alertmanager' && html`<label>Hold <span class="hint">(optional, e.g. 5m)</span><input ...${bind('hold')} /></label>`}
    </div>`}
    <label>${SECRET_LABEL[/** @type {keyof typeof SECRET_LABEL} */ (f.kind)]}
      ${f.kind === 'webhook' && html` <span class="hint">(16 characters or more; signs each body, header X-Pingdeck-Signature)</span>`}
      <input type="password" autocomplete="new-password" required=${!editing && (f.kind === 'webhook' || f.kind === 'slack')}
        placeholder=${secretNote} ...${bind('secret')} /></label>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot"><button type="button" class="btn" onClick=${onCancel}>Cancel</button>
      <button type="submit" class="primary">${editing ? 'Save' : 'Create channel'}</button></div>
  </form>`;
}

/** @param {string} iso */
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');

/**
 * A channel's delivery log (newest 100).
 * @param {{channel: any}} p
 */
function Deliveries({ channel }) {
  const [list, setList] = useState(/** @type {any[]|null} */ (null));
  useEffect(() => {
    api('GET', `/api/v1/channels/${enc(channel.id)}/deliveries`).then((r) => setList(r.deliveries || []), (e) => { flashError(e); setList([]); });
  }, [channel.id]);
  if (!list) return html`<p class="muted">Loading…</p>`;
  if (!list.length) return html`<p class="muted">Nothing sent yet.</p>`;
  return html`<div class="table-wrap"><table class="stats plain deliveries" aria-label=${'Deliveries of ' + channel.name}>
    <thead><tr><th scope="col">Created</th><th scope="col">What</th><th scope="col">Status</th><th scope="col" class="n">Attempts</th><th scope="col">Delivered</th><th scope="col">Last error</th></tr></thead>
    <tbody>${list.map((d) => html`<tr key=${d.id} data-status=${d.status}>
      <td>${when(d.created_at)}</td><td>${d.test ? 'test' : d.state}</td><td>${d.status}${d.status === 'pending' && d.next_at ? ', next try ' + when(d.next_at) : ''}</td>
      <td class="n">${d.attempts}</td><td>${when(d.delivered_at)}</td><td>${d.last_error || ''}</td></tr>`)}</tbody>
  </table></div>`;
}

/**
 * One channel: what and where, "Send test" with its result, edit, the delivery log, delete.
 * @param {{c: any, onChange: () => void}} p
 */
function ChannelRow({ c, onChange }) {
  const [result, setResult] = useState(/** @type {any} */ (null));
  const [testing, setTesting] = useState(false);
  const [editing, setEditing] = useState(false);
  const [log, setLog] = useState(false);
  const [logKey, setLogKey] = useState(0);
  const [deleting, setDeleting] = useState(false);
  const test = async () => {
    setTesting(true);
    setResult(null);
    try {
      setResult(await api('POST', `/api/v1/channels/${enc(c.id)}/test`));
      setLogKey((k) => k + 1);
    } catch (e) {
      setResult({ status: 'failed', last_error: /** @type {Error} */ (e).message });
    } finally {
      setTesting(false);
    }
  };
  const del = async () => {
    try {
      await api('DELETE', '/api/v1/channels/' + enc(c.id));
      flash(`Deleted channel “${c.name}”`);
      setDeleting(false);
      onChange();
    } catch (e) {
      flashError(e);
    }
  };
  return html`<li class="channel" data-channel=${c.name}>
    <div class="channel-head">
      <b>${c.name}</b> <span class="badge">${c.kind}</span>
      <span class="muted small dest">${destination(c)}</span>
      <span class="muted small">secret: ${c.secret_set ? 'set' : 'not set'}</span>
      <span class="spacer"></span>
      <span class="row-actions">
        <button type="button" class="btn small" disabled=${testing} onClick=${test}>${testing ? 'Sending…' : 'Send test'}</button>
        <button type="button" class="btn small" aria-expanded=${log} onClick=${() => setLog(!log)}>Delivery log</button>
        <button type="button" class="btn small" onClick=${() => setEditing(true)}>Edit</button>
        <button type="button" class="btn small" onClick=${() => setDeleting(true)}>Delete</button>
      </span>
    </div>
    ${result && html`<p class=${'test-result ' + (result.status === 'sent' ? 'ok' : 'bad')} role="status">
      Test ${result.status}${result.last_error ? ': ' + result.last_error : ''}${result.status === 'sent' && result.delivered_at ? ' at ' + new Date(result.delivered_at).toLocaleTimeString() : ''}</p>`}
    ${log && html`<${Deliveries} key=${logKey} channel=${c} />`}
    ${editing && html`<${Dialog} title=${'Edit channel “' + c.name + '”'} onClose=${() => setEditing(false)}>
      <${ChannelForm} channel=${c} onCancel=${() => setEditing(false)} onDone=${() => { setEditing(false); onChange(); }} />
    </${Dialog}>`}
    ${deleting && html`<${Dialog} title="Delete channel?" onClose=${() => setDeleting(false)}>
      <p>Delete <b>${c.name}</b> and its delivery log? Rules that send to it stop sending there.</p>
      <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${() => setDeleting(false)}>Cancel</button>
        <button type="button" class="danger" onClick=${del}>Delete</button></div>
    </${Dialog}>`}
  </li>`;
}

/**
 * Channels (the caller's, or one group's) with a form for a new one.
 * @param {{channels: any[], groupId?: string, onChange: () => void, label: string, noAdd?: boolean}} p
 */
export function ChannelList({ channels, groupId, onChange, label, noAdd }) {
  const [adding, setAdding] = useState(false);
  return html`<div class="channels">
    ${channels.length ? html`<ul class="channel-list" aria-label=${label}>${channels.map((c) => html`<${ChannelRow} key=${c.id} c=${c} onChange=${onChange} />`)}</ul>`
      : html`<p class="muted">No channels yet.</p>`}
    ${noAdd ? null : adding
      ? html`<fieldset class="plain"><legend>New channel</legend>
          <${ChannelForm} groupId=${groupId} onCancel=${() => setAdding(false)} onDone=${(/** @type {any} */ c) => { setAdding(false); flash(`Channel “${c.name}” created`); onChange(); }} /></fieldset>`
      : html`<button type="button" class="primary small" onClick=${() => setAdding(true)}>New channel…</button>`}
  </div>`;
}

/** Reads every channel the user may manage (theirs and their groups'). */
export async function loadChannels() {
  const r = await api('GET', '/api/v1/channels');
  return /** @type {any[]} */ (r.channels || []);
}

/**
 * A group's own channels (any of its editors may use and change them).
 * @param {{g: import('../live/model.js').GroupModel}} p
 */
export function GroupChannelsDialog({ g }) {
  const [list, setList] = useState(/** @type {any[]|null} */ (null));
  const load = async () => {
    try {
      setList((await loadChannels()).filter((c) => c.group_id === g.id));
    } catch (e) {
      flashError(e);
      setList([]);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const close = () => (dialog.value = null);
  return html`<${Dialog} title=${'Channels of “' + g.meta.peek().name + '”'} onClose=${close} wide>
    <p class="muted">Channels of the group: every editor of it can pick them in its rules. Your own channels are on the <a href="#/channels" onClick=${close}>Channels</a> page.</p>
    ${list === null ? html`<p class="muted">Loading…</p>` : html`<${ChannelList} channels=${list} groupId=${g.id} onChange=${load} label=${'Channels of ' + g.meta.peek().name} />`}
    <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Close</button></div>
  </${Dialog}>`;
}
