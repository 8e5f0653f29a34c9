import { Component } from 'preact';
import { html } from '../html.js';
import { sparks } from '../state.js';

/**
 * A sparkline canvas of a target (its first location) or of one cell; drawn by the page's
 * SparkRegistry, never by a re-render. Give it a key per source: a new source is a new canvas.
 * @extends {Component<{src: import('../sparkline.js').SparkSource, cls?: string}>}
 */
export class Spark extends Component {
  componentDidMount() {
    this.off = sparks.register(/** @type {HTMLCanvasElement} */ (this.base), this.props.src);
  }
  componentWillUnmount() {
    this.off && this.off();
  }
  shouldComponentUpdate() {
    return false;
  }
  render() {
    return html`<canvas class=${this.props.cls || 'spark'} aria-hidden="true"></canvas>`;
  }
}
