import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { me, flash, flashError } from '../state.js';
import { fmtAgo, plural } from '../format.js';
import { Dialog } from '../components/Dialog.js';
import { MIN_PASSWORD } from '../components/PasswordForm.js';

/**
 * What deleting an account deletes, from its row in the admin user list:
 * "2 groups with 5 targets, 1 API token and their sessions".
 * @param {{group_count:number, target_count:number, token_count:number}} u
 */
export function deleteSummary(u) {
  const groups = u.group_count ? `${plural(u.group_count, 'group')} with ${plural(u.target_count, 'target')}` : 'no groups';
  return `${groups}, ${plural(u.token_count, 'API token')} and their sessions`;
}

/** @param {{onClose: () => void, onDone: () => void}} p */
function NewUserDialog({ onClose, onDone }) {
  const [f, setF] = useState({ username: '', display_name: '', password: '', is_admin: false });
  const [err, setErr] = useState('');
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    try {
      const u = await api('POST', '/api/v1/users', f);
      flash(`Created ${u.username}`);
      onDone();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  /** @param {string} k */
  const on = (k) => (/** @type {any} */ e) => setF({ ...f, [k]: e.currentTarget.type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value });
  return html`<${Dialog} title="New user" onClose=${onClose}>
    <form onSubmit=${submit}>
      <label>Username<input required autocomplete="off" pattern="[a-zA-Z0-9][a-zA-Z0-9._\\-]{1,31}" value=${f.username} onInput=${on('username')} /></label>
      <label>Display name<input value=${f.display_name} onInput=${on('display_name')} /></label>
      <label>Password<input type="password" autocomplete="new-password" required minlength=${MIN_PASSWORD} maxlength="72" value=${f.password} onInput=${on('password')} /></label>
      <label class="switch"><input type="checkbox" checked=${f.is_admin} onChange=${on('is_admin')} /> Administrator</label>
      <p class="err" role="alert">${err}</p>
      <div class="dlg-foot"><button type="button" class="btn" onClick=${onClose}>Cancel</button><button type="submit" class="primary">Create</button></div>
    </form>
  </${Dialog}>`;
}

/** @param {{u: any, onClose: () => void, onDone: () => void}} p */
function ResetDialog({ u, onClose, onDone }) {
  const [pw, setPw] = useState('');
  const [err, setErr] = useState('');
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    try {
      await api('PUT', `/api/v1/users/${enc(u.username)}/password`, { new_password: pw });
      flash(`Password of ${u.username} set; they must choose a new one at their next sign-in.`);
      onDone();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  return html`<${Dialog} title=${'Reset the password of ' + u.username} onClose=${onClose}>
    <form onSubmit=${submit}>
      <label>New password<input type="password" autocomplete="new-password" required minlength=${MIN_PASSWORD} maxlength="72" value=${pw} onInput=${(/** @type {any} */ e) => setPw(e.currentTarget.value)} /></label>
      <p><b>${u.username}</b> is signed out everywhere at once and must choose a new password at their next sign-in. Give them this one by a safe channel. Their API tokens keep working.</p>
      <p class="err" role="alert">${err}</p>
      <div class="dlg-foot"><button type="button" class="btn" onClick=${onClose}>Cancel</button><button type="submit" class="primary">Set password</button></div>
    </form>
  </${Dialog}>`;
}

/** @param {{u: any, onClose: () => void, onDone: () => void}} p */
function DeleteUserDialog({ u, onClose, onDone }) {
  const [err, setErr] = useState('');
  const del = async () => {
    try {
      await api('DELETE', '/api/v1/users/' + enc(u.username));
      flash(`Deleted ${u.username}`);
      onDone();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  return html`<${Dialog} title="Delete user?" onClose=${onClose}>
    <p>Delete <b>${u.username}</b> with ${deleteSummary(u)}? Their groups stop being probed and their stored results go too. This cannot be undone.</p>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${onClose}>Cancel</button>
      <button type="button" class="danger" onClick=${del}>Delete</button></div>
  </${Dialog}>`;
}

/** The administrators' page: every account, its last sign-in and what it owns, and what can be done to it. */
export function Users() {
  const [users, setUsers] = useState(/** @type {any[]|null} */ (null));
  const [open, setOpen] = useState(/** @type {{kind:'new'|'reset'|'delete', u?: any}|null} */ (null));
  const load = async () => {
    try {
      setUsers((await api('GET', '/api/v1/users')).users || []);
    } catch (e) {
      flashError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const close = () => setOpen(null);
  const done = () => {
    setOpen(null);
    load();
  };
  /** @param {any} u */
  const toggleAdmin = async (u) => {
    try {
      await api('PATCH', '/api/v1/users/' + enc(u.username), { is_admin: !u.is_admin });
      flash(u.is_admin ? `${u.username} is no longer an administrator` : `${u.username} is an administrator now`);
      if (u.id === me.peek()?.id) me.value = { ...me.peek(), is_admin: !u.is_admin };
      load();
    } catch (e) {
      flashError(e);
    }
  };
  /** @param {any} u */
  const unlock = async (u) => {
    try {
      await api('POST', `/api/v1/users/${enc(u.username)}/unlock`);
      flash(`${u.username} can sign in again`);
      load();
    } catch (e) {
      flashError(e);
    }
  };
  const self = me.value?.id;
  return html`<main class="report account" id="main">
    <h1>Users</h1>
    <p><button type="button" class="primary" onClick=${() => setOpen({ kind: 'new' })}>New user</button></p>
    ${users === null
      ? html`<p class="muted">Loading…</p>`
      : html`<div class="table-wrap"><table class="stats accounts">
        <thead><tr><th scope="col">User</th><th scope="col">Admin</th><th scope="col">Last sign-in</th><th scope="col">Groups</th><th scope="col">Targets</th><th scope="col">Status</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${users.map((u) => html`<tr key=${u.id} data-user=${u.username}>
          <th scope="row">${u.username}${u.display_name && html` <span class="muted">(${u.display_name})</span>`}</th>
          <td>${u.is_admin ? 'yes' : 'no'}</td>
          <td>${fmtAgo(u.last_sign_in_at)}</td>
          <td>${u.group_count}</td><td>${u.target_count}</td>
          <td>${[u.must_change_password && 'must change password', u.locked && 'locked'].filter(Boolean).join(', ') || 'ok'}</td>
          <td class="actions">
            ${u.id !== self && html`<button type="button" class="btn small" onClick=${() => setOpen({ kind: 'reset', u })}>Reset password</button>`}
            <button type="button" class="btn small" onClick=${() => toggleAdmin(u)}>${u.is_admin ? 'Remove admin' : 'Make admin'}</button>
            ${u.locked && html`<button type="button" class="btn small" onClick=${() => unlock(u)}>Unlock</button>`}
            ${u.id !== self && html`<button type="button" class="btn small" onClick=${() => setOpen({ kind: 'delete', u })}>Delete</button>`}
          </td></tr>`)}</tbody>
      </table></div>`}
    ${open?.kind === 'new' && html`<${NewUserDialog} onClose=${close} onDone=${done} />`}
    ${open?.kind === 'reset' && html`<${ResetDialog} u=${open.u} onClose=${close} onDone=${done} />`}
    ${open?.kind === 'delete' && html`<${DeleteUserDialog} u=${open.u} onClose=${close} onDone=${done} />`}
  </main>`;
}
