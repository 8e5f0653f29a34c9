import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { flash, flashError } from '../state.js';
import { fmtAgo } from '../format.js';
import { Dialog } from '../components/Dialog.js';

/** Lifetimes offered for a new token; '' is "never expires". */
const LIFETIMES = [['', 'Never'], ['24h', '1 day'], ['168h', '7 days'], ['720h', '30 days'], ['2160h', '90 days'], ['8760h', '1 year']];

/** @param {string|null} iso */
const fmtExpiry = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

/** Your API tokens: list, create (the secret is shown once) and revoke. */
export function Tokens() {
  const [tokens, setTokens] = useState(/** @type {any[]|null} */ (null));
  const [name, setName] = useState('');
  const [life, setLife] = useState('');
  const [made, setMade] = useState(/** @type {{name:string, token:string}|null} */ (null));
  const [revoking, setRevoking] = useState(/** @type {any} */ (null));
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      setTokens((await api('GET', '/api/v1/tokens')).tokens || []);
    } catch (e) {
      flashError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);
  /** @param {Event} e */
  const create = async (e) => {
    e.preventDefault();
    setErr('');
    try {
      const t = await api('POST', '/api/v1/tokens', life ? { name, expires_in: life } : { name });
      setMade({ name: t.name, token: t.token });
      setName('');
      load();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    }
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(made?.token || '');
      flash('Token copied.');
    } catch {
      flash('Could not copy; select the token and copy it by hand.', true);
    }
  };
  const revoke = async () => {
    try {
      await api('DELETE', '/api/v1/tokens/' + enc(revoking.id));
      flash(`Revoked “${revoking.name}”`);
      setRevoking(null);
      load();
    } catch (x) {
      flashError(x);
    }
  };
  return html`<main class="report account" id="main">
    <h1>API tokens</h1>
    <p class="muted">Send a token as <code>Authorization: Bearer …</code> to use the API as you, from scripts and other tools.</p>
    <form class="window" onSubmit=${create}>
      <label>Name<input required maxlength="100" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} /></label>
      <label>Expires<select value=${life} onChange=${(/** @type {any} */ e) => setLife(e.currentTarget.value)}>
        ${LIFETIMES.map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
      <button type="submit" class="primary">Create token</button>
    </form>
    <p class="err" role="alert">${err}</p>
    ${made && html`<section class="secret" aria-label="New token">
      <p>Your new token <b>${made.name}</b>:</p>
      <p class="secret-row"><code class="token">${made.token}</code>
        <button type="button" class="btn small" onClick=${copy}>Copy</button></p>
      <p class="warn-text">It will not be shown again: copy it now.</p>
      <button type="button" class="btn small" onClick=${() => setMade(null)}>Done</button>
    </section>`}
    ${tokens === null
      ? html`<p class="muted">Loading…</p>`
      : tokens.length === 0
        ? html`<p class="muted">You have no API tokens.</p>`
        : html`<div class="table-wrap"><table class="stats accounts">
          <thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${tokens.map((t) => html`<tr key=${t.id} data-token=${t.name}>
            <th scope="row">${t.name}</th><td>${fmtAgo(t.created_at)}</td><td>${fmtAgo(t.last_used_at)}</td><td>${fmtExpiry(t.expires_at)}</td>
            <td><button type="button" class="btn small" onClick=${() => setRevoking(t)}>Revoke</button></td></tr>`)}</tbody>
        </table></div>`}
    ${revoking && html`<${Dialog} title="Revoke token?" onClose=${() => setRevoking(null)}>
      <p>Revoke <b>${revoking.name}</b>? Anything using it stops working at once, and its live streams close. This cannot be undone.</p>
      <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${() => setRevoking(null)}>Cancel</button>
        <button type="button" class="danger" onClick=${revoke}>Revoke</button></div>
    </${Dialog}>`}
  </main>`;
}
