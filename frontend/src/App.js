import { useEffect } from 'preact/hooks';
import { html } from './html.js';
import { me, dialog, toast, startDashboard } from './state.js';
import { route } from './router.js';
import { Login } from './pages/Login.js';
import { Dashboard } from './pages/Dashboard.js';
import { Report } from './pages/Report.js';
import { Target } from './pages/Target.js';
import { Tokens } from './pages/Tokens.js';
import { Users } from './pages/Users.js';
import { Agents } from './pages/Agents.js';
import { ChoosePassword } from './pages/ChoosePassword.js';
import { Alerts } from './pages/Alerts.js';
import { Channels } from './pages/Channels.js';
import { RulesDialog } from './components/RulesDialog.js';
import { ThresholdsDialog, TargetThresholdsDialog } from './components/ThresholdsDialog.js';
import { SilenceDialog } from './components/Silences.js';
import { GroupChannelsDialog } from './components/Channels.js';
import { TopBar } from './components/TopBar.js';
import { PasswordDialog } from './components/PasswordDialog.js';
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
  password: PasswordDialog,
  rules: RulesDialog,
  thresholds: ThresholdsDialog,
  tthresholds: TargetThresholdsDialog,
  silences: SilenceDialog,
  gchannels: GroupChannelsDialog,
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
  else if (r.page === 'tokens') page = html`<${Tokens} />`;
  else if (r.page === 'alerts') page = html`<${Alerts} />`;
  else if (r.page === 'channels') page = html`<${Channels} />`;
  else if (r.page === 'users' && me.value?.is_admin) page = html`<${Users} />`;
  else if (r.page === 'agents' && me.value?.is_admin) page = html`<${Agents} />`;
  else if (r.page === 'users' || r.page === 'agents' || r.page === 'notfound') page = html`<${NotFound} />`;
  else page = html`<${Dashboard} />`;
  return html`<a class="skip-link" href="#main" onClick=${(/** @type {Event} */ e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
    <${TopBar} />
    ${page}
    ${D && html`<${D} key=${d.kind + (d.g ? d.g.id : '') + (d.tid || '')} g=${d.g} tid=${d.tid} />`}
    ${t && html`<div class=${'toast' + (t.error ? ' error' : '')} role=${t.error ? 'alert' : 'status'}>${t.text}</div>`}`;
}

/** A route that does not exist (or that this user may not see). */
function NotFound() {
  return html`<main class="report" id="main"><h1>Not found</h1><p>There is no such page. <a href="#/">Back to the dashboard</a></p></main>`;
}

/** The whole page: checking the session, the sign-in form, the forced new password, or the app. */
export function App() {
  const u = me.value;
  if (u === undefined) return html`<p class="muted boot">Loading…</p>`;
  if (u === null) return html`<${Login} />`;
  if (u.must_change_password) return html`<${ChoosePassword} />`;
  return html`<${Shell} key=${u.id} />`;
}
