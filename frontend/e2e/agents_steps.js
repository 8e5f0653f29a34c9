// Browser steps for issue 20 (agents, locations, the target × location matrix), which
// run.js calls against the real binary. Each function takes the harness run.js has:
//   h = { page, srv, step, assert, adminClient }
// page: a Playwright page signed in (as the step says); srv: startServer()'s result (its
// bus must listen for agents, --nats-listen, or creating one answers 409); step/assert/
// adminClient: run.js's. Only agentProbesLive runs an agent process; in the other steps an
// agent's location is offline throughout, which is what they check the cells say. Each
// step leaves the group as it found it.
import { readFileSync } from 'node:fs';
import { startAgent } from './lib.js';

/**
 * @typedef {object} Harness
 * @property {import('playwright-core').Page} page
 * @property {{url: string}} srv
 * @property {(name: string, fn: () => Promise<void>) => Promise<void>} step
 * @property {(cond: boolean, msg: string) => void} assert
 * @property {(url: string) => Promise<(method: string, path: string, body?: any) => Promise<Response>>} adminClient
 */

/**
 * Signed in as an administrator: creates agent `name` at `location` from the Agents page;
 * the credential is shown once, copied and downloaded as <location>.creds, with the command
 * to run; the list shows the agent offline (it never connected); a reload does not show the
 * credential again.
 * @param {Harness} h @param {{name?: string, location?: string}} [o]
 * @returns {Promise<string>} the credential as downloaded
 */
export async function createAgent(h, o = {}) {
  const { page, step, assert } = h;
  const name = o.name || 'fra-1';
  const location = o.location || 'fra';
  let downloaded = '';
  await step(`admin creates agent ${name} at ${location}: credential shown once, downloaded as ${location}.creds`, async () => {
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    const form = page.getByRole('form', { name: 'New agent' });
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Location').fill(location);
    await form.getByRole('button', { name: 'New agent' }).click();
    const secret = page.getByRole('region', { name: 'New agent credential' });
    const failed = page.locator('main p.err[role=alert]:not(:empty)');
    await secret.or(failed).first().waitFor();
    if (await failed.count()) throw new Error('creating an agent failed: ' + (await failed.first().textContent()));
    const credential = (await secret.locator('pre.creds').textContent()) || '';
    assert(credential.trim().length > 20, 'credential shown: ' + credential);
    const command = (await secret.locator('code.command').textContent()) || '';
    assert(command.includes('pingdeck agent') && command.includes(`--credentials ${location}.creds`), 'command: ' + command);
    await secret.getByText('will not be shown again').waitFor();
    const [dl] = await Promise.all([page.waitForEvent('download'), secret.getByRole('button', { name: `Download ${location}.creds` }).click()]);
    assert(dl.suggestedFilename() === `${location}.creds`, 'downloaded as ' + dl.suggestedFilename());
    const saved = readFileSync(/** @type {string} */ (await dl.path()), 'utf8');
    assert(saved === credential, 'the downloaded file is not the credential shown');
    downloaded = saved;
    const row = page.locator(`tr[data-agent="${name}"]`);
    await row.waitFor();
    assert(((await row.locator('td').nth(0).textContent()) || '').trim() === location, 'location column: ' + (await row.textContent()));
    await row.locator('.status', { hasText: 'offline' }).waitFor();
    await secret.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    await row.waitFor();
    assert(!(await page.content()).includes(credential.trim().split('\n')[1] || credential.trim()), 'the credential is shown again after a reload');
  });
  return downloaded;
}

/**
 * Signed in as the owner of card `group`: probes it from `location` too (through the API;
 * the dialog is groupLocationsMatrix's), whose cells say "offline"; then runs a real
 * `pingdeck agent` with the credential the Agents page gave: its cells show RTTs that keep
 * changing (live) and the column loses its offline mark. Killed with SIGKILL (it tells
 * nobody), its cells say "offline" again within ~15 s, the server's cells keep their RTTs,
 * and no cell of the agent's ever said "timeout" or went down on the way. The agent is
 * stopped and the group probed from where it was before.
 * @param {Harness} h
 * @param {{bin: string, busUrl: string, credential: string, group?: string, location?: string}} o
 */
