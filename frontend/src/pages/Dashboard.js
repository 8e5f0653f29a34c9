import { html } from '../html.js';
import { deck, filter, order, setOrder, loadError, loading, dialog } from '../state.js';
import { applyOrder, move } from '../prefs.js';
import { filterWords } from '../sort.js';
import { GroupCard } from '../components/GroupCard.js';
import { PinOffer } from '../components/Bell.js';
import { CellPopover } from '../components/CellPopover.js';

/** The cards, in the order the user chose. */
export function Dashboard() {
  const list = applyOrder(deck.groups.value, order.value);
  const words = filterWords(filter.value);
  const ids = list.map((g) => g.id);
  /** @param {string} id @param {number} d */
  const onMove = (id, d) => setOrder(move(ids, id, d));
  /** @param {string} from @param {string} to */
  const onDrop = (from, to) => setOrder(move(ids, from, ids.indexOf(to) - ids.indexOf(from)));
  const cards = list.map((g, i) => html`<${GroupCard} key=${g.id} g=${g} words=${words} index=${i} count=${list.length} onMove=${onMove} onDrop=${onDrop} />`);
  return html`<main class="deck" id="main">
    <${PinOffer} />
    ${loadError.value && html`<p class="err banner" role="alert">Could not load the dashboard: ${loadError.value}</p>`}
    ${!list.length && !loading.value && !loadError.value && html`<div class="welcome">
      <h2>No groups yet</h2>
      <p>A group is a card of addresses pinged continuously. Paste a list of IPs, hostnames or CIDR ranges to start.</p>
      <button type="button" class="primary" onClick=${() => (dialog.value = { kind: 'new' })}>New group</button>
    </div>`}
    ${cards}
    <${CellPopover} />
    ${words.length > 0 && list.length > 0 && html`<p class="muted filter-note">Filter: ${filter.value} — <button type="button" class="link" onClick=${() => (filter.value = '')}>clear</button></p>`}
  </main>`;
}
