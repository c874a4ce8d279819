/**
 * The first start as an operator meets it: the port is bound before the first admin exists,
 * start-up ends with a banner naming the console, the admin and the one-time password, request
 * lines stay out of the log unless asked for, and a lost password is reset from the command line.
 */
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../packages/server/src/testing/databases.js';
import { runKopitraStatus, spawnKopitra, waitForOutput, type Spawned } from './support.js';

const running: Spawned[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.kill('SIGTERM')));
});

async function login(url: string, email: string, password: string): Promise<number> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return res.status;
}

const bannerValue = (lines: string[], label: string) =>
  lines
    .find((l) => l.trimStart().startsWith(`${label}:`))
    ?.split(`${label}:`)[1]!
    .trim()
    .split(/\s+/)[0];

describe('kopitra up: first start', () => {
  const dataDir = tempDir();
  const env = { KOPITRA_DATA_DIR: dataDir };

  it('refuses a taken port with one clear line and creates no admin', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const res = await runKopitraStatus(['up'], { ...env, PORT: String(port), KOPITRA_HOST: '127.0.0.1' });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is already in use`);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(res.stdout).not.toContain('Password:');
    } finally {
      blocker.close();
    }
  });

  it('ends start-up with a banner: console URL, admin, one-time password that signs in', async () => {
    const server = await spawnKopitra(['up'], env);
    running.push(server);
    await waitForOutput(server, /^\s+Password:/);
    const banner = server.logs.slice(server.logs.findIndex((l) => l.includes('is running')));
    expect(bannerValue(banner, 'Console')).toBe(`${server.url}/`);
    expect(bannerValue(banner, 'Admin')).toBe('admin@kopitra.local');
    const password = bannerValue(banner, 'Password')!;
    expect(password.length).toBeGreaterThanOrEqual(16);
    // The port taken a moment ago left nothing behind: this start created the admin.
    expect(await login(server.url, 'admin@kopitra.local', password)).toBe(200);
    // The password appears in the banner only, never in a log line.
    expect(server.logs.filter((l) => l.includes(password))).toHaveLength(1);
  });

  it('keeps request lines out of the log by default', async () => {
    const server = running[0]!;
    const before = server.logs.length;
    for (let i = 0; i < 5; i++) await fetch(`${server.url}/trade-agent/v1/health`);
    expect(await login(server.url, 'admin@kopitra.local', 'wrong-password-0123')).toBe(401);
    await waitForOutput(server, /request refused/);
    const lines = server.logs.slice(before).join('\n');
    expect(lines).not.toContain('incoming request');
    expect(lines).not.toContain('request completed');
    // A refusal is still logged, once, with one "msg" key.
    const refused = server.logs.slice(before).find((l) => l.includes('request refused'))!;
    expect(refused.match(/"msg":/g)).toHaveLength(1);
  });

  it('logs every request with KOPITRA_LOG_REQUESTS=true', async () => {
    const server = await spawnKopitra(['up'], { KOPITRA_DATA_DIR: tempDir(), KOPITRA_LOG_REQUESTS: 'true' });
    running.push(server);
    await fetch(`${server.url}/trade-agent/v1/health`);
    await waitForOutput(server, /request completed/);
  });

  // Three CLI processes and three sign-ins: generous on a busy machine.
  it(
    'resets a lost password from the command line; the old one stops working',
    { timeout: 180_000 },
    async () => {
      const server = running[0]!;
      const old = bannerValue(
        server.logs.slice(server.logs.findIndex((l) => l.includes('is running'))),
        'Password',
      )!;
      const res = await runKopitraStatus(['admin', 'reset-password', 'admin@kopitra.local'], env);
      expect(res.code).toBe(0);
      const fresh = /password: (\S+)/.exec(res.stdout)![1]!;
      expect(await login(server.url, 'admin@kopitra.local', old)).toBe(401);
      expect(await login(server.url, 'admin@kopitra.local', fresh)).toBe(200);

      const unknown = await runKopitraStatus(['admin', 'reset-password', 'nobody@kopitra.local'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('No operator with email nobody@kopitra.local');
    },
  );

  it('answers admin commands without arguments with usage, not API wording', async () => {
    // Each is a fresh Node process: run side by side, the test stays short on a busy machine.
    const [weak, ...usage] = await Promise.all([
      runKopitraStatus(
        ['admin', 'create-user', '--email', 'op@kopitra.local', '--role', 'operator', '--password', 'short'],
        env,
      ),
      ...[['admin'], ['admin', 'create-user'], ['admin', 'reset-password']].map((args) =>
        runKopitraStatus(args, env),
      ),
    ]);
    for (const res of usage) {
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('usage:');
      expect(res.stderr).toContain('kopitra admin reset-password EMAIL');
      expect(res.stderr).not.toContain('Invalid body');
    }
    expect(weak.code).toBe(2);
    expect(weak.stderr).toContain('--password: at least 12 characters');
  });
});