export async function agentProbesLive(h, o) {
  const { page, step, assert } = h;
  const group = o.group || 'loopback';
  const location = o.location || 'fra';
  const card = page.locator('.card', { has: page.getByRole('heading', { name: group, exact: true }) });
  const cellsOf = `.card-body.matrix .row[data-target] .cell[data-loc="${location}"]`;
  await step(`a real agent at ${location}: its cells go from offline to live RTTs, and back to offline (never timeout) when it is killed`, async () => {
    await page.goto(h.srv.url + '/#/');
    await card.locator('.row[data-state=up]').first().waitFor();
    const gid = /** @type {string} */ (await card.getAttribute('data-group'));
    /** @param {string[]|null} locs @returns {Promise<string[]>} */
    const locations = (locs) => page.evaluate(async ([id, l]) => {
      const r = l
        ? await fetch('/api/v1/groups/' + id, { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ locations: l }) })
        : await fetch('/api/v1/groups/' + id);
      if (!r.ok) throw new Error(`group ${id}: ${r.status} ${await r.text()}`);
      return (await r.json()).locations;
    }, /** @type {const} */ ([gid, locs]));
    const before = await locations(null);
    assert(!before.includes(location), `“${group}” is already probed from ${location}: ${before}`);
    await locations([...before, location]);
    /** @type {ReturnType<typeof startAgent>|null} */
    let agent = null;
    try {
      // not running yet: a matrix whose cells there say offline
      await card.locator('.card-body.matrix').waitFor();
      const rows = card.locator('.row[data-target]');
      const n = await rows.count();
      assert(n > 0, 'no rows');
      await page.waitForFunction(([sel, count]) => {
        const cells = [...document.querySelectorAll(sel)];
        return cells.length === count && cells.every((c) => c.classList.contains('cell-offline') && /^offline\s*—$/.test((c.textContent || '').trim()));
      }, /** @type {const} */ ([cellsOf, n]));
      // from here on, any cell of the agent's that says timeout or goes down is recorded
      await page.evaluate(([sel]) => {
        /** @type {string[]} */
        const seen = [];
        /** @type {any} */ (window).__agentCells = seen;
        const look = () => {
          for (const c of document.querySelectorAll(sel)) {
            const t = (c.textContent || '').trim();
            if (/timeout/.test(t) || c.classList.contains('cell-down')) seen.push(c.className + ': ' + t);
          }
        };
        new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['class'] });
      }, [cellsOf]);

      agent = startAgent({ bin: o.bin, server: o.busUrl, credential: o.credential, location });
      // connected: every cell of its location shows an RTT, and the column is not offline
      await page.waitForFunction(([sel, count]) => {
        const cells = [...document.querySelectorAll(sel)];
        return cells.length === count && cells.every((c) => !c.classList.contains('cell-offline') && / ms$/.test(c.querySelector('.c-rtt')?.textContent || ''));
      }, /** @type {const} */ ([cellsOf, n]), { timeout: 30000 });
      await card.locator(`.row.head .loc-col[data-loc="${location}"] .off-mark`).waitFor({ state: 'detached' });
      // live: the figures keep changing while it probes
      const first = await card.locator(`.row[data-target] .cell[data-loc="${location}"] .c-rtt`).allTextContents();
      await page.waitForFunction(([sel, was]) => {
        const now = [...document.querySelectorAll(sel + ' .c-rtt')].map((e) => e.textContent);
        return now.length === was.length && now.some((t, i) => t !== was[i]) && now.every((t) => / ms$/.test(t || ''));
      }, /** @type {const} */ ([cellsOf, first]));
      // at 1280 px every RTT fits its cell (none cut to "0.04…")
      const cut = await page.evaluate(() => [...document.querySelectorAll('.card-body.matrix .c-rtt')]
        .filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent));
      assert(cut.length === 0, 'RTTs cut short in their cells: ' + cut.join(', '));
      const agents = await page.evaluate(async () => (await (await fetch('/api/v1/agents')).json()).agents);
      const mine = agents.find((/** @type {any} */ a) => a.location === location);
      assert(mine && mine.online && mine.connected && mine.targets === n, 'the Agents API says: ' + JSON.stringify(mine));

      // killed: offline again within ~15 s (10 s of silence), the server's own cells unmoved
      await agent.stop('SIGKILL');
      assert(!agent.running(), 'the agent still runs after SIGKILL');
      const killed = Date.now();
      await page.waitForFunction(([sel, count]) => {
        const cells = [...document.querySelectorAll(sel)];
        return cells.length === count && cells.every((c) => c.classList.contains('cell-offline') && /^offline\s*—$/.test((c.textContent || '').trim()));
      }, /** @type {const} */ ([cellsOf, n]), { timeout: 15000 });
      console.log(`     (${location} said offline ${((Date.now() - killed) / 1000).toFixed(1)} s after the kill)`);
      await card.locator(`.row.head .loc-col[data-loc="${location}"] .off-mark`, { hasText: 'offline' }).waitFor();
      for (let i = 0; i < n; i++) {
        await rows.nth(i).locator(`.cell[data-loc="${before[0]}"] .c-rtt`, { hasText: / ms$/ }).waitFor();
        assert((await rows.nth(i).getAttribute('data-state')) === 'up', 'a row is ' + (await rows.nth(i).getAttribute('data-state')) + ' with its agent offline');
      }
      const seen = await page.evaluate(() => /** @type {any} */ (window).__agentCells);
      assert(seen.length === 0, `a cell of ${location} said timeout or went down: ${seen.slice(0, 5).join(' | ')}`);
    } catch (e) {
      if (!agent) throw e;
      throw new Error(`${/** @type {Error} */ (e).stack || e}\n--- agent log ---\n${agent.log()}`);
    } finally {
      if (agent) {
        await agent.stop('SIGKILL');
        agent.cleanup();
      }
      await locations(before);
      await card.locator('.card-body.matrix').waitFor({ state: 'detached' });
    }
  });
}

