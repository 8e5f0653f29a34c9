import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { deck, dialog, flash, live, reloadGroup } from '../state.js';
import { splitTargetInput, lineResults, fmtDuration, parseDurationS } from '../format.js';
import { Dialog } from './Dialog.js';

const close = () => (dialog.value = null);

const PASTE_HELP = 'One per line, or separated by commas or spaces: IPv4, IPv6, hostnames, CIDR ranges (up to /24 or /120). # starts a comment.';

/**
 * The "add names that do not resolve yet" checkbox: without it such names are skipped.
 * @param {{checked: boolean, onChange: (v: boolean) => void}} p
 */
function AllowUnresolved({ checked, onChange }) {
  return html`<label class="inline check"><input type="checkbox" checked=${checked}
      onChange=${(/** @type {any} */ e) => onChange(e.currentTarget.checked)} /> Add names that do not resolve yet</label>`;
}

/**
 * What happened to each pasted line.
 * @param {{items: string[], added: any[], skipped: any[]}} p
 */
function Results({ items, added, skipped }) {
  const lines = lineResults(items, added, skipped);
  return html`<div class="results" role="status">
    <p><b>${added.length}</b> added, <b>${skipped.length}</b> skipped.</p>
    <ul class="lines">
      ${lines.map((l) => html`<li class=${l.ok ? 'ok' : 'skip'}><span class="mark" aria-hidden="true">${l.ok ? '✓' : '✕'}</span>
        <code>${l.input}</code> <span class="why">${l.ok ? l.detail : 'skipped: ' + l.detail}</span></li>`)}
    </ul>
  </div>`;
}

/**
 * A form's submit handler that runs fn, with its busy flag and error text.
 * @param {() => Promise<void>} fn
 */
function useSubmit(fn) {
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  /** @param {Event} e */
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErr('');
    try {
      await fn();
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    } finally {
      setBusy(false);
    }
  };
  return { submit, busy, err };
}

/**
 * A pasted-list form's error line and its Cancel / submit buttons.
 * @param {{err: string, busy: boolean, label: string, busyLabel: string}} p
 */
function FormFoot({ err, busy, label, busyLabel }) {
  return html`<p class="err" role="alert">${err}</p>
      <div class="dlg-foot">
        <button type="button" class="btn" onClick=${close}>Cancel</button>
        <button type="submit" class="primary" disabled=${busy}>${busy ? busyLabel : label}</button>
      </div>`;
}

/** "New group": a name, a pasted list and an interval. */
export function NewGroupDialog() {
  const [name, setName] = useState('');
  const [text, setText] = useState('');
  const [interval, setInterval] = useState('1s');
  const [allowUnresolved, setAllowUnresolved] = useState(false);
  const [done, setDone] = useState(/** @type {any} */ (null));
  const { submit, busy, err } = useSubmit(async () => {
    const items = splitTargetInput(text);
    const g = await api('POST', '/api/v1/groups', { name: name.trim(), targets: text, interval, allow_unresolved: allowUnresolved });
    deck.upsert({ ...g, targets: g.targets || [] });
    live.follow([g.id]);
    setDone({ items, added: g.targets || [], skipped: g.skipped || [] });
  });
  if (done)
    return html`<${Dialog} title=${'Created “' + name.trim() + '”'} onClose=${close}>
      <${Results} ...${done} />
      <div class="dlg-foot"><button type="button" class="primary" autofocus onClick=${close}>Done</button></div>
    </${Dialog}>`;
  return html`<${Dialog} title="New group" onClose=${close}>
    <form onSubmit=${submit}>
      <label>Name<input required maxlength="100" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} placeholder="edge routers" /></label>
      <label>Targets<textarea rows="8" value=${text} onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)}
        placeholder=${'192.0.2.1\n2001:db8::1\nrouter1.example.net\n198.51.100.0/28'} aria-describedby="paste-help"></textarea></label>
      <p id="paste-help" class="muted small">${PASTE_HELP}</p>
      <label class="inline">Probe every <select value=${interval} onChange=${(/** @type {any} */ e) => setInterval(e.currentTarget.value)}>
        ${['200ms', '500ms', '1s', '2s', '5s', '10s', '30s', '60s'].map((v) => html`<option value=${v}>${fmtDuration(1000 * parseDurationS(v))}</option>`)}
      </select></label>
      <${AllowUnresolved} checked=${allowUnresolved} onChange=${setAllowUnresolved} />
      <${FormFoot} err=${err} busy=${busy} label="Create group" busyLabel="Creating…" />
    </form>
  </${Dialog}>`;
}

