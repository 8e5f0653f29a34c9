// Browser steps for alerts (issue 22): a webhook channel made in the UI and its "Send test"
// reaching a local HTTP receiver with a valid signature; a rule from the card menu; an
// alert that fires for real — the loopback targets made "degraded" by an RTT threshold no
// loopback probe can stay under (0.001 ms), set in the thresholds editor, so the state
// engine, the rule and the channel run as in production with nothing but 127.0.0.x probed —
// shown as the card's badge, in the tab title, on the Alerts page and as a browser
// notification; resolved by resetting the thresholds; a maintenance window made and
// deleted on the Alerts page; the target page's uptime, smoke chart, state bar and timeline.
import { createServer } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';

const SECRET = 'e2e-webhook-signing-secret';

/**
 * A local HTTP receiver that keeps every webhook body and whether its signature was right.
 * @returns {Promise<{url: string, got: {body: any, signed: boolean}[], close: () => Promise<void>}>}
 */
export async function webhookReceiver() {
  /** @type {{body: any, signed: boolean}[]} */
  const got = [];
  const srv = createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const want = Buffer.from('sha256=' + createHmac('sha256', SECRET).update(raw).digest('hex'));
      const sig = Buffer.from(String(req.headers['x-pingdeck-signature'] || ''));
      let body = null;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        /* kept as null */
      }
      got.push({ body, signed: sig.length === want.length && timingSafeEqual(sig, want) });
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', () => r(null)));
  const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => new Promise((r) => srv.close(() => r())) };
}

/**
 * @typedef {{page: import('playwright-core').Page, srv: {url: string}, step: (name: string, fn: () => Promise<void>) => Promise<void>,
 *   assert: (cond: boolean, msg: string) => void}} Harness
 */

/**
 * Every alert step, on the admin's dashboard with the group `group` of loopback targets, all up.
 * Leaves no rule, alert firing, channel or window behind.
 * @param {Harness} h
 * @param {{group: string, ctx: import('playwright-core').BrowserContext}} o
 */