/**
 * Signed in as the owner of card `group` (probed from the server's own location only):
 * ticks `location` in its probe settings; the card becomes a matrix with a column per
 * location, the agent's marked offline and its cells saying "offline" (never "timeout",
 * never a loss) while the server's cells show RTTs; a cell's sparkline shows on hover; on a
 * phone one location shows at a time with a selector and nothing scrolls sideways; the
 * target page lists both locations. Then unticks it again: the card is as before.
 * @param {Harness} h @param {{group?: string, location?: string}} [o]
 */
export async function groupLocationsMatrix(h, o = {}) {
  const { page, step, assert } = h;
  const group = o.group || 'loopback';
  const location = o.location || 'fra';
  const card = page.locator('.card', { has: page.getByRole('heading', { name: group, exact: true }) });
  await step(`tick ${location} on “${group}”: a matrix with an offline column that never says timeout`, async () => {
    await page.goto(h.srv.url + '/#/');
    await card.locator('.row[data-state=up]').first().waitFor();
    await page.getByRole('button', { name: 'Actions for ' + group }).click();
    await page.getByRole('menuitem', { name: 'Probe settings…' }).click();
    const dlg = page.getByRole('dialog');
    const boxes = dlg.locator('fieldset.locations');
    await boxes.waitFor();
    const own = (await boxes.locator('input[type=checkbox]:checked').evaluateAll((els) => els.map((e) => /** @type {HTMLInputElement} */ (e).value)));
    assert(own.length === 1, 'checked before: ' + own.join(','));
    // none ticked is refused before it reaches the server
    await boxes.locator(`input[value="${own[0]}"]`).uncheck();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.getByRole('alert').filter({ hasText: 'at least one location' }).waitFor();
    await boxes.locator(`input[value="${own[0]}"]`).check();
    await boxes.locator(`input[value="${location}"]`).check();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });

    const body = card.locator('.card-body.matrix');
    await body.waitFor();
    const heads = await body.locator('.row.head .loc-col').evaluateAll((els) => els.map((e) => /** @type {HTMLElement} */ (e).dataset.loc));
    assert(heads.join(',') === `${own[0]},${location}`, 'location columns: ' + heads.join(','));
    await body.locator(`.loc-col[data-loc="${location}"] .off-mark`, { hasText: 'offline' }).waitFor();
    const rows = body.locator('.row[data-target]');
    await page.waitForFunction(
      ([loc]) => {
        const cells = [...document.querySelectorAll(`.card-body.matrix .row[data-target] .cell[data-loc="${loc}"]`)];
        return cells.length > 0 && cells.every((c) => c.classList.contains('cell-offline'));
      },
      [location],
      { timeout: 15000 },
    );
    const n = await rows.count();
    for (let i = 0; i < n; i++) {
      const row = rows.nth(i);
      const off = ((await row.locator(`.cell[data-loc="${location}"]`).textContent()) || '').trim();
      assert(/^offline\s*—$/.test(off), `the ${location} cell says "${off}", not offline`);
      assert(!off.includes('timeout'), 'an offline cell says timeout');
      await row.locator(`.cell[data-loc="${own[0]}"] .c-rtt`, { hasText: / ms$/ }).waitFor();
      const state = await row.getAttribute('data-state');
      assert(state === 'up', 'a row with an offline location is ' + state);
    }
    // the tab title counts the rows down (from anywhere), and these are not
    await page.waitForFunction(() => {
      const n = document.querySelectorAll('.row[data-state=down], .row[data-state=partial]').length;
      return document.title === (n ? `(${n} down) pingdeck` : 'pingdeck');
    });

    // the sparkline of one cell on hover
    await rows.first().locator(`.cell[data-loc="${own[0]}"]`).hover();
    const pop = page.getByRole('tooltip');
    await pop.locator('canvas').waitFor();
    assert(((await pop.textContent()) || '').includes(`from ${own[0]}`), 'popover: ' + (await pop.textContent()));
    await page.mouse.move(2, 2);
    await pop.waitFor({ state: 'detached' });

    // a phone: one location at a time, picked on the card; nothing scrolls sideways
    await page.setViewportSize({ width: 390, height: 800 });
    const pick = card.getByLabel('Location shown of ' + group);
    await pick.waitFor();
    assert((await rows.first().locator('.cell:visible').count()) === 1, 'a phone shows several locations');
    await pick.selectOption(location);
    await rows.first().locator(`.cell[data-loc="${location}"]:visible`, { hasText: 'offline' }).waitFor();
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(sideways <= 0, 'sideways scroll at 390 px: ' + sideways);
    await page.setViewportSize({ width: 1280, height: 800 });

    // the target page: every location with its own figures
    await rows.first().locator('.addr button').click();
    const byLoc = page.getByRole('region', { name: 'By location' });
    await byLoc.locator(`tr[data-loc="${own[0]}"] .rtt`, { hasText: / ms$/ }).waitFor();
    await byLoc.locator(`tr[data-loc="${location}"] .rtt`, { hasText: 'offline' }).waitFor();
    await page.getByRole('link', { name: '← Dashboard' }).click();
  });

  await step(`untick ${location}: “${group}” is a one-location card again`, async () => {
    await page.getByRole('button', { name: 'Actions for ' + group }).click();
    await page.getByRole('menuitem', { name: 'Probe settings…' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.locator(`fieldset.locations input[value="${location}"]`).uncheck();
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'detached' });
    await card.locator('.card-body.matrix').waitFor({ state: 'detached' });
    await card.locator('.row[data-target] .rtt', { hasText: / ms$/ }).first().waitFor();
  });
}

