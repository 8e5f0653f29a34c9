import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { login, loadError } from '../state.js';
import { ApiError } from '../api.js';

/** The sign-in form. */
export function Login() {
  const [user, setUser] = useState('');
  const [pass, setPass] = useState('');
  const [err, setErr] = useState(/** @type {string|null} */ (null));
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      await login(user, pass);
    } catch (x) {
      const a = /** @type {ApiError} */ (x);
      if (a.status === 401) setErr('Wrong username or password.');
      else if (a.status === 429) setErr('Too many failed sign-ins. Wait a few seconds and try again.');
      else if (a.status === 0) setErr('Cannot reach the server. Check your connection and try again.');
      else setErr(a.message || 'Sign-in failed.');
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="login">
    <form class="login-box" onSubmit=${submit} aria-describedby="login-err">
      <h1><span class="logo" aria-hidden="true">◉</span> pingdeck</h1>
      <label>Username<input name="username" autocomplete="username" autofocus required value=${user}
        onInput=${(/** @type {any} */ e) => setUser(e.currentTarget.value)} /></label>
      <label>Password<input name="password" type="password" autocomplete="current-password" required value=${pass}
        onInput=${(/** @type {any} */ e) => setPass(e.currentTarget.value)} /></label>
      <p id="login-err" class="err" role="alert">${err || loadError.value || ''}</p>
      <button class="primary" type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
  </main>`;
}
