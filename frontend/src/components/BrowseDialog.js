import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { deck, dialog, flashError, reloadGroups } from '../state.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

/** Cards shared with me or public that are not on my dashboard, each with "Add to my dashboard". */
export function BrowseDialog() {
  const [list, setList] = useState(/** @type {any[]|null} */ (null));
  const [q, setQ] = useState('');
  useEffect(() => {
    api('GET', '/api/v1/groups').then(
      (r) => setList((r.groups || []).filter((/** @type {any} */ g) => !deck.byId.has(g.id))),
      (e) => {
        setList([]);
        flashError(e);
      },
    );
  }, []);
  /** @param {any} g */
  const pin = async (g) => {
    try {
      await api('PUT', '/api/v1/me/pins/' + g.id);
      setList((l) => (l || []).filter((x) => x.id !== g.id));
      await reloadGroups();
    } catch (e) {
      flashError(e);
    }
  };
  const shown = (list || []).filter((g) => !q || (g.name + ' ' + g.owner?.username).toLowerCase().includes(q.toLowerCase()));
  return html`<${Dialog} title="Shared and public cards" onClose=${close}>
    <label>Search<input type="search" value=${q} onInput=${(/** @type {any} */ e) => setQ(e.currentTarget.value)} /></label>
    ${list === null ? html`<p class="muted">Loading…</p>` : !shown.length ? html`<p class="muted">Nothing to add: every card you can see is on your dashboard.</p>` : html`<ul class="shares">
      ${shown.map((g) => html`<li><span><b>${g.name}</b> <span class="muted">by ${g.owner?.username}, ${g.target_count} targets</span></span>
        <span class="badge">${g.role === 'viewer' && g.visibility === 'public' ? 'public' : g.role}</span>
        <button type="button" class="primary small" onClick=${() => pin(g)}>Add to my dashboard</button></li>`)}
    </ul>`}
    <div class="dlg-foot"><button type="button" class="btn" onClick=${close}>Close</button></div>
  </${Dialog}>`;
}