export async function alertsEndToEnd(h, { group, ctx }) {
  const { page, step, assert } = h;
  const card = page.locator('.card', { has: page.getByRole('heading', { name: group, exact: true }) });
  const hook = await webhookReceiver();
  /** @param {string} state */
  const received = (state) => hook.got.filter((g) => g.body && g.body.state === state && !g.body.test);
  try {
    await step('channels page: a webhook channel, its secret write-only, “Send test” reaches a local receiver signed', async () => {
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByRole('link', { name: 'Notification channels…' }).click();
      await page.getByRole('heading', { name: 'Channels', exact: true }).waitFor();
      const mine = page.getByRole('region', { name: 'Your channels' });
      await mine.getByText('No channels yet.').waitFor();
      await mine.getByRole('button', { name: 'New channel…' }).click();
      const form = mine.getByRole('form', { name: 'New channel' });
      await form.getByLabel('Kind').selectOption('webhook');
      await form.getByLabel('Name').fill('e2e hook');
      await form.getByLabel('URL').fill(hook.url);
      await form.getByLabel(/^Signing secret/).fill(SECRET);
      await form.getByRole('button', { name: 'Create channel' }).click();
      const row = mine.locator('li[data-channel="e2e hook"]');
      await row.getByText('secret: set').waitFor();
      assert(!(await page.content()).includes(SECRET), 'the secret is shown on the page');
      await row.getByRole('button', { name: 'Send test' }).click();
      await row.getByRole('status').filter({ hasText: 'Test sent' }).waitFor();
      assert(hook.got.length === 1 && hook.got[0].signed && hook.got[0].body?.test === true, 'the receiver got: ' + JSON.stringify(hook.got));
      await row.getByRole('button', { name: 'Delivery log' }).click();
      await row.locator('table.deliveries tr[data-status=sent]', { hasText: 'test' }).waitFor();
      // a bad URL is refused with the reason, nothing made
      await mine.getByRole('button', { name: 'New channel…' }).click();
      await form.getByLabel('Name').fill('broken');
      await form.getByLabel('URL').fill('http://no-such-host.invalid/hook');
      await form.getByLabel(/^Signing secret/).fill(SECRET);
      await form.getByRole('button', { name: 'Create channel' }).click();
      await form.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
      await form.getByRole('button', { name: 'Cancel' }).click();
      assert((await mine.locator('li[data-channel]').count()) === 1, 'a refused channel was listed');
      await page.getByRole('link', { name: '← Dashboard' }).click();
      await card.waitFor();
    });

    await step('a rule from the card menu, sending to the channel; muted and unmuted', async () => {
      await card.getByRole('button', { name: 'Actions for ' + group }).click();
      await page.getByRole('menuitem', { name: 'Alert rules…' }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByText('No rules yet').waitFor();
      await dlg.getByLabel('Rule name').fill('loopback slow');
      await dlg.getByLabel('When targets are').selectOption('degraded');
      await dlg.getByLabel('For').fill('1s');
      await dlg.getByLabel(/^e2e hook/).check();
      await dlg.getByRole('button', { name: 'Add rule' }).click();
      const rule = dlg.locator('li[data-rule="loopback slow"]');
      await rule.getByText('degraded or down: ≥ 1 target for 1s').waitFor();
      await rule.getByText('→ e2e hook').waitFor();
      // the mute button: muted for an hour, then not; the rule keeps its settings and channel
      await rule.getByLabel('Mute loopback slow').selectOption({ label: 'for 1h' });
      await rule.locator('.muted-until').waitFor();
      await rule.getByRole('button', { name: 'Unmute' }).click();
      await rule.locator('.muted-until').waitFor({ state: 'detached' });
      await rule.getByText('→ e2e hook').waitFor();
      assert((await dlg.locator('li[data-rule]').count()) === 1, 'rules after muting: ' + (await dlg.locator('li[data-rule]').count()));
      await dlg.getByRole('button', { name: 'Close' }).first().click();
      await dlg.waitFor({ state: 'detached' });
    });

    await step('browser notifications switched on from the Alerts page', async () => {
      await ctx.grantPermissions(['notifications'], { origin: h.srv.url });
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
      await page.getByText('Nothing is firing.').waitFor();
      // keep what the page shows, as the user would see them
      await page.evaluate(() => {
        const N = /** @type {any} */ (window).Notification;
        /** @type {any} */ (window).__shown = [];
        /** @type {any} */ (window).Notification = class extends N {
          /** @param {string} title @param {any} o */
          constructor(title, o) {
            super(title, o);
            /** @type {any} */ (window).__shown.push(title);
          }
        };
      });
      await page.getByLabel(/^Browser notifications/).check();
      assert(await page.getByLabel(/^Browser notifications/).isChecked(), 'the switch did not stay on');
      await page.getByRole('link', { name: '← Dashboard' }).click();
      await card.waitFor();
    });

    await step('an alert fires for real: the card badge, the tab title, the webhook and a browser notification', async () => {
      assert(!/^\(\d+\) /.test(await page.title()), 'the title counts an alert already: ' + (await page.title()));
      await card.getByRole('button', { name: 'Actions for ' + group }).click();
      await page.getByRole('menuitem', { name: 'Alert thresholds…' }).click();
      const dlg = page.getByRole('dialog');
      const rtt = dlg.getByLabel(/^Degraded at RTT/);
      await page.waitForFunction(() => /** @type {HTMLInputElement|null} */ (document.querySelector('dialog input[name=window]'))?.value === '10');
      await rtt.fill('0.001');
      await dlg.getByRole('button', { name: 'Save' }).click();
      await dlg.waitFor({ state: 'detached' });
      await card.locator('.badge.firing', { hasText: '1 alert firing' }).waitFor({ timeout: 60000 });
      await page.waitForFunction(() => document.title === '(1) pingdeck', null, { timeout: 20000 });
      await page.getByRole('link', { name: 'Alerts, 1 firing' }).waitFor();
      const deadline = Date.now() + 30000;
      while (!received('firing').length && Date.now() < deadline) await page.waitForTimeout(250);
      const firing = received('firing');
      assert(firing.length === 1 && firing[0].signed && firing[0].body.rule === 'loopback slow' && firing[0].body.group === group,
        'webhook firings: ' + JSON.stringify(hook.got.map((g) => [g.signed, g.body])));
      await page.waitForFunction(() => (/** @type {any} */ (window).__shown || []).some((/** @type {string} */ t) => t === 'Alert: loopback slow'), null, { timeout: 20000 });
    });

    await step('the Alerts page lists it as firing; the target rows show uptime and a 24 h state bar', async () => {
      await page.getByRole('link', { name: 'Alerts, 1 firing' }).click();
      const fire = page.getByRole('table', { name: 'Firing alerts' });
      await fire.locator('tr[data-alert="loopback slow"]', { hasText: group }).waitFor();
      await page.getByRole('link', { name: '← Dashboard' }).click();
      const row = card.locator('.row[data-target]').first();
      await row.locator('.hist .uptime', { hasText: /%$/ }).waitFor({ timeout: 70000 });
      await row.locator('.hist .statebar .sb').first().waitFor();
    });

    await step('thresholds back to the defaults: the alert resolves once, the badge and count go', async () => {
      await card.getByRole('button', { name: 'Actions for ' + group }).click();
      await page.getByRole('menuitem', { name: 'Alert thresholds…' }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByRole('button', { name: 'Reset to defaults' }).click();
      await page.waitForFunction(() => /** @type {HTMLInputElement|null} */ (document.querySelector('dialog input[name=degraded_rtt_ms]'))?.value === '0');
      await dlg.getByRole('button', { name: 'Close' }).first().click();
      await card.locator('.badge.firing').waitFor({ state: 'detached', timeout: 60000 });
      await page.waitForFunction(() => !/^\(\d+\) /.test(document.title), null, { timeout: 20000 });
      const deadline = Date.now() + 30000;
      while (!received('resolved').length && Date.now() < deadline) await page.waitForTimeout(250);
      assert(received('firing').length === 1 && received('resolved').length === 1 && received('resolved')[0].signed,
        'webhooks: ' + JSON.stringify(hook.got.map((g) => [g.signed, g.body?.state, g.body?.test])));
      await page.waitForFunction(() => (/** @type {any} */ (window).__shown || []).includes('Resolved: loopback slow'), null, { timeout: 20000 });
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByRole('table', { name: 'Resolved alerts' }).locator('tr[data-alert="loopback slow"]').waitFor();
      await page.getByText('Nothing is firing.').waitFor();
    });

    await step('a maintenance window made on the Alerts page, listed as active, deleted', async () => {
      const form = page.getByRole('form', { name: 'New maintenance window' });
      await form.getByLabel('Group', { exact: true }).selectOption({ label: group });
      await form.getByLabel('For', { exact: true }).selectOption({ label: '2h' });
      await form.getByLabel('Comment').fill('e2e router upgrade');
      await form.getByRole('button', { name: 'Add window' }).click();
      const win = page.getByRole('table', { name: 'Maintenance windows' }).locator('tr[data-silence="e2e router upgrade"]');
      await win.waitFor();
      assert((await win.getAttribute('data-phase')) === 'active', 'phase: ' + (await win.getAttribute('data-phase')));
      assert(((await win.textContent()) || '').includes('whole group'), 'scope: ' + (await win.textContent()));
      // the card's menu shows the same window
      await page.getByRole('link', { name: '← Dashboard' }).click();
      await card.getByRole('button', { name: 'Actions for ' + group }).click();
      await page.getByRole('menuitem', { name: 'Maintenance windows…' }).click();
      const dlg = page.getByRole('dialog');
      await dlg.locator('tr[data-silence="e2e router upgrade"]').waitFor();
      await dlg.getByRole('button', { name: 'Delete maintenance window e2e router upgrade' }).click();
      await dlg.getByText('No maintenance windows.').waitFor();
      await dlg.getByRole('button', { name: 'Close' }).first().click();
    });

    await step('target page: uptime, the smoke chart with its range picker, the state bar under it, the state changes', async () => {
      await card.locator('.row[data-target]').first().locator('.hist-link').click();
      const hist = page.getByRole('region', { name: 'History' });
      await hist.locator('.up-box[data-range="24h"] b', { hasText: /%$/ }).waitFor();
      const svg = hist.locator('.smoke svg');
      await svg.waitFor();
      await svg.locator('path.median').first().waitFor({ state: 'attached' });
      assert(((await svg.locator('path.band-outer').getAttribute('d')) || '').startsWith('M'), 'no p10–p90 band');
      // the state bar under the chart went degraded and back
      const bar = hist.locator('.statebar-wrap .statebar');
      await bar.locator('.sb[data-state=degraded]').waitFor();
      await bar.locator('.sb[data-state=up]').first().waitFor();
      const [c, b] = [await svg.boundingBox(), await bar.boundingBox()];
      assert(!!c && !!b && b.y >= c.y + c.height - 1, 'the state bar is not under the chart');
      await hist.getByRole('list', { name: 'State changes' }).locator('li', { hasText: /up\s*→\s*degraded/ }).first().waitFor();
      await hist.getByRole('button', { name: '7d' }).click();
      await hist.getByRole('button', { name: '7d' }).and(page.locator('[aria-pressed=true]')).waitFor();
      await svg.locator('path.median').first().waitFor({ state: 'attached' });
      await page.getByRole('link', { name: '← Dashboard' }).click();
      await card.waitFor();
    });

    await step('clean up: the rule and the channel deleted from the UI', async () => {
      await card.getByRole('button', { name: 'Actions for ' + group }).click();
      await page.getByRole('menuitem', { name: 'Alert rules…' }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByRole('button', { name: 'Delete rule loopback slow' }).click();
      await dlg.getByText('No rules yet').waitFor();
      await dlg.getByRole('button', { name: 'Close' }).first().click();
      await page.getByRole('link', { name: 'Alerts', exact: true }).click();
      await page.getByRole('link', { name: 'Notification channels…' }).click();
      const row = page.locator('li[data-channel="e2e hook"]');
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
      await page.getByRole('link', { name: '← Dashboard' }).click();
      await card.waitFor();
    });
  } finally {
    await hook.close();
  }
}
