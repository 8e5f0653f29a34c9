import { Component } from 'preact';
import { html } from '../html.js';
import { api } from '../api.js';
import { flashError } from '../state.js';
import { go } from '../router.js';
import { Spark } from './Spark.js';
import { StateBar } from './StateBar.js';
import { groupHistory } from '../grouphistory.js';
import { fmtUptime } from '../statebar.js';

/**
 * A row's uptime over 24 h and its 24 h state bar, from the card's history (read every
 * minute while the card is shown); a link to the target's page.
 * @param {{gid: string, tid: string, address: string}} p
 */
function RowHistory({ gid, tid, address }) {
  const h = groupHistory(gid).value;
  const up = h?.uptime[tid]?.['24h'];
  const segs = h?.bar?.targets[tid];
  return html`<a class="hist-link" href=${`#/target/${encodeURIComponent(gid)}/${encodeURIComponent(tid)}`}
      title=${'Uptime over 24 h: ' + fmtUptime(up) + ' — open the history of ' + address}>
    <span class="uptime">${h ? fmtUptime(up) : ''}</span>
    ${h?.bar && html`<${StateBar} small segments=${segs} from=${h.bar.from} to=${h.bar.to} label=${'States of ' + address + ' over 24 h'} />`}
  </a>`;
}

/**
 * One matrix cell: the RTT and last-minute loss of a target from one location, coloured by
 * its state (its sparkline shows on hover, see CellPopover). data-sel marks the location a
 * phone shows.
 * @param {import('../live/cell.js').CellModel} c @param {boolean} sel
 */
function matrixCell(c, sel) {
  return html`<span role="cell" key=${c.loc} class=${c.cls} data-loc=${c.loc} data-sel=${sel ? '' : undefined}>
    <span class="c-rtt">${c.rttText}</span><span class="c-loss">${c.lossText}</span>
  </span>`;
}

/**
 * One live row. Every changing value is a signal bound straight into the DOM, so a result
 * updates this row's text nodes and nothing else; the row re-renders only when its props do.
 * A group probed from several locations gets one cell per location instead of the RTT,
 * loss and sparkline columns; `sel` is the location a phone shows.
 * @extends {Component<{t: import('../live/model.js').TargetModel, g: import('../live/model.js').GroupModel, canEdit: boolean, locs: string[], sel: string}>}
 */
export class TargetRow extends Component {
  /** @param {any} next */
  shouldComponentUpdate(next) {
    const p = this.props;
    return next.t !== p.t || next.canEdit !== p.canEdit || next.locs !== p.locs || next.sel !== p.sel;
  }
  render() {
    const { t, g, canEdit, locs, sel } = this.props;
    const open = () => go(`#/target/${encodeURIComponent(g.id)}/${encodeURIComponent(t.id)}`);
    const togglePause = async () => {
      try {
        t.update(await api('PATCH', `/api/v1/groups/${g.id}/targets/${t.id}`, { paused: !t.paused.peek() }));
      } catch (e) {
        flashError(e);
      }
    };
    const remove = async () => {
      try {
        await api('DELETE', `/api/v1/groups/${g.id}/targets/${t.id}`);
        g.removeTarget(t.id);
      } catch (e) {
        flashError(e);
      }
    };
    const matrix = locs.length > 1;
    return html`<div class=${t.rowClass} role="row" data-target=${t.id} data-state=${t.state}>
      <span role="cell" class=${t.dot} title=${t.state}></span>
      <span role="cell" class="addr">
        <button type="button" class="link" onClick=${open} title="Live log and last hour">${t.address}</button>
        <small class="ip">${t.ipText}</small>
      </span>
      ${matrix
        ? t.cellList.map((c) => matrixCell(c, c.loc === sel))
        : html`<span role="cell" class="num rtt" title=${t.errText}>${t.rttText}</span>
          <span role="cell" class="num loss">${t.lossText}</span>
          <span role="cell" class="sparkcell"><${Spark} key=${t.cellList[0].loc} src=${t} /></span>`}
      <span role="cell" class="hist"><${RowHistory} gid=${g.id} tid=${t.id} address=${t.address.peek()} /></span>
      <span role="cell" class="acts">${canEdit &&
        html`<button type="button" class="icon pause" onClick=${togglePause}
            aria-label=${t.pauseLabel} title=${t.pauseLabel}>${t.pauseIcon}</button>
          <button type="button" class="icon remove" onClick=${remove} aria-label=${'Remove ' + t.address.peek()} title="Remove">✕</button>`}</span>
    </div>`;
  }
}
