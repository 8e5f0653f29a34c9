// make bench-ui: the dashboard with 50 cards × 100 live rows at 1 Hz in Chromium, fed by a
// small fake API + WebSocket server (this script) serving the committed dist/.
// Prints a markdown table: first render, main-thread busy %, long frames, bundle size.
//   node bench/bench.js [--cards 50] [--rows 100] [--seconds 30]
import { createServer } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, extname, resolve, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { launchBrowser, freePort } from '../e2e/lib.js';
import { loadavg, cpus } from 'node:os';

const arg = (/** @type {string} */ name, /** @type {number} */ def) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CARDS = arg('cards', 50);
const ROWS = arg('rows', 100);
const SECONDS = arg('seconds', 30);
const TICK_MS = 250;
const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../dist');

const user = { id: 'u1', username: 'bench', display_name: 'Bench', is_admin: false, created_at: '2026-01-01T00:00:00Z' };
/** @param {number} i */
const gid = (i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
/** @param {number} i @param {number} j */
const tid = (i, j) => `00000000-0000-4000-9000-${String(i * 1000 + j).padStart(12, '0')}`;
/** @param {number} i */
const groupMeta = (i) => ({
  id: gid(i), name: `site ${String(i + 1).padStart(2, '0')}`, owner: { id: 'u1', username: 'bench' }, role: 'owner',
  visibility: i % 5 ? 'private' : 'public', interval: '1s', interval_ms: 1000, timeout: '1s', timeout_ms: 1000, packet_size: 56,
  paused: false, target_count: ROWS, pinned: false, created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
});
const addr = (/** @type {number} */ i, /** @type {number} */ j) => `10.${i}.${Math.floor(j / 250)}.${(j % 250) + 1}`;
/** a deterministic RTT with some structure, and a loss now and then */
const sample = (/** @type {number} */ i, /** @type {number} */ j, /** @type {number} */ at) => {
  const k = Math.floor(at / 1000);
  const ok = (k * 7 + i * 13 + j * 31) % 97 !== 0;
  return { at, ok, rtt_ms: ok ? Math.round((1 + ((i + j) % 20) + 3 * Math.sin(k / 5 + j)) * 1000 + 4000) / 1000 : null };
};
const liveGroup = (/** @type {number} */ i, /** @type {number} */ now) => ({
  ...groupMeta(i),
  targets: Array.from({ length: ROWS }, (_, j) => {
    const recent = Array.from({ length: 60 }, (_, k) => sample(i, j, now - (60 - k) * 1000));
    return { id: tid(i, j), address: addr(i, j), ip: addr(i, j), paused: false, state: 'up', last: recent[59], loss_1m: 0, recent };
  }),
});

const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css' };
const server = createServer((req, res) => {
  const url = new URL(req.url || '/', 'http://x');
  const json = (/** @type {any} */ v) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  const p = url.pathname;
  if (p === '/api/v1/me') return json(user);
  if (p === '/api/v1/groups') return json({ groups: Array.from({ length: CARDS }, (_, i) => groupMeta(i)) });
  if (p === '/api/v1/notifications') return json({ notifications: [], unread: 0 });
  const m = /^\/api\/v1\/groups\/([^/]+)$/.exec(p);
  if (m) {
    // the REST shape: targets without live fields (those come with the socket's snapshot)
    const i = Number(m[1].slice(-12));
    return json({ ...groupMeta(i), targets: Array.from({ length: ROWS }, (_, j) => ({ id: tid(i, j), address: addr(i, j), ip: addr(i, j), kind: 'ip', paused: false, created_at: '2026-01-01T00:00:00Z' })) });
  }
  const file = join(DIST, p === '/' ? 'index.html' : p.slice(1));
  if (!file.startsWith(DIST) || !existsSync(file)) {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { 'Content-Type': MIME[/** @type {keyof typeof MIME} */ (extname(file))] || 'application/octet-stream' });
  res.end(readFileSync(file));
});
const wss = new WebSocketServer({ server, path: '/api/v1/ws' });
let seq = 0;
// snapshots are encoded once, before the browser starts, so the page is not waiting on this script
const snapshots = Array.from({ length: CARDS }, (_, i) => JSON.stringify({ type: 'snapshot', group: liveGroup(i, Date.now()) }));
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'hello', user, server_time: new Date().toISOString(), resume_token: 'bench', seq }));
  for (const s of snapshots) ws.send(s);
  let phase = 0;
  const timer = setInterval(() => {
    // a quarter of the targets per 250 ms tick: every target once a second
    const at = Date.now();
    const items = [];
    for (let i = 0; i < CARDS; i++)
      for (let j = phase; j < ROWS; j += 4) items.push({ g: gid(i), t: tid(i, j), ...sample(i, j, at) });
    phase = (phase + 1) % 4;
    ws.send(JSON.stringify({ type: 'results', seq: ++seq, items }));
  }, TICK_MS);
  ws.on('close', () => clearInterval(timer));
});

const port = await freePort();
await new Promise((r) => server.listen(port, '127.0.0.1', () => r(null)));
const base = `http://127.0.0.1:${port}`;

