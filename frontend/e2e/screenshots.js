// Screenshots for the README, from the real binary with real (loopback) probes:
// docs/dashboard.png (1280×800), docs/dashboard-phone.png (390 wide, dark), docs/report.png,
// docs/users.png, docs/tokens.png, docs/matrix.png (a card probed from the server and from
// a real `pingdeck agent` at "fra") and docs/agents.png (that agent online, one never run).
//   node e2e/screenshots.js        (make screenshots)
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, freePort, startServer, launch, busListener, startAgent, REPO } from './lib.js';

const PASSWORD = 'shots-' + Math.random().toString(36).slice(2, 12);
const { bin, cleanup } = buildServer();
const dataDir = mkdtempSync(join(tmpdir(), 'pingdeck-shots-'));
const bus = await busListener();
const srv = await startServer({ bin, port: await freePort(), dataDir, password: PASSWORD, args: bus.args });
/** @type {ReturnType<typeof startAgent>|null} */
let agent = null;
const out = join(REPO, 'docs');
mkdirSync(out, { recursive: true });

/** @param {import('playwright-core').Page} page */
async function signIn(page) {
  await page.goto(srv.url + '/');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'New group' }).first().waitFor();
}

try {
  const b = await launch();
  const page = await b.ctx.newPage();
  page.setDefaultTimeout(20000);
  await signIn(page);
  const groups = [
    ['core routers', '127.0.0.1\n127.0.0.2\n127.0.0.3\n127.0.0.4\n127.0.0.5\nlocalhost\n::1'],
    ['lab switches', '127.0.1.0/29'],
    ['branch offices', '127.0.2.1 127.0.2.2 127.0.2.3 no-such-host.invalid'],
  ];
  const ids = await page.evaluate(async (gs) => {
    const out = [];
    for (const [name, targets] of gs) {
      const r = await fetch('/api/v1/groups', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name, targets, interval: '1s', allow_unresolved: true }) });
      out.push((await r.json()).id);
    }
    return out;
  }, groups);
  // a second site: a real agent at "fra" probing the card "edge sites" with the server
  const made = await page.evaluate(async () => {
    const post = (/** @type {string} */ path, /** @type {any} */ body) =>
      fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
    const fra = await post('/api/v1/agents', { name: 'fra-1', location: 'fra' });
    await post('/api/v1/agents', { name: 'nyc-1', location: 'nyc' }); // enrolled, never run: offline
    await post('/api/v1/groups', { name: 'edge sites', targets: '127.0.3.1 127.0.3.2 127.0.3.3 127.0.3.4 ::1', interval: '1s', locations: ['local', 'fra'] });
    return fra;
  });
  if (!made.credential) throw new Error('creating the agent: ' + JSON.stringify(made));
  agent = startAgent({ bin, server: bus.url, credential: made.credential, location: 'fra' });
  await page.reload();
  await page.locator('.row[data-state=up]').first().waitFor();
  await page.getByRole('button', { name: 'Pause 127.0.0.4' }).click();
  await page.waitForTimeout(75000); // a full sparkline and a minute of success rate
  await page.screenshot({ path: join(out, 'dashboard.png') });
  const edge = page.locator('.card', { has: page.getByRole('heading', { name: 'edge sites', exact: true }) });
  await edge.scrollIntoViewIfNeeded();
  await page.waitForFunction(() => {
    const cells = [...document.querySelectorAll('.card-body.matrix .row[data-target] .cell')];
    return cells.length === 10 && cells.every((c) => c.classList.contains('cell-up'));
  }, null, { timeout: 30000 }).catch(() => { throw new Error('the matrix is not all up; agent log:\n' + agent?.log()); });
  // with the sparkline of one cell, as hovering shows it
  await edge.locator('.row[data-target]').nth(1).locator('.cell[data-loc="fra"]').hover();
  const pop = page.getByRole('tooltip');
  await pop.locator('canvas').waitFor();
  await page.waitForTimeout(300);
  const [a, p] = [await edge.boundingBox(), await pop.boundingBox()];
  if (!a || !p) throw new Error('the card or its popover is not drawn');
  const x = Math.min(a.x, p.x), y = Math.min(a.y, p.y);
  await page.screenshot({ path: join(out, 'matrix.png'),
    clip: { x, y, width: Math.max(a.x + a.width, p.x + p.width) - x, height: Math.max(a.y + a.height, p.y + p.height) - y } });
  await page.mouse.move(2, 2);
  const now = Math.floor(Date.now() / 1000);
  await page.goto(`${srv.url}/#/report/${ids[0]}?from=${now - 120}&range=120`);
  await page.locator('table.stats tbody tr').first().waitFor();
  await page.locator('.chart canvas').first().waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(out, 'report.png'), fullPage: true });

  await page.evaluate(async () => {
    for (const [username, display_name] of [['carol', 'Carol Ops'], ['dave', 'Dave NOC']])
      await fetch('/api/v1/users', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username, display_name, password: 'password-' + username }) });
    for (const name of ['grafana', 'ci deploy check'])
      await fetch('/api/v1/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name }) });
  });
  await page.goto(`${srv.url}/#/users`);
  await page.locator('table tbody tr').nth(2).waitFor();
  await page.screenshot({ path: join(out, 'users.png') });
  await page.goto(`${srv.url}/#/tokens`);
  await page.locator('table tbody tr').nth(1).waitFor();
  await page.screenshot({ path: join(out, 'tokens.png') });
  await page.goto(`${srv.url}/#/agents`);
  await page.locator('tr[data-agent="fra-1"] .status', { hasText: 'online' }).waitFor();
  await page.locator('tr[data-agent="nyc-1"]').waitFor();
  await page.screenshot({ path: join(out, 'agents.png') });
  await b.close();

  const phone = await launch({ viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
  const p2 = await phone.ctx.newPage();
  await signIn(p2);
  await p2.locator('.row[data-state=up]').first().waitFor();
  await p2.waitForTimeout(3000);
  await p2.screenshot({ path: join(out, 'dashboard-phone.png') });
  await phone.close();
  console.log('wrote docs/dashboard.png, docs/dashboard-phone.png, docs/report.png, docs/users.png, docs/tokens.png, docs/matrix.png, docs/agents.png');
} finally {
  if (agent) {
    await agent.stop();
    agent.cleanup();
  }
  await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
  cleanup();
}
