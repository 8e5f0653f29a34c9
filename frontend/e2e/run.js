// Browser tests against the real binary: sign in, paste a group of loopback addresses,
// watch them go green, pause one, pull a report as CSV, survive a server restart, share,
// run accounts (users, forced password change, tokens, sessions ended by a new password),
// agents and locations (a real `pingdeck agent` on the server's bus listener), alerts (a
// channel, a rule, an alert fired and resolved, a maintenance window, the target's history).
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, freePort, startServer, launch, busListener } from './lib.js';
import * as agents from './agents_steps.js';
import * as alerts from './alerts_steps.js';

const PASSWORD = 'e2e-' + Math.random().toString(36).slice(2, 12);
const T = 15000; // generous waits for a shared, slow box (no timing assertions)

let failures = 0;
/** @param {string} name @param {() => Promise<void>} fn */
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${/** @type {Error} */ (e).stack || e}`);
    throw e;
  }
}
/** @param {boolean} cond @param {string} msg */
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const { bin, cleanup } = buildServer();
const dataDir = mkdtempSync(join(tmpdir(), 'pingdeck-ui-data-'));
const port = await freePort();
const bus = await busListener(); // agents connect here
let srv = await startServer({ bin, port, dataDir, password: PASSWORD, args: bus.args });
const browser = await launch();
const page = await browser.ctx.newPage();
page.setDefaultTimeout(T);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
/** @type {string[]} pages and assets (not API answers) that were missing */
const missing = [];
page.on('response', (r) => {
  if (r.status() === 404 && !new URL(r.url()).pathname.startsWith('/api/')) missing.push(r.url());
});
/** @type {string[]} what the Content-Security-Policy blocked */
const blocked = [];
page.on('console', (m) => {
  if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
});
/** @type {string[]} WebSockets the page opened */
const sockets = [];
page.on('websocket', (ws) => sockets.push(ws.url()));

/**
 * Asserts that every element of the locator is drawn inside the container's box.
 * @param {import('playwright-core').Locator} items @param {import('playwright-core').Locator} container
 */
async function assertOnScreen(items, container) {
  const box = await container.boundingBox();
  assert(!!box, 'container not drawn');
  for (const el of await items.all()) {
    const b = await el.boundingBox();
    const text = await el.textContent();
    assert(!!b && !!box && b.width > 0 && b.x >= box.x - 1 && b.x + b.width <= box.x + box.width + 1 && b.y >= box.y - 1,
      `"${text}" is not drawn inside its dialog: ${JSON.stringify(b)} vs ${JSON.stringify(box)}`);
  }
}

/**
 * Signs in as admin from Node (not the page) and returns a fetch bound to that session.
 * @param {string} url
 */
async function adminClient(url) {
  const r = await fetch(url + '/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
  assert(r.ok, 'admin login: ' + r.status);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  return (/** @type {string} */ method, /** @type {string} */ path, /** @type {any} */ body) =>
    fetch(url + path, { method, headers: { Cookie: cookie, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
}

try {
  await step('bad credentials say so', async () => {
    await page.goto(srv.url + '/');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
    assert(sockets.length === 0, 'the sign-in page opened a WebSocket: ' + sockets.join(', '));
  });

  await step('sign in, session kept across a reload', async () => {
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No groups yet').waitFor();
    await page.reload();
    await page.getByText('No groups yet').waitFor();
  });

  await step('new group from a pasted list shows what was added and skipped', async () => {
    await page.getByRole('button', { name: 'New group' }).first().click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Name', { exact: true }).fill('loopback');
    await dlg.getByLabel('Targets').fill('127.0.0.1\n127.0.0.2, 127.0.0.3 # lab\n224.0.0.1\n127.0.0.1');
    await dlg.getByRole('button', { name: 'Create group' }).click();
    await dlg.locator('.results').waitFor();
    const text = (await dlg.locator('.results').textContent()) || '';
    assert(text.includes('3 added, 2 skipped'), 'results: ' + text);
    assert(/✕224\.0\.0\.1 skipped: multicast/.test(text) && /✕127\.0\.0\.1 skipped: duplicate/.test(text), 'per-line results: ' + text);
    await assertOnScreen(dlg.locator('.results li'), dlg);
    await dlg.getByRole('button', { name: 'Done' }).click();
    await page.locator('.card .row[data-target]').nth(2).waitFor();
    const n = await page.locator('.card .row[data-target]').count();
    assert(n === 3, 'expected 3 rows, got ' + n + ': ' + (await page.locator('.card').first().textContent()));
  });

  await step('rows turn green with RTTs', async () => {
    await page.waitForFunction(() => document.querySelectorAll('.row[data-state=up]').length === 3, null, { timeout: 20000 });
    const rtts = await page.locator('.row[data-target] .rtt').allTextContents();
    assert(rtts.every((r) => / ms$/.test(r)), 'RTTs: ' + rtts.join(', '));
    await page.locator('.conn-live').waitFor();
  });
  await step('target detail: live per-probe log and the last hour', async () => {
    await page.getByRole('button', { name: '127.0.0.1', exact: true }).click();
    await page.locator('pre.log', { hasText: 'bytes from 127.0.0.1: icmp_seq=' }).waitFor();
    await page.locator('.detail .chart canvas').first().waitFor();
    await page.getByRole('link', { name: '← Dashboard' }).click();
    await page.locator('.card').waitFor();
  });

  await step('a hostname that does not resolve is refused unless insisted, says so, stays out of the loss, and counts in the tab title (as down: no alert fires)', async () => {
    const gid = await page.locator('.card').first().getAttribute('data-group');
    // the dialog without the checkbox skips it, with the reason
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Add targets…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Targets').fill('nonexistent.invalid');
    await dlg.getByRole('button', { name: 'Add', exact: true }).click();
    await dlg.locator('.results').waitFor();
    let text = (await dlg.locator('.results').textContent()) || '';
    assert(text.includes('0 added, 1 skipped') && /✕nonexistent\.invalid skipped: does not resolve: no such host/.test(text), 'without the checkbox: ' + text);
    await assertOnScreen(dlg.locator('.results li'), dlg);
    await dlg.getByRole('button', { name: 'Done' }).click();
    await dlg.waitFor({ state: 'detached' });

    // the API adds it when the request insists, and says it did not resolve
    const added = await page.evaluate(async (id) => {
      const r = await fetch(`/api/v1/groups/${id}/targets`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ targets: ['nonexistent.invalid'], allow_unresolved: true }) });
      return { status: r.status, body: await r.json() };
    }, gid);
    assert(added.status === 200 && added.body.added.length === 1 && added.body.added[0].unresolved === 'no such host', 'add: ' + JSON.stringify(added));
    const row = page.locator('.row[data-target]', { hasText: 'nonexistent.invalid' });
    await row.locator('.rtt', { hasText: 'no such host' }).waitFor();
    assert((await row.getAttribute('data-state')) === 'down', 'state: ' + (await row.getAttribute('data-state')));
    assert((await row.locator('.loss').textContent()) === '—', 'loss of a target that never sent: ' + (await row.locator('.loss').textContent()));
    await page.waitForFunction(() => document.title === '(1 down) pingdeck'); // no alert fires: the title counts targets down

    // its page says why in the live log, not "timeout"
    await page.getByRole('button', { name: 'nonexistent.invalid', exact: true }).click();
    await page.locator('pre.log', { hasText: 'Not sent: no such host' }).waitFor();
    const log = (await page.locator('pre.log').textContent()) || '';
    assert(!log.includes('timeout'), 'log says timeout: ' + log);
    await page.getByRole('link', { name: '← Dashboard' }).click();
    await page.locator('.card').waitFor();

    await row.getByRole('button', { name: 'Remove nonexistent.invalid' }).click();
    await row.waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.title === 'pingdeck');

    // the dialog with the checkbox adds it, and says per line that it does not resolve yet
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Add targets…' }).click();
    await dlg.getByLabel('Targets').fill('nonexistent.invalid');
    await dlg.getByLabel('Add names that do not resolve yet').check();
    await dlg.getByRole('button', { name: 'Add', exact: true }).click();
    await dlg.locator('.results').waitFor();
    text = (await dlg.locator('.results').textContent()) || '';
    assert(text.includes('1 added, 0 skipped') && text.includes('nonexistent.invalid added, does not resolve yet (no such host)'), 'with the checkbox: ' + text);
    await dlg.getByRole('button', { name: 'Done' }).click();
    await dlg.waitFor({ state: 'detached' });
    await row.locator('.rtt', { hasText: 'no such host' }).waitFor();
    await row.getByRole('button', { name: 'Remove nonexistent.invalid' }).click();
    await row.waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.title === 'pingdeck');
  });

  await step('probe settings: interval, timeout and payload from the card menu; the card shows the interval', async () => {
    await page.locator('.card .interval', { hasText: 'every 1 s' }).waitFor();
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Probe settings…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Probe every').selectOption({ label: '500 ms' });
    await dlg.getByLabel('Timeout').selectOption({ label: '500 ms' });
    await dlg.getByLabel('Payload (bytes)').fill('64');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    await page.locator('.card .interval', { hasText: 'every 500 ms' }).waitFor();
    const g = await page.evaluate(async (id) => (await fetch('/api/v1/groups/' + id)).json(), await page.locator('.card').first().getAttribute('data-group'));
    assert(g.interval_ms === 500 && g.timeout_ms === 500 && g.packet_size === 64, 'saved: ' + JSON.stringify([g.interval_ms, g.timeout_ms, g.packet_size]));
  });

  await step('pause a row', async () => {
    await page.getByRole('button', { name: 'Pause 127.0.0.2' }).click();
    await page.locator('.row[data-state=paused]').waitFor();
    await page.getByRole('button', { name: 'Resume 127.0.0.2' }).waitFor();
  });

  await step('filter box across cards', async () => {
    await page.getByLabel('Filter targets in all cards').fill('127.0.0.3');
    await page.waitForFunction(() => document.querySelectorAll('.row[data-target]').length === 1);
    await page.getByLabel('Filter targets in all cards').fill('');
    await page.waitForFunction(() => document.querySelectorAll('.row[data-target]').length === 3);
  });

  await step('add targets says per line what happened', async () => {
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Add targets…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('Targets').fill('127.0.0.3\nhost!');
    await dlg.getByRole('button', { name: 'Add', exact: true }).click();
    await dlg.locator('.results').waitFor();
    const text = (await dlg.locator('.results').textContent()) || '';
    assert(text.includes('0 added, 2 skipped') && /✕127\.0\.0\.3 skipped: /.test(text), 'results: ' + text);
    await assertOnScreen(dlg.locator('.results li'), dlg);
    await dlg.getByRole('button', { name: 'Done' }).click();
    await dlg.waitFor({ state: 'detached' });
  });

  await step('dialogs close on Escape and keep focus inside', async () => {
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Add targets…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.waitFor();
    for (let i = 0; i < 6; i++) await page.keyboard.press('Tab');
    assert(await page.evaluate(() => !!document.activeElement?.closest('dialog')), 'focus left the dialog');
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
  });

  await step('report page and CSV download', async () => {
    await page.getByRole('button', { name: 'Actions for loopback' }).click();
    await page.getByRole('menuitem', { name: 'Report…' }).click();
    await page.locator('table.stats tbody tr').nth(2).waitFor();
    assert(/#\/report\/[^?]+\?from=\d+&range=120/.test(page.url()), 'no permalink in ' + page.url());
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download CSV' }).click()]);
    const path = await dl.path();
    const csv = readFileSync(path, 'utf8');
    assert(csv.startsWith('target_id,address,ip,sent,received,success_rate'), 'CSV: ' + csv.slice(0, 200));
    assert(csv.trim().split('\n').length === 4, 'CSV rows: ' + csv);
    assert(csv.split('\n')[0].endsWith(',errors,location'), 'CSV header without errors and location last: ' + csv.split('\n')[0]);
    assert(csv.trim().split('\n').slice(1).every((l) => l.endsWith(',all')), 'CSV rows not from all locations: ' + csv);
    const heads = await page.locator('table.stats thead th').allTextContents();
    assert(heads.slice(0, 4).join('|') === 'Target|Sent|Received|Errors', 'report columns: ' + heads.join('|'));
    // the permalink reopens the same window
    const url = page.url();
    await page.goto('about:blank');
    await page.goto(url);
    await page.locator('table.stats tbody tr').nth(2).waitFor();
    assert(page.url() === url, 'permalink moved: ' + page.url());
    // every form of range the API accepts: 5m stays 5 minutes, not the 120 s default
    const five = url.replace(/from=\d+&range=\d+s?/, `from=${Math.floor(Date.now() / 1000) - 300}&range=5m`);
    await page.goto(five);
    await page.getByRole('button', { name: 'last 5 min' }).and(page.locator('[aria-pressed=true]')).waitFor();
    const shown = await page.locator('form.window input.short').inputValue();
    assert(shown === '5m', 'range=5m shows as ' + shown);
    // a phone: nothing scrolls sideways
    await page.setViewportSize({ width: 390, height: 800 });
    await page.locator('table.stats tbody tr').nth(2).waitFor();
    // the chart follows the new width when its ResizeObserver runs: wait for the layout to settle
    const overflow = () => page.evaluate(() => ({
      page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      table: (() => { const w = /** @type {HTMLElement} */ (document.querySelector('.table-wrap')); return w.scrollWidth - w.clientWidth; })(),
    }));
    const fits = await page.waitForFunction(() => {
      const w = /** @type {HTMLElement} */ (document.querySelector('.table-wrap'));
      return document.documentElement.scrollWidth <= document.documentElement.clientWidth && w.scrollWidth <= w.clientWidth;
    }, null, { timeout: 5000 }).then(() => true, () => false);
    assert(fits, 'sideways scroll at 390 px: ' + JSON.stringify(await overflow()));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('link', { name: '← Dashboard' }).click();
    await page.locator('.card').waitFor();
  });

  await step('reconnects after the server restarts', async () => {
    await srv.stop();
    await page.locator('.conn-reconnecting, .conn-offline').first().waitFor();
    // after 3 s down the cards say their figures are stale, and since when
    await page.locator('.card.stale .badge.stale', { hasText: /stale since \d\d:\d\d:\d\d/ }).first().waitFor();
    srv = await startServer({ bin, port, dataDir, password: PASSWORD, args: bus.args });
    await page.locator('.conn-live').waitFor({ timeout: 40000 });
    await page.locator('.card.stale').first().waitFor({ state: 'detached' });
    // rows keep updating after the restart
    const before = await page.locator('.row[data-target]').first().getAttribute('data-state');
    assert(before !== null, 'rows gone after restart');
    await page.waitForFunction(() => document.querySelectorAll('.row[data-state=up]').length >= 2, null, { timeout: 20000 });
  });

  await step('share with a user, who opens it from the bell and adds it to their dashboard', async () => {
    const made = await page.evaluate(async () => {
      const r = await fetch('/api/v1/users', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'bob', password: 'bob-password-1' }) });
      return r.status;
    });
    assert(made === 201, 'create bob: ' + made);
    await page.locator('.card').first().getByRole('button', { name: 'Share' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByLabel('User', { exact: true }).fill('bob');
    await dlg.getByRole('button', { name: 'Share', exact: true }).click();
    await dlg.locator('.shares li', { hasText: 'bob' }).waitFor();
    await dlg.getByText('Ask someone to look…').click();
    await dlg.getByLabel('To', { exact: true }).fill('bob');
    await dlg.getByLabel('Message').fill('127.0.0.2 looks slow');
    await dlg.getByRole('button', { name: 'Send' }).click();
    await dlg.getByText('Sent to bob.').waitFor();
    await dlg.getByLabel(/^Public/).check();
    await page.locator('.card .badge.public').waitFor();
    await dlg.getByLabel(/^Public/).uncheck();
    await page.locator('.card .badge.private').waitFor();
    await dlg.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Notifications, 2 unread' }).click();
    await page.locator('.note', { hasText: '127.0.0.2 looks slow' }).waitFor();
    const lines = await page.locator('.note').evaluateAll((els) =>
      els.map((e) => e.getBoundingClientRect().height / /** @type {Element} */ (e.querySelector('.note-line')).getBoundingClientRect().height));
    assert(lines.every((n) => n < 3), 'notification heights in lines: ' + lines.join(', '));
    await page.locator('.note', { hasText: 'shared' }).click();
    await page.getByRole('button', { name: 'Add to my dashboard' }).click();
    await page.locator('.card .badge.shared', { hasText: 'viewer' }).waitFor();
    await page.getByRole('button', { name: 'Notifications' }).waitFor();
    await page.reload();
    await page.locator('.card', { hasText: 'loopback' }).waitFor(); // pinned: still there
    await page.locator('.row[data-state=up]').first().waitFor();
    // the owner takes the share back: bob's card goes at once, not frozen green
    const admin = await adminClient(srv.url);
    const gid = await page.locator('.card').first().getAttribute('data-group');
    const revoked = await admin('DELETE', `/api/v1/groups/${gid}/shares/bob`);
    assert(revoked.status === 204 || revoked.status === 200, 'revoke: ' + revoked.status);
    await page.locator('.card', { hasText: 'loopback' }).waitFor({ state: 'detached', timeout: 5000 });
    // its old notification no longer offers to add a card bob cannot see
    await page.getByRole('button', { name: 'Notifications' }).click();
    await page.locator('.note', { hasText: 'shared' }).click();
    await page.getByRole('alert').filter({ hasText: 'no longer shared with you' }).waitFor();
    assert((await page.getByRole('button', { name: 'Add to my dashboard' }).count()) === 0, 'offers to add an invisible card');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  /** @param {import('playwright-core').Page} p @param {string} user @param {string} pass */
  const signIn = async (p, user, pass) => {
    await p.getByLabel('Username').fill(user);
    await p.getByLabel('Password').fill(pass);
    await p.getByRole('button', { name: 'Sign in' }).click();
  };

  await step('admin manages users: create, reset a password (forced new one at sign-in), make and unmake admin', async () => {
    await signIn(page, 'admin', PASSWORD);
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    await page.locator('tr[data-user=bob]').waitFor();
    await page.getByRole('button', { name: 'New user' }).click();
    let dlg = page.getByRole('dialog');
    await dlg.getByLabel('Username').fill('carol');
    await dlg.getByLabel('Password', { exact: true }).fill('carol-password-1');
    await dlg.getByRole('button', { name: 'Create' }).click();
    const carol = page.locator('tr[data-user=carol]');
    await carol.waitFor();
    await carol.getByRole('button', { name: 'Reset password' }).click();
    dlg = page.getByRole('dialog');
    await dlg.getByText('must choose a new password at their next sign-in').waitFor();
    await dlg.getByLabel('New password').fill('carol-temporary-1');
    await dlg.getByRole('button', { name: 'Set password' }).click();
    await carol.getByText('must change password').waitFor();
    await carol.getByRole('button', { name: 'Make admin' }).click();
    await carol.locator('td', { hasText: /^yes$/ }).waitFor();
    await carol.getByRole('button', { name: 'Remove admin' }).click();
    await carol.locator('td', { hasText: /^no$/ }).waitFor();
    // the last administrator cannot step down, and is told why
    await page.locator('tr[data-user=admin]').getByRole('button', { name: 'Remove admin' }).click();
    await page.getByRole('alert').filter({ hasText: 'last administrator' }).waitFor();
    // the delete dialog says what goes with the account; cancelled here
    await page.locator('tr[data-user=bob]').getByRole('button', { name: 'Delete' }).click();
    dlg = page.getByRole('dialog');
    await dlg.getByText(/with no groups, 0 API tokens and their sessions\?/).waitFor();
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();

    await signIn(page, 'carol', 'carol-temporary-1');
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await page.getByLabel('Password you signed in with').fill('carol-temporary-1');
    await page.getByLabel('New password', { exact: true }).fill('carol-own-pass-1');
    await page.getByLabel('New password again').fill('carol-own-pass-1');
    await page.getByRole('button', { name: 'Set password' }).click();
    // still at #/users, where the admin signed out: to a non-admin that page does not exist
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    assert((await page.getByRole('link', { name: 'Users' }).count()) === 0, 'a non-admin sees the Users link');
    await page.getByRole('link', { name: 'Back to the dashboard' }).click();
    await page.getByText('No groups yet').waitFor();
  });

  await step('tokens page: a new token is shown once with a copy button, listed, and revoked', async () => {
    await browser.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'API tokens' }).waitFor();
    await page.getByText('You have no API tokens.').waitFor();
    await page.getByLabel('Name').fill('grafana');
    await page.getByLabel('Expires').selectOption({ label: '30 days' });
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.getByRole('region', { name: 'New token' });
    const token = (await secret.locator('code.token').textContent()) || '';
    assert(/^pdk_[A-Za-z0-9_-]{20,}$/.test(token), 'token shown: ' + token);
    await secret.getByText('It will not be shown again').waitFor();
    await secret.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Token copied.').waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    assert(copied === token, 'clipboard holds ' + copied);
    const row = page.locator('tr[data-token=grafana]');
    await row.waitFor();
    await page.reload();
    await row.waitFor();
    assert(!(await page.content()).includes(token), 'the token is shown again after a reload');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('You have no API tokens.').waitFor();
  });

  await step('a password change signs out the other browser at once; this one stays', async () => {
    const other = await launch();
    try {
      const page2 = await other.ctx.newPage();
      page2.setDefaultTimeout(T);
      await page2.goto(srv.url + '/');
      await signIn(page2, 'carol', 'carol-own-pass-1');
      await page2.getByText('No groups yet').waitFor();
      await page2.locator('.conn-live').waitFor();
      await page.getByRole('button', { name: /^Change password/ }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByLabel('Current password').fill('carol-own-pass-1');
      await dlg.getByLabel('New password', { exact: true }).fill('carol-final-pass-1');
      await dlg.getByLabel('New password again').fill('carol-final-pass-1');
      await dlg.getByRole('button', { name: 'Change password' }).click();
      await page.getByText('Password changed. Your other sessions are signed out.').waitFor();
      await page2.getByRole('button', { name: 'Sign in' }).waitFor(); // its stream closed with 4401
      await page.reload();
      await page.getByRole('heading', { name: 'API tokens' }).waitFor(); // still signed in
    } finally {
      await other.close();
    }
  });

  // agents and locations: carol (not an administrator) is signed in here
  const h = { page, get srv() { return srv; }, step, assert, adminClient };
  await agents.agentsHiddenFromNonAdmins(h);
  {
    const plainDir = mkdtempSync(join(tmpdir(), 'pingdeck-ui-data-'));
    const plain = await startServer({ bin, port: await freePort(), dataDir: plainDir, password: PASSWORD });
    const other = await launch();
    try {
      const p = await other.ctx.newPage();
      p.setDefaultTimeout(T);
      await agents.agentsNeedBusListener(h, { page: p, url: plain.url, password: PASSWORD });
    } finally {
      await other.close();
      await plain.stop();
      rmSync(plainDir, { recursive: true, force: true });
    }
  }
  await step('admin signs in again; every row of “loopback” probing', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, 'admin', PASSWORD);
    await page.getByRole('button', { name: 'Resume 127.0.0.2' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.row[data-state=up]').length === 3);
  });
  await alerts.alertsEndToEnd(h, { group: 'loopback', ctx: browser.ctx });
  const credential = await agents.createAgent(h, { name: 'fra-1', location: 'fra' });
  await agents.groupLocationsMatrix(h, { group: 'loopback', location: 'fra' });
  await agents.agentProbesLive(h, { bin, busUrl: bus.url, credential, group: 'loopback', location: 'fra' });
  await agents.reportByLocation(h, { group: 'loopback', location: 'local' });
  await agents.revokeAgent(h, { name: 'fra-1' });

  await step('sign out', async () => {
    if (await page.getByRole('button', { name: 'Sign in' }).count()) return;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });
  assert(!pageErrors.length, 'page errors: ' + pageErrors.join('\n'));
  assert(!missing.length, 'missing (404): ' + missing.join(', '));
  assert(!blocked.length, 'blocked by the CSP: ' + blocked.join('\n'));
} catch {
  if (!failures) failures++;
  console.log('--- server log (tail) ---\n' + srv.log().split('\n').slice(-30).join('\n'));
  if (pageErrors.length) console.log('--- page errors ---\n' + pageErrors.join('\n'));
} finally {
  await browser.close();
  await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
  cleanup();
}
if (failures) {
  console.log(`e2e: ${failures} failed`);
  process.exit(1);
}
console.log('e2e: all passed');