if (process.env.BENCH_UI_SERVE_ONLY) { console.log(base); await new Promise(() => {}); }
const browser = await launchBrowser();
const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
const page = await ctx.newPage();
const cdp = await ctx.newCDPSession(page);
const bcdp = await browser.newBrowserCDPSession();
/** CPU seconds of the busiest renderer's main thread (its tid is the process id), from /proc. */
const mainThreadCPU = async () => {
  const { processInfo } = await bcdp.send('SystemInfo.getProcessInfo');
  const r = processInfo.filter((p) => p.type === 'renderer').sort((a, b) => b.cpuTime - a.cpuTime)[0];
  if (!r) return NaN;
  try {
    const f = readFileSync(`/proc/${r.id}/task/${r.id}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return NaN;
  }
};
await cdp.send('Performance.enable');
await page.addInitScript(() => {
  /** @type {any} */ (window).__longFrames = [];
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) /** @type {any} */ (window).__longFrames.push({ t: e.startTime, d: e.duration });
    }).observe({ type: 'long-animation-frame', buffered: true });
  } catch {
    /* no LoAF in this browser: long frames are not counted */
  }
});
await page.goto(base + '/');
// first render: navigation start → the first screen of cards has live rows drawn
const firstRender = await page.evaluate(
  () =>
    new Promise((res) => {
      const check = () => {
        const cards = document.querySelectorAll('.card').length;
        const rows = document.querySelectorAll('.row[data-state=up]').length;
        if (cards >= 1 && rows >= 10) requestAnimationFrame(() => res(performance.now()));
        else requestAnimationFrame(check);
      };
      check();
    }),
);
const cards = await page.locator('.card').count();
await page.waitForTimeout(3000); // settle
const metric = async () => {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
};
await page.evaluate(() => {
  /** @type {any} */ (window).__longFrames = [];
});
const profile = process.env.BENCH_UI_PROFILE;
if (profile) {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.start');
}
const load0 = loadavg()[0];
const m0 = await metric();
const c0 = await mainThreadCPU();
const t0 = Date.now();
await page.waitForTimeout(SECONDS * 1000);
const m1 = await metric();
const c1 = await mainThreadCPU();
const load1 = loadavg()[0];
const wall = (Date.now() - t0) / 1000;
if (profile) {
  const { profile: prof } = await cdp.send('Profiler.stop');
  /** @type {Map<string, number>} */
  const self = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = prof.timeDeltas || [];
  (prof.samples || []).forEach((id, i) => {
    const n = byId.get(id);
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
    self.set(k, (self.get(k) || 0) + (dt[i] || 0) / 1000);
  });
  console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0).padStart(7)} ms  ${k}`).join('\n'));
}
const { longFrames, rows, drawn } = await page.evaluate(() => ({
  longFrames: /** @type {any} */ (window).__longFrames,
  rows: document.querySelectorAll('.row[data-target]').length,
  drawn: document.querySelectorAll('.row[data-state=up],.row[data-state=down]').length,
}));
await ctx.close();
await browser.close();
server.close();
wss.close();

const busy = ((m1.TaskDuration - m0.TaskDuration) / wall) * 100;
const cpuBusy = ((c1 - c0) / wall) * 100;
const script = ((m1.ScriptDuration - m0.ScriptDuration) / wall) * 100;
const style = ((m1.RecalcStyleDuration - m0.RecalcStyleDuration) / wall) * 100;
const layout = ((m1.LayoutDuration - m0.LayoutDuration) / wall) * 100;
const long = longFrames.filter((/** @type {any} */ f) => f.d > 50);
const maxFrame = Math.max(0, ...longFrames.map((/** @type {any} */ f) => f.d));
let gz = 0;
let raw = 0;
for (const f of readdirSync(join(DIST, 'assets'))) {
  if (!/\.(js|css)$/.test(f)) continue;
  const b = readFileSync(join(DIST, 'assets', f));
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
const kb = (/** @type {number} */ n) => (n / 1024).toFixed(1) + ' KB';
const ok = (/** @type {boolean} */ c) => (c ? 'yes' : '**no**');
console.log(`\nmachine: ${cpus().length} CPUs, load average ${load0.toFixed(1)} → ${load1.toFixed(1)} during the run (wall-clock numbers stretch when other work shares the CPUs)`);
console.log(`${CARDS} cards × ${ROWS} rows, every row updated at 1 Hz (${(CARDS * ROWS) / (1000 / TICK_MS)} results per ${TICK_MS} ms batch), ${wall.toFixed(0)} s steady state, Chromium 1280×800; ${rows} rows built (cards near the viewport), ${drawn} showing live state\n`);
console.log('| metric | measured | target | met |');
console.log('|---|---|---|---|');
console.log(`| first render (navigation → first screen of live rows) | ${firstRender.toFixed(0)} ms | < 1000 ms | ${ok(firstRender < 1000)} |`);
console.log(`| main thread busy, CPU time (renderer main thread utime+stime / wall) | ${cpuBusy.toFixed(1)} % | < 15 % | ${ok(cpuBusy < 15)} |`);
console.log(`| main thread busy, wall clock (CDP TaskDuration / wall) | ${busy.toFixed(1)} % (script ${script.toFixed(1)}, style ${style.toFixed(1)}, layout ${layout.toFixed(1)} %) | < 15 % | ${ok(busy < 15)} |`);
console.log(`| frames > 50 ms (long animation frames) | ${long.length} (longest ${maxFrame.toFixed(0)} ms) | 0 | ${ok(long.length === 0)} |`);
console.log(`| JS + CSS gzipped (all of dist/assets) | ${kb(gz)} (${kb(raw)} raw) | < 100 KB | ${ok(gz < 100 * 1024)} |`);
console.log(`| cards rendered | ${cards} | ${CARDS} | ${ok(cards === CARDS)} |`);
process.exit(0);
