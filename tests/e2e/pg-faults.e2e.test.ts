/**
 * PostgreSQL drops every connection of a running server (a failover, an idle-connection
 * kill): the process stays up, re-makes its pool and its LISTEN connection, answers health
 * again, keeps what it acknowledged, and a terminal parked on a long poll afterwards is woken.
 */
import { randomBytes } from 'node:crypto';
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
});
