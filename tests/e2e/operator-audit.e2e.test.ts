/**
 * Operator actions (account, key, group, subscription, operator), each done three ways — the
 * management API, the console's own API client, and the built `kopitra` command — against one
 * spawned server on SQLite and PostgreSQL. Each way goes
 * through the same service, so each writes the same audit row (only the actor and the ids
 * differ) and the change is visible to the others.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createApiClient } from '../../packages/console/src/shared/api/client.js';
import {
  dialects,
  dropTarget,
  freshTarget,
  tempDir,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import type { DatabaseTarget } from '../../packages/server/src/store/database.js';
import { runKopitra, spawnKopitra, type Spawned } from './support.js';

const ADMIN = { email: 'admin@audit.local', password: 'admin-password-audit-0123' };

interface AuditItem {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: Record<string, unknown> | null;
}

describe.each(dialects)('one operator action by API, console and CLI on %s', (dialect) => {
  let server: Spawned | undefined;
  let target: DatabaseTarget | null = null;
  afterAll(async () => {
    await server?.kill('SIGTERM');
    await dropTarget(target);
  });

  // Each CLI call is a fresh Node process: generous on a busy machine.
  it('writes the same audit row whichever way it comes', { timeout: 300_000 }, async (t) => {
    target = await freshTarget(dialect);
    if (!target) return t.skip();
    const env: Record<string, string> = {
      KOPITRA_DATA_DIR: tempDir(),
      DATABASE_URL: target.dialect === 'sqlite' ? target.file : urlWithSchema(target),
      KOPITRA_ADMIN_EMAIL: ADMIN.email,
      KOPITRA_ADMIN_PASSWORD: ADMIN.password,
      KOPITRA_BUS_POLL_MS: '50',
    };
    server = await spawnKopitra(['up'], env);
    const base = server.url;
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const token = ((await login.json()) as { token: string }).token;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const consoleApi = createApiClient({
      getToken: () => token,
      onSignedOut: () => {
        throw new Error('signed out');
      },
      fetch: (input, init) => fetch(`${base}${String(input)}`, init),
    });

    // account.create, three ways (and one more account by API for the groups below)
    const account = { platform: 'MT5', broker: 'Broker B', currency: 'USD', sessionPolicy: 'takeover' };
    expect((await api('POST', '/api/admin/accounts', { accountId: '7001', ...account })).status).toBe(201);
    await consoleApi.post('/api/admin/accounts', { accountId: '7002', ...account });
    await runKopitra(
      ['accounts', 'create', '7003', '--platform', 'mt5', '--broker', 'Broker B', '--currency', 'USD'].concat(
        ['--session-policy', 'takeover'],
      ),
      env,
    );
    expect((await api('POST', '/api/admin/accounts', { accountId: '7004', platform: 'MT5' })).status).toBe(
      201,
    );

    // group.create, three ways
    const viaApi = await api('POST', '/api/admin/groups', { name: 'by api', masterAccountId: '7001' });
    expect(viaApi.status).toBe(201);
    const viaConsole = await consoleApi.post<{ groupId: string }>('/api/admin/groups', {
      name: 'by console',
      masterAccountId: '7001',
    });
    const created = await runKopitra(['groups', 'create', '--name', 'by cli', '--master', '7001'], env);
    const viaCliId = created.stdout.trim();
    expect(viaCliId).toMatch(/^grp_/);

    // subscription.create, three ways
    const settings = { sizing: { mode: 'multiplier', multiplier: 2 } };
    const groupIds = [viaApi.body.groupId as string, viaConsole.groupId, viaCliId];
    expect((await api('PUT', `/api/admin/groups/${groupIds[0]}/followers/7002`, settings)).status).toBe(200);
    await consoleApi.put(`/api/admin/groups/${groupIds[1]}/followers/7003`, settings);
    await runKopitra(
      ['groups', 'follow', groupIds[2]!, '7004', '--settings', JSON.stringify(settings), '--by', 'cli-op'],
      env,
    );

    // key.issue, three ways: the key is shown once, its fingerprint is in the row
    const viaApiKey = await api('POST', '/api/admin/accounts/7001/keys', {});
    expect(viaApiKey.status).toBe(201);
    await consoleApi.post('/api/admin/accounts/7002/keys', {});
    const cliKey = await runKopitra(['accounts', 'keys', 'issue', '7003'], env);
    const issuedKey = cliKey.stdout.trim().split('\n').at(-1)!;
    expect(issuedKey).toMatch(/^[A-Za-z0-9]{32}$/);

    const audit = async (action: string) =>
      ((await api('GET', `/api/admin/audit?action=${action}`)).body.items as AuditItem[]).reverse();
    const withoutIds = (e: AuditItem) => {
      const { groupId, name, createdAt, updatedAt, ...rest } = (e.after ?? {}) as Record<string, unknown>;
      void groupId;
      void name;
      void createdAt;
      void updatedAt;
      return { action: e.action, targetType: e.targetType, before: e.before, after: rest };
    };

    const groupRows = await audit('group.create');
    expect(groupRows.map((e) => e.targetId)).toEqual(groupIds);
    expect(groupRows.map((e) => e.actor)).toEqual([ADMIN.email, ADMIN.email, expect.stringMatching(/^cli:/)]);
    expect(groupRows.map((e) => (e.after as { name: string }).name)).toEqual([
      'by api',
      'by console',
      'by cli',
    ]);
    const [g0, ...gRest] = groupRows.map(withoutIds);
    for (const g of gRest) expect(g).toEqual(g0);

    const subRows = await audit('subscription.create');
    expect(subRows.map((e) => e.targetId)).toEqual([
      `${groupIds[0]}/7002`,
      `${groupIds[1]}/7003`,
      `${groupIds[2]}/7004`,
    ]);
    expect(subRows.at(-1)!.actor).toBe('cli-op');
    const [s0, ...sRest] = subRows.map(withoutIds);
    for (const s of sRest) expect(s).toEqual(s0);

    const accountRows = (await audit('account.create')).slice(0, 3);
    expect(accountRows.map((e) => e.targetId)).toEqual(['7001', '7002', '7003']);
    expect(accountRows.map((e) => e.actor)).toEqual([
      ADMIN.email,
      ADMIN.email,
      expect.stringMatching(/^cli:/),
    ]);
    const accountShape = (e: AuditItem) => {
      const { accountId, createdAt, updatedAt, registeredBy, ...rest } = (e.after ?? {}) as Record<
        string,
        unknown
      >;
      void accountId;
      void createdAt;
      void updatedAt;
      expect(registeredBy).toBe(e.actor);
      return { action: e.action, targetType: e.targetType, before: e.before, after: rest };
    };
    const [a0, ...aRest] = accountRows.map(accountShape);
    expect(a0!.after).toMatchObject({ platform: 'MT5', broker: 'Broker B', sessionPolicy: 'takeover' });
    for (const a of aRest) expect(a).toEqual(a0);

    const keyRows = await audit('key.issue');
    expect(keyRows.map((e) => e.targetId)).toEqual(['7001', '7002', '7003']);
    expect(keyRows.at(-1)!.actor).toMatch(/^cli:/);
    const keyShape = (e: AuditItem) => {
      const { fingerprint, createdAt, decidedBy, decidedAt, ...rest } = (e.after ?? {}) as Record<
        string,
        unknown
      >;
      void fingerprint;
      void createdAt;
      void decidedAt;
      expect(decidedBy).toBe(e.actor);
      return { action: e.action, targetType: e.targetType, before: e.before, after: rest };
    };
    const [k0, ...kRest] = keyRows.map(keyShape);
    for (const k of kRest) expect(k).toEqual(k0);
    const keys = await api('GET', '/api/admin/accounts/7003/keys');
    expect(keys.body.items).toEqual([expect.objectContaining({ status: 'approved', origin: 'operator' })]);
    expect(JSON.stringify(keys.body)).not.toContain(issuedKey);

    // user.create, by API and by CLI (the console calls the same route as the API)
    const operator = { role: 'viewer', displayName: 'Night desk', password: 'Quartz-night-desk-Tulip-4817' };
    expect((await api('POST', '/api/admin/users', { email: 'api-op@audit.local', ...operator })).status).toBe(
      201,
    );
    await runKopitra(
      ['admin', 'create-user', '--email', 'cli-op@audit.local', '--role', 'viewer', '--name', 'Night desk'],
      env,
    );
    const userRows = (await audit('user.create')).filter((e) => e.actor !== 'system');
    expect(userRows.map((e) => (e.after as { email: string }).email)).toEqual([
      'api-op@audit.local',
      'cli-op@audit.local',
    ]);
    const userShape = (e: AuditItem) => {
      const { userId, email, createdAt, ...rest } = (e.after ?? {}) as Record<string, unknown>;
      expect(userId).toBe(e.targetId);
      void email;
      void createdAt;
      return { action: e.action, targetType: e.targetType, before: e.before, after: rest };
    };
    expect(userShape(userRows[1]!)).toEqual(userShape(userRows[0]!));

    // The running server sees the CLI's group and subscription at once.
    const cliGroup = await api('GET', `/api/admin/groups/${groupIds[2]}`);
    expect(cliGroup.body.followers).toEqual([expect.objectContaining({ accountId: '7004', settings })]);
  });
});
