import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { flash, flashError } from '../state.js';
import { fmtAgo, fmtBytes } from '../format.js';
import { Dialog } from '../components/Dialog.js';
import { AgentCredential } from '../components/AgentCredential.js';

/** How often the list is re-read while the page is open (status, probes/s). */
const REFRESH_MS = 5000;

/**
 * An agent's status for its row: online (heard from in the last 10 s), connected but
 * silent, or offline.
 * @param {{connected: boolean, online: boolean}} a
 * @returns {{state: 'up'|'partial'|'offline', text: string}}
 */
export function agentStatus(a) {
  if (a.connected && a.online) return { state: 'up', text: 'online' };
  if (a.connected) return { state: 'partial', text: 'connected, silent' };
  return { state: 'offline', text: a.online ? 'online, not connected' : 'offline' };
}

/**
 * Probes per second, as the list shows it.
 * @param {number|null|undefined} n
 */
export function fmtRate(n) {
  if (n == null || !isFinite(n)) return '—';
  return n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/**
 * The message for an error creating an agent: the server's own, which names what to change
 * (a taken location, or the --nats-listen a server needs before it takes agents).
 * @param {any} e
 */
export function createError(e) {
  return e instanceof Error ? e.message : String(e);
}

/** The administrators' agents: list with status, create one (credential shown once), revoke. */
export function Agents() {
  const [agents, setAgents] = useState(/** @type {any[]|null} */ (null));
  const [name, setName] = useState('');
  const [location, setLocation] = useState('');
  const [made, setMade] = useState(/** @type {any} */ (null));
  const [revoking, setRevoking] = useState(/** @type {any} */ (null));
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const load = async () => {
    try {
      setAgents((await api('GET', '/api/v1/agents')).agents || []);
    } catch (e) {
      flashError(e);
    }
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  /** @param {Event} e */
  const create = async (e) => {
    e.preventDefault();
    setErr('');
    setBusy(true);
    try {
      const res = await api('POST', '/api/v1/agents', { name: name.trim(), location: location.trim() });
      setMade(res);
      setName('');
      setLocation('');
      load();
    } catch (x) {
      setErr(createError(x));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async () => {
    try {
      await api('DELETE', '/api/v1/agents/' + enc(revoking.id));
      flash(`Revoked agent “${revoking.name}”`);
      setRevoking(null);
      load();
    } catch (x) {
      flashError(x);
    }
  };
  /** @param {(v: string) => void} set */
  const on = (set) => (/** @type {any} */ e) => set(e.currentTarget.value);
  return html`<main class="report account" id="main">
    <h1>Agents</h1>
    <p class="muted">An agent probes your groups from another site: run <code>pingdeck agent</code> there with its
      credential and it connects out to this server (nothing connects in). Tick its location in a group's probe settings.</p>
    <form class="window" onSubmit=${create} aria-label="New agent">
      <label>Name<input required maxlength="64" autocomplete="off" value=${name} onInput=${on(setName)} /></label>
      <label>Location<input required pattern="[a-z0-9\\-]{1,32}" maxlength="32" autocomplete="off" placeholder="fra"
        title="Lower-case letters, digits and -, up to 32" value=${location} onInput=${on(setLocation)} /></label>
      <button type="submit" class="primary" disabled=${busy}>New agent</button>
    </form>
    <p class="err" role="alert">${err}</p>
    ${made && html`<${AgentCredential} made=${made} onDone=${() => setMade(null)} />`}
    ${agents === null
      ? html`<p class="muted">Loading…</p>`
      : agents.length === 0
        ? html`<p class="muted">No agents yet.</p>`
        : html`<div class="table-wrap"><table class="stats accounts agents">
          <thead><tr><th scope="col">Name</th><th scope="col">Location</th><th scope="col">Status</th><th scope="col">Last seen</th>
            <th scope="col" class="wide">Version</th><th scope="col" class="n">Targets</th><th scope="col" class="n">Probes/s</th><th scope="col" class="n wide">Buffered</th>
            <th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${agents.map((a) => {
            const st = agentStatus(a);
            return html`<tr key=${a.id} data-agent=${a.name}>
              <th scope="row">${a.name}</th><td>${a.location}</td>
              <td class="status"><span class=${'dot dot-' + st.state} aria-hidden="true"></span> ${st.text}</td>
              <td>${fmtAgo(a.last_seen)}</td><td class="wide">${a.version || '—'}</td>
              <td class="n">${a.targets ?? '—'}</td><td class="n">${fmtRate(a.probes_per_s)}</td><td class="n wide">${fmtBytes(a.buffered_bytes)}</td>
              <td><button type="button" class="btn small" onClick=${() => setRevoking(a)}>Revoke</button></td></tr>`;
          })}</tbody>
        </table></div>`}
    ${revoking && html`<${Dialog} title="Revoke agent?" onClose=${() => setRevoking(null)}>
      <p>Revoke <b>${revoking.name}</b>? It is disconnected at once and its credential stops working; location
        <b>${revoking.location}</b> stops being probed until a new agent takes it. This cannot be undone.</p>
      <div class="dlg-foot"><button type="button" class="btn" autofocus onClick=${() => setRevoking(null)}>Cancel</button>
        <button type="button" class="danger" onClick=${revoke}>Revoke</button></div>
    </${Dialog}>`}
  </main>`;
}