/**
 * Signed in, on any page, with card `group`: its report narrowed to one location puts
 * `location=` in the permalink, the API query and the CSV link, and the CSV has a location
 * column.
 * @param {Harness} h @param {{group?: string, location?: string}} [o]
 */
export async function reportByLocation(h, o = {}) {
  const { page, step, assert } = h;
  const group = o.group || 'loopback';
  const location = o.location || 'local';
  await step(`the report of “${group}” from ${location} only`, async () => {
    await page.goto(h.srv.url + '/#/');
    await page.getByRole('button', { name: 'Actions for ' + group }).click();
    await page.getByRole('menuitem', { name: 'Report…' }).click();
    await page.locator('table.stats tbody tr').first().waitFor();
    const select = page.getByLabel('Location', { exact: true });
    const options = await select.locator('option').allTextContents();
    assert(options[0] === 'All' && options.includes(location), 'location choices: ' + options.join(', '));
    await select.selectOption(location);
    await page.waitForURL(new RegExp(`[?&]location=${location}(&|$)`));
    await page.getByRole('heading', { name: new RegExp(`from ${location}`) }).waitFor();
    await page.locator('table.stats tbody tr').first().waitFor();
    const csvHref = (await page.getByRole('link', { name: 'Download CSV' }).getAttribute('href')) || '';
    assert(csvHref.includes('location=' + location), 'CSV link: ' + csvHref);
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), csvHref);
    assert(csv.split('\n')[0].split(',').includes('location'), 'CSV header without location: ' + csv.split('\n')[0]);
    // the permalink reopens it narrowed
    const url = page.url();
    await page.goto('about:blank');
    await page.goto(url);
    assert((await page.getByLabel('Location', { exact: true }).inputValue()) === location, 'the permalink lost the location');
    await page.getByLabel('Location', { exact: true }).selectOption('');
    await page.waitForURL((u) => !u.hash.includes('location='));
  });
}

