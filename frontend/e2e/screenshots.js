// Screenshots for the README, from the real binary with real (loopback) probes:
// docs/dashboard.png (1280×800), docs/dashboard-phone.png (390 wide, dark), docs/report.png,
// docs/users.png, docs/tokens.png, docs/matrix.png (a card probed from the server and from
// a real `pingdeck agent` at "fra"), docs/agents.png (that agent online, one never run),
// docs/alerts.png (an alert firing, one resolved, a maintenance window: the loopback targets
// made "degraded" by an RTT threshold of 0.001 ms) and docs/target-history.png (a target's
// uptime, smoke chart, state bar and state changes).
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

  // alerts: "lab switches" fires and resolves (history), "core routers" fires and stays
  const alertApi = (/** @type {string} */ method, /** @type {string} */ path, /** @type {any} */ body) => page.evaluate(async ([m, p, b]) => {
    const r = await fetch(p, { method: m, headers: { 'Content-Type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) });
    return r.status === 204 ? null : r.json();
  }, [method, path, body]);
  /** @param {string} gid @param {(a: any) => boolean} pred */
  const waitAlert = async (gid, pred) => {
    for (let i = 0; i < 120; i++) {
      const r = await alertApi('GET', '/api/v1/alerts?state=all');
      if ((r.alerts || []).some((/** @type {any} */ a) => a.group_id === gid && pred(a))) return;
      await page.waitForTimeout(500);
    }
    throw new Error('no such alert in ' + gid);
  };
  const slow = { degraded_rtt_ms: 0.001 };
  await alertApi('POST', `/api/v1/groups/${ids[1]}/rules`, { name: 'lab switches slow', state: 'degraded', for: '1s' });
  await alertApi('PUT', `/api/v1/groups/${ids[1]}/thresholds`, slow);
  await waitAlert(ids[1], (a) => !a.resolved_at);
  await alertApi('PUT', `/api/v1/groups/${ids[1]}/thresholds`, {});
  await waitAlert(ids[1], (a) => !!a.resolved_at);
  await alertApi('POST', `/api/v1/groups/${ids[0]}/rules`, { name: 'core routers degraded', state: 'degraded', min_targets: 2, for: '2s' });
  await alertApi('PUT', `/api/v1/groups/${ids[0]}/thresholds`, slow);
  await waitAlert(ids[0], (a) => !a.resolved_at);
  const hour = 3600e3;
  await alertApi('POST', `/api/v1/groups/${ids[2]}/silences`, { from: new Date(Date.now() + hour).toISOString(), to: new Date(Date.now() + 3 * hour).toISOString(), comment: 'branch router upgrade' });
  await page.goto(`${srv.url}/#/alerts`);
  await page.locator('tr[data-alert="core routers degraded"]').waitFor();
  await page.locator('tr[data-alert="lab switches slow"]').waitFor();
  await page.locator('tr[data-silence="branch router upgrade"]').waitFor();
  await page.locator('.toast').waitFor({ state: 'detached', timeout: 10000 }); // the alert's toast
  await page.screenshot({ path: join(out, 'alerts.png'), fullPage: true });
  const core = await alertApi('GET', `/api/v1/groups/${ids[0]}`);
  const t1 = core.targets.find((/** @type {any} */ t) => t.address === '127.0.0.1');
  await page.goto(`${srv.url}/#/target/${ids[0]}/${t1.id}`);
  const hist = page.getByRole('region', { name: 'History' });
  await hist.locator('.smoke svg path.median').first().waitFor({ state: 'attached' });
  await hist.locator('.statebar-wrap .sb[data-state=degraded]').waitFor();
  await hist.locator('.timeline li').first().waitFor();
  await page.waitForTimeout(500);
  await page.locator('.toast').waitFor({ state: 'detached', timeout: 10000 });
  const box = await hist.boundingBox();
  if (!box) throw new Error('the history is not drawn');
  await page.screenshot({ path: join(out, 'target-history.png'), clip: { x: 0, y: Math.max(0, box.y - 8), width: 1280, height: Math.min(box.height + 16, 900) }, fullPage: true });
  await b.close();

  const phone = await launch({ viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
  const p2 = await phone.ctx.newPage();
  await signIn(p2);
  await p2.locator('.row[data-state=up]').first().waitFor();
  await p2.waitForTimeout(3000);
  await p2.screenshot({ path: join(out, 'dashboard-phone.png') });
  await phone.close();
  console.log('wrote docs/dashboard.png, docs/dashboard-phone.png, docs/report.png, docs/users.png, docs/tokens.png, docs/matrix.png, docs/agents.png, docs/alerts.png, docs/target-history.png');
} finally {
  if (agent) {
    await agent.stop();
    agent.cleanup();
  }
  await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
  cleanup();
}
