import { h } from 'preact';
import htm from 'htm';

/** Tagged-template JSX replacement: html`<div class=${c}>…</div>`. */
export const html = htm.bind(h);
