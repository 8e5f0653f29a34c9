import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api, enc } from '../api.js';
import { deck } from '../state.js';
import { firing, poll, notifyOn, setNotify, notificationPermission } from '../alerts.js';
import { fmtDuration } from '../format.js';
import { SilenceTable, SilenceForm } from '../components/Silences.js';

/** @param {string} gid */
const groupLink = (gid) => `#/report/${enc(gid)}?from=${Math.floor(Date.now() / 1000) - 3600}&range=3600`;

/**
 * Alerts as a table: rule, group, since (and until), targets.
 * @param {{list: import('../firing.js').Alert[], resolved?: boolean, label: string}} p
 */
function AlertTable({ list, resolved, label }) {
  const now = Date.now();
  return html`<div class="table-wrap"><table class="stats plain" aria-label=${label}>
    <thead><tr><th scope="col">Rule</th><th scope="col">Group</th><th scope="col">Started</th>
      ${resolved && html`<th scope="col">Resolved</th>`}<th scope="col">${resolved ? 'Lasted' : 'Firing for'}</th><th scope="col" class="n">Targets</th></tr></thead>
    <tbody>${list.map((a) => html`<tr key=${a.id} data-alert=${a.rule_name}>
      <th scope="row">${a.rule_name}</th>
      <td><a href=${groupLink(a.group_id)}>${a.group_name}</a></td>
      <td>${new Date(a.started_at).toLocaleString()}</td>
      ${resolved && html`<td>${a.resolved_at ? new Date(a.resolved_at).toLocaleString() : ''}</td>`}
      <td>${fmtDuration((a.resolved_at ? Date.parse(a.resolved_at) : now) - Date.parse(a.started_at))}</td>
      <td class="n">${a.targets}</td>
    </tr>`)}</tbody>
  </table></div>`;
}

/** The browser-notification switch: asks the browser's permission when turned on. */
function NotifySwitch() {
  const [why, setWhy] = useState('');
  const perm = notificationPermission();
  return html`<div class="notify-switch">
    <label class="switch"><input type="checkbox" checked=${notifyOn.value} disabled=${perm === 'unsupported'}
      onChange=${async (/** @type {any} */ e) => setWhy(await setNotify(e.currentTarget.checked))} />
      Browser notifications when an alert fires or resolves (while pingdeck is open)</label>
    <span class="muted small" role="status">${why || (perm === 'denied' ? 'Blocked in the browser settings for this site.' : perm === 'unsupported' ? 'This browser has no notifications.' : '')}</span>
  </div>`;
}

/** Every group's maintenance windows, with a form for a new one. */
function AllSilences() {
  const groups = deck.groups.value;
  const [list, setList] = useState(/** @type {any[]|null} */ (null));
  const load = async () => {
    const all = await Promise.all(groups.map((g) => api('GET', `/api/v1/groups/${enc(g.id)}/silences`).then((r) => r.silences || [], () => [])));
    setList(all.flat().sort((a, b) => Date.parse(b.from) - Date.parse(a.from)));
  };
  useEffect(() => {
    load();
  }, [groups.map((g) => g.id).join()]);
  return html`<section class="page-section" aria-label="Maintenance windows">
    <h2>Maintenance windows</h2>
    <p class="muted">While a window covers a target (or a whole group), rules do not count it and nothing is sent.</p>
    ${list === null ? html`<p class="muted">Loading…</p>` : html`<${SilenceTable} list=${list} onChange=${load} showGroup />`}
    <${SilenceForm} onDone=${load} />
  </section>`;
}

/** Firing alerts, the history of resolved ones, maintenance windows and browser notifications. */
export function Alerts() {
  const [all, setAll] = useState(/** @type {import('../firing.js').Alert[]|null} */ (null));
  const [err, setErr] = useState('');
  const load = async () => {
    try {
      setAll((await api('GET', '/api/v1/alerts?state=all')).alerts || []);
      setErr('');
    } catch (e) {
      setErr(/** @type {Error} */ (e).message);
    }
  };
  const now = firing.value;
  useEffect(() => {
    poll();
    load();
  }, []);
  // the history follows the poll: when the firing ones change, read it again
  useEffect(() => {
    if (now) load();
  }, [now && now.map((a) => a.id).join()]);
  const past = (all || []).filter((a) => a.resolved_at);
  return html`<main class="report account" id="main">
    <h1>Alerts</h1>
    <p class="facts"><a class="btn small" href="#/channels">Notification channels…</a>
      <span class="muted small">webhook, Slack, email and Alertmanager; rules are set per group from a card's menu</span></p>
    <${NotifySwitch} />
    ${err && html`<p class="err" role="alert">${err}</p>`}
    <section class="page-section" aria-label="Firing">
      <h2>Firing ${now && now.length > 0 && html`<span class="badge firing">${now.length}</span>`}</h2>
      ${now === null ? html`<p class="muted">Loading…</p>` : !now.length
        ? html`<p class="muted">Nothing is firing. Rules are set per group, from a card's menu (“Alert rules…”).</p>`
        : html`<${AlertTable} list=${now} label="Firing alerts" />`}
    </section>
    <section class="page-section" aria-label="History">
      <h2>History</h2>
      ${all === null ? html`<p class="muted">Loading…</p>` : !past.length ? html`<p class="muted">No resolved alerts yet.</p>`
        : html`<${AlertTable} list=${past} resolved label="Resolved alerts" />`}
    </section>
    <${AllSilences} />
  </main>`;
}
