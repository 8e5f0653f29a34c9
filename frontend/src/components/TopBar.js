import { html } from '../html.js';
import { me, filter, live, dialog, logout } from '../state.js';
import { route, go } from '../router.js';
import { Bell } from './Bell.js';
import { firingCount } from '../alerts.js';

const CONN_TEXT = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting', offline: 'offline' };

/** live / reconnecting / offline, with "retry now" when not live. */
function ConnIndicator() {
  const s = live.state.value;
  return html`<span class=${'conn conn-' + s} role="status" aria-live="polite" title="Live updates">
    <span class="conn-dot" aria-hidden="true"></span>${CONN_TEXT[s]}
    ${(s === 'reconnecting' || s === 'offline') && html` <button type="button" class="link" onClick=${() => live.retryNow()}>retry</button>`}
  </span>`;
}

/** The bar at the top of every signed-in page. */
export function TopBar() {
  const onDash = route.value.page === 'dashboard';
  return html`<header class="topbar">
    <a class="brand" href="#/" onClick=${() => go('#/')}><span class="logo" aria-hidden="true">◉</span> pingdeck</a>
    ${onDash
      ? html`<input class="filter" type="search" placeholder="Filter all cards (address, IP, down…)" aria-label="Filter targets in all cards"
          value=${filter.value} onInput=${(/** @type {any} */ e) => (filter.value = e.currentTarget.value)} />`
      : html`<a class="btn small" href="#/">← Dashboard</a>`}
    <span class="spacer"></span>
    <${ConnIndicator} />
    ${onDash && html`<button type="button" class="btn small" title="Cards shared with you or public" onClick=${() => (dialog.value = { kind: 'browse' })}>Add shared…</button>
      <button type="button" class="primary small" onClick=${() => (dialog.value = { kind: 'new' })}>New group</button>`}
    <${Bell} />
    <a class="btn small alerts-link" href="#/alerts" aria-current=${route.value.page === 'alerts' ? 'page' : undefined}
      aria-label=${firingCount.value ? `Alerts, ${firingCount.value} firing` : 'Alerts'}>Alerts${firingCount.value > 0 && html`<span class="bell-count">${firingCount.value}</span>`}</a>
    <a class="btn small" href="#/tokens" aria-current=${route.value.page === 'tokens' ? 'page' : undefined}>Tokens</a>
    ${me.value?.is_admin && html`<a class="btn small" href="#/users" aria-current=${route.value.page === 'users' ? 'page' : undefined}>Users</a>
      <a class="btn small" href="#/agents" aria-current=${route.value.page === 'agents' ? 'page' : undefined}>Agents</a>`}
    <button type="button" class="link user" title="Signed in; click to change your password" aria-label=${'Change password (signed in as ' + (me.value?.username || '') + ')'}
      onClick=${() => (dialog.value = { kind: 'password' })}>${me.value?.display_name || me.value?.username}</button>
    <button type="button" class="btn small" onClick=${() => logout()}>Sign out</button>
  </header>`;
}
