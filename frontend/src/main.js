import { render } from 'preact';
import { html } from './html.js';
import { App } from './App.js';
import { checkSession, sparks, live } from './state.js';
import { readColors } from './sparkline.js';
import './styles.css';

readColors();
const scheme = matchMedia('(prefers-color-scheme: dark)');
scheme.addEventListener('change', () => {
  readColors();
  sparks.redrawAll();
});
addEventListener('online', () => live.retryNow());
checkSession();
render(html`<${App} />`, /** @type {HTMLElement} */ (document.getElementById('app')));
