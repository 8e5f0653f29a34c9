import { useEffect } from 'preact/hooks';
import { html } from './html.js';
import { me, dialog, toast, startDashboard } from './state.js';
import { route } from './router.js';
import { Login } from './pages/Login.js';
import { Dashboard } from './pages/Dashboard.js';
import { Report } from './pages/Report.js';
import { Target } from './pages/Target.js';
import { TopBar } from './components/TopBar.js';
import { NewGroupDialog, AddTargetsDialog, PruneDialog } from './components/AddDialogs.js';
import { RenameDialog, ProbeSettingsDialog, DeleteDialog } from './components/GroupDialogs.js';
import { ShareDialog } from './components/ShareDialog.js';
import { BrowseDialog } from './components/BrowseDialog.js';

const DIALOGS = {
  new: NewGroupDialog,
  add: AddTargetsDialog,
  prune: PruneDialog,
  rename: RenameDialog,
  probe: ProbeSettingsDialog,
  delete: DeleteDialog,
  share: ShareDialog,
  browse: BrowseDialog,
};

/** Signed in: the top bar, the page of the route, the open dialog, the toast. */
function Shell() {
  useEffect(() => {
    startDashboard();
  }, []);
  const r = route.value;
  const d = dialog.value;
  const D = d && DIALOGS[/** @type {keyof typeof DIALOGS} */ (d.kind)];
  const t = toast.value;
  let page;
  if (r.page === 'report' && r.gid) page = html`<${Report} key=${r.gid} gid=${r.gid} q=${r.q} />`;
  else if (r.page === 'target' && r.gid && r.tid) page = html`<${Target} key=${r.gid + r.tid} gid=${r.gid} tid=${r.tid} />`;
  else page = html`<${Dashboard} />`;
  return html`<a class="skip-link" href="#main" onClick=${(/** @type {Event} */ e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <${TopBar} />
    ${page}
    ${D && html`<${D} key=${d.kind + (d.g ? d.g.id : '')} g=${d.g} />`}
    ${t && html`<div class=${'toast' + (t.error ? ' error' : '')} role=${t.error ? 'alert' : 'status'}>${t.text}</div>`}`;
}

/** The whole page: checking the session, the sign-in form, or the app. */
export function App() {
  const u = me.value;
  if (u === undefined) return html`<p class="muted boot">Loading…</p>`;
  if (u === null) return html`<${Login} />`;
  return html`<${Shell} key=${u.id} />`;
}
