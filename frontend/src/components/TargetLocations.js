import { html } from '../html.js';
import { deck } from '../state.js';
import { locationTitle } from '../format.js';
import { Spark } from './Spark.js';

/**
 * A target seen from each location of its group: state, RTT, last-minute loss and the
 * sparkline of every cell; picking one shows its chart and live log below.
 * @param {{t: import('../live/model.js').TargetModel, sel: string, onPick: (loc: string) => void}} p
 */
export function TargetLocations({ t, sel, onPick }) {
  const known = new Map(deck.locations.value.map((l) => [l.name, l]));
  return html`<section aria-label="By location">
    <h2>By location</h2>
    <div class="table-wrap"><table class="stats by-loc">
      <thead><tr><th scope="col">Location</th><th scope="col">Last</th><th scope="col">Loss 1m</th><th scope="col" class="spark-col">Last ${60} probes</th></tr></thead>
      <tbody>${t.cellList.map((c) => html`<tr key=${c.loc} data-loc=${c.loc} class=${c.loc === sel ? 'on' : ''}>
        <th scope="row"><span class=${c.dot} aria-hidden="true"></span>
          <button type="button" class="link" aria-pressed=${c.loc === sel} title=${locationTitle(c.loc, known.get(c.loc))}
            onClick=${() => onPick(c.loc)}>${c.loc}</button></th>
        <td class="rtt">${c.rttText}</td><td class="loss">${c.lossText}</td>
        <td class="spark-col"><${Spark} key=${c.loc} src=${c} /></td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}
