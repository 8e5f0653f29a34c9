import { Component } from 'preact';
import { html } from '../html.js';
import { api } from '../api.js';
import { sparks, flashError } from '../state.js';
import { go } from '../router.js';

/** A row's sparkline canvas; drawn by the page's SparkRegistry, never by a re-render. */
class Spark extends Component {
  componentDidMount() {
    this.off = sparks.register(/** @type {HTMLCanvasElement} */ (this.base), this.props.t);
  }
  componentWillUnmount() {
    this.off && this.off();
  }
  shouldComponentUpdate() {
    return false;
  }
  render() {
    return html`<canvas class="spark" aria-hidden="true"></canvas>`;
  }
}

/**
 * One live row. Every changing value is a signal bound straight into the DOM, so a result
 * updates this row's text nodes and nothing else; the row re-renders only when its props do.
 * @extends {Component<{t: import('../live/model.js').TargetModel, g: import('../live/model.js').GroupModel, canEdit: boolean}>}
 */
export class TargetRow extends Component {
  /** @param {any} next */
  shouldComponentUpdate(next) {
    return next.t !== this.props.t || next.canEdit !== this.props.canEdit;
  }
  render() {
    const { t, g, canEdit } = this.props;
    const open = () => go(`#/target/${encodeURIComponent(g.id)}/${encodeURIComponent(t.id)}`);
    const togglePause = async () => {
      try {
        const res = await api('PATCH', `/api/v1/groups/${g.id}/targets/${t.id}`, { paused: !t.paused.peek() });
        t.update(res);
        t.state.value = res.paused ? 'paused' : 'unknown';
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
    return html`<div class=${t.rowClass} role="row" data-target=${t.id} data-state=${t.state}>
      <span role="cell" class=${t.dot} title=${t.state}></span>
      <span role="cell" class="addr">
        <button type="button" class="link" onClick=${open} title="Live log and last hour">${t.address}</button>
        <small class="ip">${t.ipText}</small>
      </span>
      <span role="cell" class="num rtt" title=${t.errText}>${t.rttText}</span>
      <span role="cell" class="num loss">${t.lossText}</span>
      <span role="cell" class="sparkcell"><${Spark} t=${t} /></span>
      <span role="cell" class="acts">${canEdit &&
        html`<button type="button" class="icon pause" onClick=${togglePause}
            aria-label=${t.pauseLabel} title=${t.pauseLabel}>${t.pauseIcon}</button>
          <button type="button" class="icon remove" onClick=${remove} aria-label=${'Remove ' + t.address.peek()} title="Remove">✕</button>`}</span>
    </div>`;
  }
}
