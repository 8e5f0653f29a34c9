import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { dialog, me } from '../state.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

/** "Look at this card": a notification to one user, with a message. @param {{g: import('../live/model.js').GroupModel, users: any[]}} p */
function AskToLook({ g, users }) {
  const [to, setTo] = useState('');
  const [msg, setMsg] = useState('');
  const [note, setNote] = useState('');
  /** @param {Event} e */
  const send = async (e) => {
    e.preventDefault();
    setNote('');
    try {
      await api('POST', '/api/v1/notifications', { to: to.trim(), group_id: g.id, message: msg.trim() });
      setNote(`Sent to ${to.trim()}.`);
      setMsg('');
    } catch (x) {
      setNote(/** @type {any} */ (x).status === 404 ? `No user named “${to.trim()}” who can see this card.` : /** @type {Error} */ (x).message);
    }
  };
  return html`<details class="ask"><summary>Ask someone to look…</summary>
    <form class="share-add" onSubmit=${send}>
      <label>To<input list="share-users" required value=${to} onInput=${(/** @type {any} */ e) => setTo(e.currentTarget.value)} /></label>
      <label>Message<input value=${msg} maxlength="500" placeholder="10.0.0.7 drops since 09:40" onInput=${(/** @type {any} */ e) => setMsg(e.currentTarget.value)} /></label>
      <button type="submit" class="btn">Send</button>
    </form>
    <p class="muted small" role="status">${note}</p>
  </details>`;
}

/** Public toggle, shares by name with a role, and the list of shares. @param {{g: import('../live/model.js').GroupModel}} p */
export function ShareDialog({ g }) {
  const m = g.meta.value;
  const [shares, setShares] = useState(/** @type {any[]|null} */ (null));
  const [users, setUsers] = useState(/** @type {any[]} */ ([]));
  const [name, setName] = useState('');
  const [role, setRole] = useState('viewer');
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      const r = await api('GET', `/api/v1/groups/${g.id}/shares`);
      setShares(r.shares || []);
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
      setShares([]);
    }
  };
  useEffect(() => {
    load();
    api('GET', '/api/v1/users').then((r) => setUsers(r.users || []), () => {});
  }, []);
  const setPublic = async (/** @type {boolean} */ pub) => {
    setErr('');
    try {
      g.update(await api('PATCH', '/api/v1/groups/' + g.id, { visibility: pub ? 'public' : 'private' }));
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {Event} e */
  const add = async (e) => {
    e.preventDefault();
    setErr('');
    const u = name.trim();
    if (!u) return;
    try {
      await api('PUT', `/api/v1/groups/${g.id}/shares/${enc(u)}`, { role });
      setName('');
      load();
    } catch (x) {
      setErr(/** @type {any} */ (x).status === 404 ? `No user named “${u}”.` : /** @type {Error} */ (x).message);
    }
  };
  /** @param {string} u */
  const remove = async (u) => {
    setErr('');
    try {
      await api('DELETE', `/api/v1/groups/${g.id}/shares/${enc(u)}`);
      load();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  const others = users.filter((u) => u.username !== me.value?.username && u.username !== m.owner?.username);
  return html`<${Dialog} title=${'Share “' + m.name + '”'} onClose=${close}>
    <label class="switch"><input type="checkbox" checked=${m.visibility === 'public'}
      onChange=${(/** @type {any} */ e) => setPublic(e.currentTarget.checked)} />
      Public: every signed-in user can see this card and its reports (read only)</label>
    <form class="share-add" onSubmit=${add}>
      <label>User<input list="share-users" value=${name} placeholder="username" autocomplete="off"
        onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} /></label>
      <datalist id="share-users">${others.map((u) => html`<option value=${u.username}>${u.display_name}</option>`)}</datalist>
      <label>Role<select value=${role} onChange=${(/** @type {any} */ e) => setRole(e.currentTarget.value)}>
        <option value="viewer">viewer (sees, reports)</option><option value="editor">editor (also edits targets)</option></select></label>
      <button type="submit" class="primary">Share</button>
    </form>
    <p class="err" role="alert">${err}</p>
    <${AskToLook} g=${g} users=${others} />
    <h3>Shared with</h3>
    ${shares === null ? html`<p class="muted">Loading…</p>` : !shares.length ? html`<p class="muted">Nobody yet.</p>` : html`<ul class="shares">
      ${shares.map((s) => html`<li><span><b>${s.username}</b> ${s.display_name && s.display_name !== s.username ? html`<span class="muted">${s.display_name}</span>` : ''}</span>
        <span class="badge">${s.role}</span>
        <button type="button" class="btn small" aria-label=${'Stop sharing with ' + s.username} onClick=${() => remove(s.username)}>Remove</button></li>`)}
    </ul>`}
    <div class="dlg-foot"><button type="button" class="primary" onClick=${close}>Done</button></div>
  </${Dialog}>`;
}
