import { html } from '../html.js';
import { me, logout, checkSession, flash } from '../state.js';
import { PasswordForm } from '../components/PasswordForm.js';

/**
 * Shown instead of the app when an administrator set the password: the server refuses
 * everything else until a new one is chosen.
 */
export function ChoosePassword() {
  const done = async () => {
    await checkSession();
    flash('Password changed.');
  };
  return html`<main class="login">
    <div class="login-box">
      <h1>Choose a new password</h1>
      <p>An administrator set the password of <b>${me.value?.username}</b>. Choose your own before you go on.</p>
      <${PasswordForm} onDone=${done} submitLabel="Set password" currentLabel="Password you signed in with">
        <button type="button" class="btn" onClick=${() => logout()}>Sign out</button>
      </${PasswordForm}>
    </div>
  </main>`;
}
