import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';

/**
 * Where a group is probed from: a checkbox per location the server knows (GET
 * /api/v1/locations), plus any the group has that the server no longer lists. The order
 * kept is the group's, new ones after it (the first is the one the card shows first).
 * @param {{value: string[], onChange: (v: string[]) => void}} p
 */
export function LocationPicker({ value, onChange }) {
  const [known, setKnown] = useState(/** @type {any[]|null} */ (null));
  const [err, setErr] = useState('');
  useEffect(() => {
    let gone = false;
    api('GET', '/api/v1/locations').then(
      (r) => !gone && setKnown(r.locations || []),
      (e) => !gone && setErr(e.message),
    );
    return () => {
      gone = true;
    };
  }, []);
  if (err) return html`<p class="muted">Locations: ${err}</p>`;
  if (!known) return html`<p class="muted">Loading locations…</p>`;
  const names = known.map((l) => l.name);
  const all = [...names, ...value.filter((v) => !names.includes(v))];
  /** @param {string} name @param {boolean} on */
  const toggle = (name, on) => onChange(on ? [...value, name] : value.filter((v) => v !== name));
  return html`<fieldset class="locations">
    <legend>Probe from</legend>
    ${all.map((name) => {
      const l = known.find((k) => k.name === name);
      const what = !l ? 'not known to the server any more' : l.kind === 'server' ? 'this server' : 'agent' + (l.agent ? ' ' + l.agent : '');
      return html`<label class="inline check" key=${name}>
        <input type="checkbox" name="location" value=${name} checked=${value.includes(name)}
          onChange=${(/** @type {any} */ e) => toggle(name, e.currentTarget.checked)} />
        <b>${name}</b> <span class="muted">${what}${l && !l.online ? ', offline' : ''}</span>
      </label>`;
    })}
    ${!value.length && html`<p class="err">Choose at least one location.</p>`}
  </fieldset>`;
}

/**
 * The locations to send with a group's PATCH, or undefined when they did not change (so
 * an older server, which knows no `locations`, is not sent it).
 * @param {string[]|undefined} before the group's locations
 * @param {string[]} after the ticked ones
 */
export function locationsChange(before, after) {
  const b = before || [];
  return after.length === b.length && after.every((x, i) => x === b[i]) ? undefined : after;
}
