import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { me, deck, flashError } from '../state.js';
import { ChannelList, loadChannels } from '../components/Channels.js';

/**
 * Notification channels: your own (usable by your rules in any group), and those of the
 * groups you may edit (each group's are also under its card's menu).
 */
export function Channels() {
  const [all, setAll] = useState(/** @type {any[]|null} */ (null));
  const load = async () => {
    try {
      setAll(await loadChannels());
    } catch (e) {
      flashError(e);
      setAll([]);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const uid = me.value?.id;
  const mine = (all || []).filter((c) => !c.group_id && c.user_id === uid);
  /** @type {Map<string, any[]>} */
  const byGroup = new Map();
  for (const c of all || []) if (c.group_id) byGroup.set(c.group_id, [...(byGroup.get(c.group_id) || []), c]);
  const others = (all || []).filter((c) => !c.group_id && c.user_id !== uid);
  return html`<main class="report account" id="main">
    <h1>Channels</h1>
    <p class="muted">Where alert rules send their firings and resolves. Secrets (signing keys, Slack URLs, passwords) are write-only: once saved they show as “set”.</p>
    ${all === null ? html`<p class="muted">Loading…</p>` : html`
      <section class="page-section" aria-label="Your channels">
        <h2>Your channels</h2>
        <${ChannelList} channels=${mine} onChange=${load} label="Your channels" />
      </section>
      ${[...byGroup].map(([gid, list]) => html`<section class="page-section" key=${gid} aria-label=${'Channels of ' + groupName(gid)}>
        <h2>Group “${groupName(gid)}”</h2>
        <${ChannelList} channels=${list} groupId=${gid} onChange=${load} label=${'Channels of ' + groupName(gid)} />
      </section>`)}
      ${others.length > 0 && html`<section class="page-section" aria-label="Other users' channels">
        <h2>Other users' channels <span class="hint">(you are an administrator)</span></h2>
        <${ChannelList} channels=${others} onChange=${load} label="Other users' channels" noAdd />
      </section>`}`}
  </main>`;
}

/** @param {string} gid */
function groupName(gid) {
  return deck.byId.get(gid)?.meta.peek().name || gid.slice(0, 8);
}
