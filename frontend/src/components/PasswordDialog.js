import { html } from '../html.js';
import { dialog, flash } from '../state.js';
import { Dialog } from './Dialog.js';
import { PasswordForm } from './PasswordForm.js';

const close = () => (dialog.value = null);

/** Change your own password (opened from your name in the top bar). */
export function PasswordDialog() {
  const done = () => {
    close();
    flash('Password changed. Your other sessions are signed out.');
  };
  return html`<${Dialog} title="Change password" onClose=${close}>
    <${PasswordForm} onDone=${done}><button type="button" class="btn" onClick=${close}>Cancel</button></${PasswordForm}>
  </${Dialog}>`;
}