/** "Add targets" to an existing group. @param {{g: import('../live/model.js').GroupModel}} p */
export function AddTargetsDialog({ g }) {
  const [text, setText] = useState('');
  const [allowUnresolved, setAllowUnresolved] = useState(false);
  const [done, setDone] = useState(/** @type {any} */ (null));
  const { submit, busy, err } = useSubmit(async () => {
    const items = splitTargetInput(text);
    const res = await api('POST', `/api/v1/groups/${g.id}/targets`, { targets: text, allow_unresolved: allowUnresolved });
    setDone({ items, added: res.added, skipped: res.skipped });
    reloadGroup(g.id);
  });
  const name = g.meta.peek().name;
  if (done)
    return html`<${Dialog} title=${'Added to “' + name + '”'} onClose=${close}>
      <${Results} ...${done} />
      <div class="dlg-foot">
        <button type="button" class="btn" onClick=${() => { setDone(null); setText(''); }}>Add more</button>
        <button type="button" class="primary" autofocus onClick=${close}>Done</button>
      </div>
    </${Dialog}>`;
  return html`<${Dialog} title=${'Add targets to “' + name + '”'} onClose=${close}>
    <form onSubmit=${submit}>
      <label>Targets<textarea rows="8" required value=${text} onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)} aria-describedby="paste-help"></textarea></label>
      <p id="paste-help" class="muted small">${PASTE_HELP}</p>
      <${AllowUnresolved} checked=${allowUnresolved} onChange=${setAllowUnresolved} />
      <${FormFoot} err=${err} busy=${busy} label="Add" busyLabel="Adding…" />
    </form>
  </${Dialog}>`;
}

/** "Remove unreachable": a dry run shows what would go; confirming does it. @param {{g: import('../live/model.js').GroupModel}} p */
export function PruneDialog({ g }) {
  const [windowS, setWindow] = useState('120s');
  const [minLoss, setMinLoss] = useState('1');
  const [action, setAction] = useState('remove');
  const [preview, setPreview] = useState(/** @type {any} */ (null));
  const [err, setErr] = useState('');
  const [busy, setBusy] = useState(false);
  const body = () => ({ window: windowS, min_loss: Number(minLoss), action });
  const run = async (/** @type {boolean} */ dry) => {
    setBusy(true);
    setErr('');
    try {
      const res = await api('POST', `/api/v1/groups/${g.id}/prune`, { ...body(), dry_run: dry });
      if (dry) setPreview(res);
      else {
        flash(`${res.targets.length} target${res.targets.length === 1 ? '' : 's'} ${action === 'remove' ? 'removed' : 'paused'}`);
        await reloadGroup(g.id);
        close();
      }
    } catch (x) {
      setErr(/** @type {Error} */ (x).message);
    } finally {
      setBusy(false);
    }
  };
  /** @param {(v: string) => void} set */
  const change = (set) => (/** @type {any} */ e) => {
    set(e.currentTarget.value);
    setPreview(null);
  };
  return html`<${Dialog} title=${'Remove unreachable from “' + g.meta.peek().name + '”'} onClose=${close}>
    <div class="form-grid">
      <label>Looking back <select value=${windowS} onChange=${change(setWindow)}>
        ${['60s', '120s', '5m', '15m', '1h', '24h'].map((v) => html`<option value=${v}>${fmtDuration(1000 * parseDurationS(v))}</option>`)}</select></label>
      <label>Loss at least <select value=${minLoss} onChange=${change(setMinLoss)}>
        ${[['1', '100 % (never answered)'], ['0.9', '90 %'], ['0.5', '50 %']].map(([v, l]) => html`<option value=${v}>${l}</option>`)}</select></label>
      <label>Then <select value=${action} onChange=${change(setAction)}>
        <option value="remove">remove them</option><option value="pause">pause them</option></select></label>
    </div>
    <p class="err" role="alert">${err}</p>
    ${preview && html`<div class="results" role="status">
      ${preview.targets.length
        ? html`<p>${preview.targets.length === 1 ? 'This target' : html`These <b>${preview.targets.length}</b> targets`} will be ${action === 'remove' ? 'removed' : 'paused'}:</p>
          <ul class="lines">${preview.targets.map((/** @type {any} */ t) => html`<li class="skip"><code>${t.address}</code>
            <span class="why">${t.sent ? `${t.received}/${t.sent} answered` : 'nothing sent'}${t.errors ? `, ${t.errors} not sent (name does not resolve, or send refused)` : ''} (${Math.round(t.loss * 100)} % unanswered)</span></li>`)}</ul>`
        : html`<p>Nothing matches: every target answered enough in the last ${fmtDuration(1000 * parseDurationS(preview.window))}.</p>`}
    </div>`}
    <div class="dlg-foot">
      <button type="button" class="btn" onClick=${close}>Cancel</button>
      ${!preview
        ? html`<button type="button" class="primary" disabled=${busy} onClick=${() => run(true)}>Preview</button>`
        : html`<button type="button" class="danger" disabled=${busy || !preview.targets.length} onClick=${() => run(false)}>
            ${action === 'remove' ? 'Remove' : 'Pause'} ${preview.targets.length}</button>`}
    </div>
  </${Dialog}>`;
}
