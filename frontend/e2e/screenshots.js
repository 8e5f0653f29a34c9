// Screenshots for the README, from the real binary with real (loopback) probes:
// docs/dashboard.png (1280×800), docs/dashboard-phone.png (390 wide, dark), docs/report.png,
// docs/users.png and docs/tokens.png.
//   node e2e/screenshots.js        (make screenshots)
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, freePort, startServer, launch, REPO } from './lib.js';

const PASSWORD = 'shots-' + Math.random().toString(36).slice(2, 12);
const { bin, cleanup } = buildServer();
const dataDir = mkdtempSync(join(tmpdir(), 'pingdeck-shots-'));
const srv = await startServer({ bin, port: await freePort(), dataDir, password: PASSWORD });
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
  await page.reload();
  await page.locator('.row[data-state=up]').first().waitFor();
  await page.getByRole('button', { name: 'Pause 127.0.0.4' }).click();
  await page.waitForTimeout(75000); // a full sparkline and a minute of success rate
  await page.screenshot({ path: join(out, 'dashboard.png') });
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
  await b.close();

  const phone = await launch({ viewport: { width: 390, height: 800 }, colorScheme: 'dark' });
  const p2 = await phone.ctx.newPage();
  await signIn(p2);
  await p2.locator('.row[data-state=up]').first().waitFor();
  await p2.waitForTimeout(3000);
  await p2.screenshot({ path: join(out, 'dashboard-phone.png') });
  await phone.close();
  console.log('wrote docs/dashboard.png, docs/dashboard-phone.png, docs/report.png, docs/users.png, docs/tokens.png');
} finally {
  await srv.stop();
  rmSync(dataDir, { recursive: true, force: true });
  cleanup();
}
