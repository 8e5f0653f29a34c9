// Helpers for the browser tests and the screenshot script: build and run the real server,
// launch Debian's Chromium through playwright-core (never a downloaded browser).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.PINGDECK_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

/** Builds the server binary (with the committed dist embedded) into a temp dir. */
export function buildServer() {
  const dir = mkdtempSync(join(tmpdir(), 'pingdeck-ui-bin-'));
  const bin = join(dir, 'pingdeck');
  execFileSync('go', ['build', '-o', bin, './cmd/server'], { cwd: REPO, stdio: 'inherit' });
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** @returns {Promise<number>} a free TCP port on 127.0.0.1 */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => res(a.port));
    });
  });
}

/**
 * Starts the binary and waits for its "pingdeck listening" log line.
 * @param {{bin: string, port: number, dataDir: string, password: string, args?: string[]}} o
 *   args: more flags, e.g. busArgs()'s
 */
export function startServer(o) {
  return new Promise((res, rej) => {
    const p = spawn(o.bin, ['--listen', `127.0.0.1:${o.port}`, '--data-dir', o.dataDir, ...(o.args || [])], {
      env: { ...process.env, PINGDECK_ADMIN_PASSWORD: o.password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const timer = setTimeout(() => rej(new Error('server did not start in 60 s:\n' + log)), 60000);
    let buf = '';
    p.stderr.on('data', (d) => {
      buf += d;
      log += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          if (JSON.parse(line).msg === 'pingdeck listening') {
            clearTimeout(timer);
            res({
              url: `http://127.0.0.1:${o.port}`,
              log: () => log,
              stop: () => new Promise((done) => { if (p.exitCode !== null) return done(null); p.once('exit', done); p.kill('SIGTERM'); }),
            });
          }
        } catch {
          /* not JSON */
        }
      }
    });
    p.stdout.on('data', (d) => (log += d));
    p.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`server exited (${code}) before listening:\n${log}`));
    });
  });
}

/**
 * A bus listener on a free loopback port that agents can reach, with the user and password
 * the server asks every client for (the password at least 12 characters).
 * @returns {Promise<{port: number, url: string, args: string[]}>} url: what `pingdeck agent --server` takes
 */
export async function busListener() {
  const port = await freePort();
  const password = 'bus-' + Math.random().toString(36).slice(2, 12) + Math.random().toString(36).slice(2, 12);
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    args: ['--nats-listen', `127.0.0.1:${port}`, '--nats-user', 'pingdeck', '--nats-password', password],
  };
}

/**
 * Runs `pingdeck agent` (root: raw ICMP sockets, loopback targets only) with a credential
 * file and a disk buffer of its own in a temp dir. stop() ends it with the signal given
 * (SIGTERM by default) and waits for it; cleanup() removes its files once it is stopped.
 * @param {{bin: string, server: string, credential: string, location: string}} o
 */
export function startAgent(o) {
  const dir = mkdtempSync(join(tmpdir(), 'pingdeck-agent-'));
  const creds = join(dir, o.location + '.creds');
  writeFileSync(creds, o.credential, { mode: 0o600 });
  const p = spawn(o.bin, ['agent', '--server', o.server, '--credentials', creds, '--data-dir', join(dir, 'data'), '--icmp-mode', 'privileged'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  p.stdout.on('data', (d) => (log += d));
  p.stderr.on('data', (d) => (log += d));
  /** @type {Promise<number|null>} */
  const exited = new Promise((done) => p.once('exit', (code, sig) => done(code ?? (sig ? -1 : null))));
  return {
    log: () => log,
    /** whether the process has ended */
    running: () => p.exitCode === null && p.signalCode === null,
    /** @param {NodeJS.Signals} [signal] */
    stop: async (signal = 'SIGTERM') => {
      if (p.exitCode === null && p.signalCode === null) p.kill(signal);
      await exited;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Installs Debian's Chromium when missing (the test command's job; CI runs as root). */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return;
  console.log('installing chromium from Debian …');
  execFileSync('sh', ['-c', 'apt-get install -y chromium >/dev/null 2>&1 || (apt-get update && apt-get install -y chromium)'], { stdio: 'inherit' });
}

/**
 * Launches Chromium headless as a Browser (Playwright gives it a fresh temporary profile),
 * for callers that need browser-level CDP (the bench reads renderer CPU time).
 */
export async function launchBrowser() {
  ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/**
 * Launches Chromium headless with a fresh profile.
 * @param {{viewport?: {width:number,height:number}, colorScheme?: 'light'|'dark'}} [o]
 */
export async function launch(o = {}) {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'pingdeck-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: o.viewport || { width: 1280, height: 800 },
    colorScheme: o.colorScheme || 'light',
    acceptDownloads: true,
  });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