/**
 * On a server whose bus takes no agents (started without --nats-listen), in a fresh page
 * `o.page`: an administrator who creates an agent is shown the server's reason, which
 * names --nats-listen, and no agent is listed.
 * @param {Harness} h @param {{page: import('playwright-core').Page, url: string, password: string}} o
 */
export async function agentsNeedBusListener(h, o) {
  const { step, assert } = h;
  const { page } = o;
  await step('a server whose bus does not listen refuses a new agent, and the page says to start it with --nats-listen', async () => {
    await page.goto(o.url + '/');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(o.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'Agents' }).click();
    await page.getByText('No agents yet.').waitFor();
    const form = page.getByRole('form', { name: 'New agent' });
    await form.getByLabel('Name').fill('ams-1');
    await form.getByLabel('Location').fill('ams');
    await form.getByRole('button', { name: 'New agent' }).click();
    const failed = page.locator('main p.err[role=alert]', { hasText: '--nats-listen' });
    await failed.waitFor();
    assert((await page.getByRole('region', { name: 'New agent credential' }).count()) === 0, 'a credential was shown');
    await page.reload();
    await page.getByText('No agents yet.').waitFor();
  });
}

/**
 * Signed in as an administrator: revokes agent `name` (after a confirmation); it leaves the
 * list.
 * @param {Harness} h @param {{name?: string}} [o]
 */
export async function revokeAgent(h, o = {}) {
  const { page, step } = h;
  const name = o.name || 'fra-1';
  await step(`admin revokes agent ${name}`, async () => {
    await page.getByRole('link', { name: 'Agents' }).click();
    const row = page.locator(`tr[data-agent="${name}"]`);
    await row.getByRole('button', { name: 'Revoke' }).click();
    const dlg = page.getByRole('dialog');
    await dlg.getByText('disconnected at once').waitFor();
    await dlg.getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
  });
}

/**
 * Signed in as a user who is not an administrator: no Agents link, #/agents does not
 * exist for them, and the API answers 403.
 * @param {Harness} h
 */
export async function agentsHiddenFromNonAdmins(h) {
  const { page, step, assert } = h;
  await step('a non-admin sees no Agents page, and the API refuses them', async () => {
    await page.getByRole('link', { name: 'Tokens' }).waitFor();
    assert((await page.getByRole('link', { name: 'Agents' }).count()) === 0, 'a non-admin sees the Agents link');
    await page.goto(h.srv.url + '/#/agents');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/v1/agents')).status);
    assert(status === 403, 'GET /api/v1/agents as a non-admin: ' + status);
    await page.getByRole('link', { name: 'Back to the dashboard' }).click();
  });
}
