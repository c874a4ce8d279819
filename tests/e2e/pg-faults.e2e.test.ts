/**
 * PostgreSQL drops every connection of a running server (a failover, an idle-connection
 * kill): the process stays up, re-makes its pool and its LISTEN connection, answers health
 * again, keeps what it acknowledged, and a terminal parked on a long poll afterwards is woken.
 * And an outage cannot be turned into a crash by requests: EA and management requests caught
 * mid-query by terminated backends, or sent while the database cannot be reached at all, get
 * coded 503s (never a 500), the process stays up, and everything works once it is back.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  dropTarget,
  freshTarget,
  POSTGRES_URL,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import { eventually } from '../../packages/server/src/testing/platform.js';
import type { DatabaseTarget } from '../../packages/server/src/store/database.js';
import { spawnKopitra, type Spawned } from './support.js';

const ADMIN = { email: 'admin@faults.local', password: 'admin-password-faults-0123' };

async function onPostgres<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL connection loss', () => {
  let server: Spawned | undefined;
  let target: DatabaseTarget | null = null;
  afterAll(async () => {
    await server?.kill('SIGTERM');
    await dropTarget(target);
  });

  it('recovers without a restart: pool and LISTEN re-made, nothing acknowledged lost', async (t) => {
    target = await freshTarget('postgres');
    if (!target || target.dialect !== 'postgres') return t.skip();
    const appName = `kopitra-faults-${randomBytes(4).toString('hex')}`;
    server = await spawnKopitra(['up'], {
      DATABASE_URL: urlWithSchema(target),
      PGAPPNAME: appName,
      KOPITRA_ADMIN_EMAIL: ADMIN.email,
      KOPITRA_ADMIN_PASSWORD: ADMIN.password,
      KOPITRA_BUS_POLL_MS: '50',
    });
    const url = server.url;
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const token = (await api('POST', '/api/auth/login', undefined, ADMIN)).body.token as string;
    expect(
      (await api('POST', '/api/admin/accounts', token, { accountId: 'BEFORE', platform: 'MT5' })).status,
    ).toBe(201);
    // A terminal nobody approved yet.
    const registered = await fetch(`${url}/trade-agent/v1/sessions`, {
      method: 'POST',
      headers: { 'x-tradeagent-account': 'F-1', 'idempotency-key': 'f1', 'content-type': 'application/json' },
      body: JSON.stringify({
        authMethod: 'account_session_key',
        authKey: 'f1-generated-key-0123456789',
        platform: 'MT5',
        role: 'follower',
        eaVersion: '1.0',
        terminalBuild: 4410,
      }),
    });
    const pending = (await registered.json()) as { sessionId: string; token: string; status: string };
    expect(pending.status).toBe('pending');
    const killed = await onPostgres(
      async (c) =>
        (
          await c.query<{ pid: number }>(
            `select pg_terminate_backend(pid) as pid from pg_stat_activity where application_name = $1`,
            [appName],
          )
        ).rowCount,
    );
    expect(killed).toBeGreaterThanOrEqual(2); // the pool's connections and the LISTEN connection

    await eventually(async () => (await fetch(`${url}/api/health`)).status === 200, 30_000);
    await eventually(
      () =>
        onPostgres(
          async (c) =>
            (
              await c.query(
                `select 1 from pg_stat_activity where application_name = $1 and query ilike 'listen %'`,
                [appName],
              )
            ).rowCount === 1,
        ),
      30_000,
    );
    expect(server.child.exitCode).toBeNull();
    expect(server.logs.join('\n')).toContain('notification listener re-established');

    // Acknowledged before the outage: still there. New work: accepted and woken across it.
    expect((await api('GET', '/api/admin/accounts/BEFORE', token)).status).toBe(200);
    expect(
      (await api('POST', '/api/admin/accounts', token, { accountId: 'AFTER', platform: 'MT5' })).status,
    ).toBe(201);
    // Parked on its long poll on the re-made LISTEN connection, woken by the approval.
    const parked = fetch(`${url}/trade-agent/v1/sessions/current/outbox?wait=30`, {
      headers: { 'x-tradeagent-account': 'F-1', authorization: `Bearer ${pending.token}` },
    }).then(async (r) => (await r.json()) as { status: string });

    expect((await api('POST', `/api/admin/sessions/${pending.sessionId}/approve`, token, {})).status).toBe(
      200,
    );
    expect((await parked).status).toBe('authenticated');
  }, 90_000);

  it('answers coded 503s to requests caught by an outage, stays up, and recovers', async (t) => {
    const outageTarget = await freshTarget('postgres');
    if (!outageTarget || outageTarget.dialect !== 'postgres') return t.skip();
    const proxy = new PgProxy(new URL(POSTGRES_URL));
    let spawned: Spawned | undefined;
    try {
      await proxy.listen();
      const appName = `kopitra-outage-${randomBytes(4).toString('hex')}`;
      const databaseUrl = new URL(urlWithSchema(outageTarget));
      databaseUrl.host = `127.0.0.1:${proxy.port}`;
      spawned = await spawnKopitra(['up'], {
        DATABASE_URL: databaseUrl.toString(),
        PGAPPNAME: appName,
        KOPITRA_ADMIN_EMAIL: ADMIN.email,
        KOPITRA_ADMIN_PASSWORD: ADMIN.password,
        KOPITRA_BUS_POLL_MS: '50',
      });
      const server = spawned;
      const call = async (
        method: string,
        path: string,
        opts: { token?: string; account?: string; key?: string; body?: unknown } = {},
      ) => {
        const res = await fetch(`${server.url}${path}`, {
          method,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(opts.account ? { 'x-tradeagent-account': opts.account } : {}),
            ...(opts.key ? { 'idempotency-key': opts.key } : {}),
            ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        });
        const text = await res.text();
        let body: any = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON
        }
        return { path, status: res.status, body };
      };

      const admin = (await call('POST', '/api/auth/login', { body: ADMIN })).body.token as string;
      expect(
        (
          await call('POST', '/api/admin/accounts', {
            token: admin,
            body: { accountId: 'M-OUT', platform: 'MT5' },
          })
        ).status,
      ).toBe(201);
      const key = (await call('POST', '/api/admin/accounts/M-OUT/keys', { token: admin, body: {} })).body
        .key as string;
      const master = await call('POST', '/trade-agent/v1/sessions', {
        account: 'M-OUT',
        key: 'out-session',
        body: {
          authMethod: 'account_session_key',
          authKey: key,
          platform: 'MT5',
          role: 'master',
          eaVersion: '1.0',
          terminalBuild: 4410,
        },
      });
      expect(master.body.status).toBe('authenticated');
      const eaToken = master.body.token as string;
      const signals = new Map<number, object>();
      // One body per signal number, so a retry is the identical request.
      const signal = (n: number) => {
        if (!signals.has(n))
          signals.set(n, {
            account: 'M-OUT',
            token: eaToken,
            key: `out-signal-${n}`,
            body: {
              type: 'position.opened',
              masterPositionId: `${7000 + n}`,
              symbol: 'EURUSD',
              side: 'buy',
              volume: 0.1,
              price: 1.1,
              occurredAt: new Date().toISOString(),
              dealTicket: 7000 + n,
            },
          });
        return signals.get(n) as { account: string; token: string; key: string; body: unknown };
      };
      // EA and management requests of every kind: reads, writes, a session create, a login.
      let round = 0;
      const burst = () => {
        round++;
        return [
          call('POST', '/trade-agent/v1/signals', signal(round)),
          call('POST', '/trade-agent/v1/sessions/current/inbox', {
            account: 'M-OUT',
            token: eaToken,
            key: `out-inbox-${round}`,
            body: {
              events: [
                {
                  eventType: 'ea.heartbeat',
                  payload: { balance: 1, equity: 1, margin: 0, openPositions: 0 },
                },
              ],
            },
          }),
          call('GET', '/trade-agent/v1/sessions/current/outbox', { account: 'M-OUT', token: eaToken }),
          call('POST', '/trade-agent/v1/sessions', {
            account: `NEW-OUT-${round}`,
            key: `out-new-${round}`,
            body: {
              authMethod: 'account_session_key',
              authKey: `new-out-key-${round}-0123456789`,
              platform: 'MT5',
              role: 'follower',
              eaVersion: '1.0',
              terminalBuild: 4410,
            },
          }),
          call('POST', '/api/admin/accounts', {
            token: admin,
            body: { accountId: `ACC-OUT-${round}`, platform: 'MT5' },
          }),
          call('GET', '/api/admin/snapshot', { token: admin }),
          call('GET', '/api/admin/orders', { token: admin }),
          call('POST', '/api/auth/login', { body: ADMIN }),
        ];
      };
      const expectCoded = (answers: Array<{ path: string; status: number; body: any }>) => {
        for (const a of answers) {
          // Success (the request got a fresh connection) or the coded 503; never a 500.
          if (a.status >= 500)
            expect([a.path, a.status, a.body.error]).toEqual([a.path, 503, 'database_unavailable']);
          else expect([a.path, a.status]).toEqual([a.path, a.status < 300 ? a.status : 'a success']);
        }
        return answers.filter((a) => a.status === 503).length;
      };

      // 1. Backends terminated while queries are on the wire.
      proxy.hold();
      const caught = burst();
      await eventually(async () => proxy.held > 0, 20_000);
      const killed = await onPostgres(
        async (c) =>
          (
            await c.query(
              `select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1`,
              [appName],
            )
          ).rowCount,
      );
      expect(killed).toBeGreaterThanOrEqual(1);
      proxy.release();
      expect(expectCoded(await Promise.all(caught))).toBeGreaterThanOrEqual(1);
      expect(server.child.exitCode).toBeNull();

      // 2. The database becomes unreachable under requests in flight, and stays so a while.
      await eventually(async () => (await fetch(`${server.url}/api/health`)).status === 200, 30_000);
      proxy.hold();
      const cut = burst();
      await eventually(async () => proxy.held > 0, 20_000);
      await proxy.close();
      expect(expectCoded(await Promise.all(cut))).toBeGreaterThanOrEqual(1);
      const during = await Promise.all(burst());
      for (const a of during)
        expect([a.path, a.status, a.body.error]).toEqual([a.path, 503, 'database_unavailable']);
      const health = await call('GET', '/api/health');
      expect(health.status).toBe(503);
      expect(server.child.exitCode).toBeNull();

      // 3. Back: the same process answers again; a retried signal is copied once.
      await proxy.listen();
      await eventually(async () => (await fetch(`${server.url}/api/health`)).status === 200, 30_000);
      const retried = await call('POST', '/trade-agent/v1/signals', { ...signal(1), key: 'out-signal-1' });
      expect(retried.status).toBe(202);
      expect(
        (await call('POST', '/trade-agent/v1/signals', { ...signal(1), key: 'out-signal-1' })).body,
      ).toEqual(retried.body);
      expect(
        (
          await call('POST', '/api/admin/accounts', {
            token: admin,
            body: { accountId: 'ACC-AFTER', platform: 'MT5' },
          })
        ).status,
      ).toBe(201);
      expect((await call('GET', '/api/admin/accounts/M-OUT', { token: admin })).status).toBe(200);
      expect(server.child.exitCode).toBeNull();
      const failures = server.logs.filter((l) => l.includes('"msg":"request failed"'));
      expect(failures).toEqual([]);
    } finally {
      await spawned?.kill('SIGTERM');
      await proxy.close();
      await dropTarget(outageTarget);
    }
  }, 120_000);
});

/**
 * A TCP proxy in front of PostgreSQL that the test can hold (queries sent but not delivered:
 * in flight), release, and close (the database unreachable: connections refused).
 */
class PgProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private holding = false;
  private readonly queued: Array<() => void> = [];
  /** Chunks sent by the server's connections while held. */
  held = 0;
  port = 0;

  constructor(private readonly target: URL) {}

  listen(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(this.target.port || 5432), this.target.hostname);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('data', (chunk) => {
        if (!this.holding) return void upstream.write(chunk);
        this.held++;
        this.queued.push(() => upstream.write(chunk));
      });
      upstream.on('data', (chunk) => client.write(chunk));
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    this.server = server;
    return new Promise((resolve) =>
      server.listen(this.port, '127.0.0.1', () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      }),
    );
  }

  hold(): void {
    this.holding = true;
    this.held = 0;
  }

  release(): void {
    this.holding = false;
    for (const send of this.queued.splice(0)) send();
  }

  /** Cuts every connection and refuses new ones. */
  async close(): Promise<void> {
    this.holding = false;
    this.queued.length = 0;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
