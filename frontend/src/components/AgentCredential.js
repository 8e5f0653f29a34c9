import { html } from '../html.js';
import { flash } from '../state.js';

/**
 * The file name an agent's credential is saved as: "<location>.creds", the name the
 * command the server gives expects.
 * @param {string} location
 */
export function credsFileName(location) {
  return (location || 'agent') + '.creds';
}

/**
 * Saves text as a file the browser downloads.
 * @param {string} name @param {string} text
 */
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * @param {string} text @param {string} what
 */
async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    flash(what + ' copied.');
  } catch {
    flash('Could not copy; select the text and copy it by hand.', true);
  }
}

/**
 * A new agent's credential, shown once: copy it or download it as <location>.creds, and
 * the command to run at the remote site.
 * @param {{made: {agent: any, credential: string, command: string}, onDone: () => void}} p
 */
export function AgentCredential({ made, onDone }) {
  const { agent, credential, command } = made;
  const file = credsFileName(agent.location);
  return html`<section class="secret" aria-label="New agent credential">
    <p>The credential of agent <b>${agent.name}</b>, probing from <b>${agent.location}</b>:</p>
    <pre class="creds" tabindex="0">${credential}</pre>
    <p class="secret-row">
      <button type="button" class="btn small" onClick=${() => copy(credential, 'Credential')}>Copy credential</button>
      <button type="button" class="btn small" onClick=${() => download(file, credential)}>Download ${file}</button>
    </p>
    <p>At the remote site, with the file saved as <code>${file}</code>, run:</p>
    <p class="secret-row"><code class="token command">${command}</code>
      <button type="button" class="btn small" onClick=${() => copy(command, 'Command')}>Copy command</button></p>
    <p class="warn-text">The credential will not be shown again: save it now. If it is lost, revoke this agent and create a new one.</p>
    <button type="button" class="btn small" onClick=${onDone}>Done</button>
  </section>`;
}
