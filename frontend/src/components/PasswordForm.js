import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';

/** The server's rule for a new password (auth.MinPasswordLength). */
export const MIN_PASSWORD = 8;

/**
 * Current password, new password twice: changes your own password. Other sessions of
 * yours are signed out by the server; this one stays.
 * @param {{onDone: () => void, submitLabel?: string, currentLabel?: string, children?: any}} p
 */
export function PasswordForm({ onDone, submitLabel = 'Change password', currentLabel = 'Current password', children }) {
  const [cur, setCur] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    if (next !== again) return setErr('The new passwords do not match.');
    setBusy(true);
    setErr('');
    try {
      await api('POST', '/api/v1/me/password', { current_password: cur, new_password: next });
      onDone();
    } catch (x) {
      const a = /** @type {import('../api.js').ApiError} */ (x);
      if (a.details?.field === 'current_password' && a.status === 403) setErr('The current password is wrong.');
      else if (a.status === 429) setErr('Too many wrong passwords. Wait a few seconds and try again.');
      else setErr(a.message);
    } finally {
      setBusy(false);
    }
  };
  /** @param {(v: string) => void} set */
  const on = (set) => (/** @type {any} */ e) => set(e.currentTarget.value);
  return html`<form onSubmit=${submit}>
    <label>${currentLabel}<input type="password" autocomplete="current-password" required value=${cur} onInput=${on(setCur)} /></label>
    <label>New password<input type="password" autocomplete="new-password" required minlength=${MIN_PASSWORD} maxlength="72" value=${next} onInput=${on(setNext)} /></label>
    <label>New password again<input type="password" autocomplete="new-password" required value=${again} onInput=${on(setAgain)} /></label>
    <p class="muted">At least ${MIN_PASSWORD} characters. Your other sessions are signed out; this one stays.</p>
    <p class="err" role="alert">${err}</p>
    <div class="dlg-foot">${children}<button type="submit" class="primary" disabled=${busy}>${busy ? 'Saving…' : submitLabel}</button></div>
  </form>`;
}
