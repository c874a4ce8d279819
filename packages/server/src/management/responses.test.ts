/**
 * One contract per answer: every management route's answer is declared once in
 * `managementResponses` (contracts), docs/openapi.json documents exactly that contract, and
 * what a running app answers on every route validates against it — with zod (no field the
 * contract does not declare) and with the committed OpenAPI document (through Ajv).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { managementResponses, type ManagementResponses } from '@kopitra/contracts';
import type { StopOut } from '@kopitra/engine';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { raiseAlert } from '../store/copy.js';
import { insertStopOut } from '../store/risk.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, eventually, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import { managementRouteSpecs } from './app.js';
import { responseJsonSchema } from './openapi.js';
import { responseOf, type RouteSpec } from './registry.js';

type Key = keyof ManagementResponses;
interface Documented {
  paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
  components: { schemas: Record<string, unknown> };
}

const docPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../docs/openapi.json');
const documented = JSON.parse(fs.readFileSync(docPath, 'utf8')) as Documented;
// Describing routes needs no dependencies: the declarations only close over them.
const routes = managementRouteSpecs({} as Parameters<typeof managementRouteSpecs>[0]);
const keyOf = (r: RouteSpec) => `${r.method} ${r.url}`;
const statusOf = (key: Key) => routes.find((r) => keyOf(r) === key)?.status ?? 200;
/** Where the document keeps a route's answer schema, as a JSON pointer. */
const answerPointer = (key: Key) => {
  const [method, url] = key.split(' ') as [string, string];
  return [
    'paths',
    url,
    method.toLowerCase(),
    'responses',
    String(statusOf(key)),
    'content',
    'application/json',
    'schema',
  ];
};
const documentedSchema = (key: Key) =>
  answerPointer(key).reduce<unknown>(
    (node, k) => (node as Record<string, unknown> | undefined)?.[k],
    documented,
  );

describe('management answer contracts', () => {
  it('every route that answers JSON has one contract, and every contract a route', () => {
    const answering = routes.filter((r) => !r.raw).map(keyOf);
    expect(answering.sort()).toEqual(Object.keys(managementResponses).sort());
    for (const r of routes.filter((r) => r.raw)) expect(responseOf(r)).toBeUndefined();
  });

  it("docs/openapi.json documents each route's answer as its contract", () => {
    for (const key of Object.keys(managementResponses) as Key[]) {
      const { schema, components } = responseJsonSchema(managementResponses[key]);
      expect(documentedSchema(key), key).toEqual(schema);
      for (const [name, component] of Object.entries(components))
        expect(documented.components.schemas[name], `${key}: ${name}`).toEqual(component);
    }
  });
});

describe.each(dialects)('real answers against their contracts on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    // The webhook below targets a closed loopback port: only this allowance lets it be registered.
    tp = await startTestPlatform(dialect, { KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8' });
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('every route answers what its contract and the OpenAPI document declare', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const app = p.platform.app;
    const db = p.platform.database.db;
    // The committed document itself is the schema: each answer is checked at its route's place in it.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(documented, 'openapi.json');
    const fragment = (key: Key) =>
      answerPointer(key)
        .map((k) => encodeURIComponent(k.replace(/~/g, '~0').replace(/\//g, '~1')))
        .join('/');
    const checked = new Set<Key>();

    /** Calls a route and checks its answer; `key` names the route, `url` fills in its path. */
    async function call<K extends Key>(
      key: K,
      url: string,
      opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<ManagementResponses[K]> {
      const method = key.split(' ')[0] as 'GET';
      const res = await app.inject({
        method,
        url,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...opts.headers,
        },
        ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
      });
      expect(res.statusCode, `${key}: ${res.body}`).toBe(statusOf(key));
      const body: unknown = res.json();
      const parsed = managementResponses[key].safeParse(body);
      expect(parsed.error, `${key} against its contract`).toBeUndefined();
      // Parsing drops what the contract does not declare: equal means nothing undeclared was sent.
      expect(parsed.data, `${key}: no undeclared fields`).toEqual(body);
      const validate = ajv.compile({ $ref: `openapi.json#/${fragment(key)}` });
      expect(validate(body) ? [] : validate.errors, `${key} against docs/openapi.json`).toEqual([]);
      checked.add(key);
      return parsed.data as ManagementResponses[K];
    }

    await call('GET /api/health', '/api/health');
    await call('GET /api/openapi.json', '/api/openapi.json');
    const { token } = await call('POST /api/auth/login', '/api/auth/login', { body: ADMIN });
    const as = { token };
    const me = await call('GET /api/auth/me', '/api/auth/me', as);
    await call('POST /api/admin/stream/ticket', '/api/admin/stream/ticket', as);

    // Operators: one with a password of its own, one invited with a one-time password.
    const viewerPassword = 'viewer-answers-0123';
    const viewer = await call('POST /api/admin/users', '/api/admin/users', {
      ...as,
      body: { email: 'viewer@test.local', role: 'viewer', password: viewerPassword },
    });
    const invited = await call('POST /api/admin/users', '/api/admin/users', {
      ...as,
      body: { email: 'invited@test.local', role: 'operator' },
    });
    expect(invited.oneTimePassword).toEqual(expect.any(String));
    await call('GET /api/admin/users', '/api/admin/users', as);
    await call('PATCH /api/admin/users/{userId}', `/api/admin/users/${invited.userId}`, {
      ...as,
      body: { displayName: 'Invited' },
    });
    await call(
      'POST /api/admin/users/{userId}/reset-password',
      `/api/admin/users/${invited.userId}/reset-password`,
      as,
    );
    const viewerLogin = await call('POST /api/auth/login', '/api/auth/login', {
      body: { email: viewer.email, password: viewerPassword },
    });
    // The directory is summarised for non-admins, in full for admins.
    const summary = await call('GET /api/admin/snapshot', '/api/admin/snapshot', {
      token: viewerLogin.token,
    });
    expect(summary.operators[0]).not.toHaveProperty('email');
    const full = await call('GET /api/admin/snapshot', '/api/admin/snapshot', as);
    expect(full.operators.find((o) => o.userId === me.userId)).toHaveProperty('email', ADMIN.email);
    await call('POST /api/auth/password', '/api/auth/password', {
      token: viewerLogin.token,
      body: { currentPassword: viewerPassword, newPassword: 'another-viewer-pass-42' },
    });
    await call('POST /api/auth/logout', '/api/auth/logout', { token: viewerLogin.token });

    // Accounts and keys.
    await call('POST /api/admin/accounts', '/api/admin/accounts', {
      ...as,
      body: { accountId: 'RM', platform: 'MT5', displayName: 'Master', currency: 'USD' },
    });
    await call('PATCH /api/admin/accounts/{accountId}', '/api/admin/accounts/RM', {
      ...as,
      body: { sessionPolicy: 'takeover' },
    });
    const issued = await call('POST /api/admin/accounts/{accountId}/keys', '/api/admin/accounts/RM/keys', {
      ...as,
      body: { expiresAt: '2099-01-01T00:00:00Z' },
    });
    await call('GET /api/admin/accounts/{accountId}/keys', '/api/admin/accounts/RM/keys', as);
    await call(
      'POST /api/admin/accounts/{accountId}/signal-secret',
      '/api/admin/accounts/RM/signal-secret',
      as,
    );
    await call(
      'DELETE /api/admin/accounts/{accountId}/signal-secret',
      '/api/admin/accounts/RM/signal-secret',
      as,
    );
    await call(
      'DELETE /api/admin/accounts/{accountId}/keys/{fingerprint}',
      `/api/admin/accounts/RM/keys/${issued.fingerprint}`,
      as,
    );

    // Terminals: a master and a follower that trade, two terminals waiting for a decision.
    const master = await new SimMaster(p.platform, 'RM').connect();
    const follower = await new SimFollower(p.platform, 'RF').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    for (const id of ['R-approve', 'R-reject'])
      expect((await terminal(p.platform, id).create()).statusCode).toBe(201);
    const sessions = await call('GET /api/admin/sessions', '/api/admin/sessions?status=pending', as);
    const pending = (id: string) => sessions.items.find((s) => s.accountId === id)!.sessionId;
    await call(
      'POST /api/admin/sessions/{sessionId}/approve',
      `/api/admin/sessions/${pending('R-approve')}/approve`,
      { ...as, body: {} },
    );
    await call(
      'POST /api/admin/sessions/{sessionId}/reject',
      `/api/admin/sessions/${pending('R-reject')}/reject`,
      {
        ...as,
        body: { reason: 'not ours' },
      },
    );
    await call('GET /api/admin/accounts', '/api/admin/accounts', as);
    const detail = await call('GET /api/admin/accounts/{accountId}', '/api/admin/accounts/RF', as);
    expect(detail.telemetry?.balance).toBe(10_000);
    expect(detail.latestSession?.status).toBe('authenticated');

    // Copy groups, and a copied trade to list.
    const group = await call('POST /api/admin/groups', '/api/admin/groups', {
      ...as,
      body: { name: 'answers', masterAccountId: 'RM' },
    });
    const followerPath = `/api/admin/groups/${group.groupId}/followers/RF`;
    await call('PUT /api/admin/groups/{groupId}/followers/{accountId}', followerPath, {
      ...as,
      body: {
        sizing: { mode: 'multiplier', multiplier: 2 },
        magicFilter: { include: [7, '8'] },
        riskLimits: [{ period: 'day', metric: 'equity_drawdown', maxPercent: 20, action: 'halt_opens' }],
      },
    });
    const webhook = await call('POST /api/admin/webhooks', '/api/admin/webhooks', {
      ...as,
      body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['signal.accepted'] },
    });
    await master.signal({
      type: 'position.opened',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
      magic: 7,
    });
    await follower.drain();
    const groups = await call('GET /api/admin/groups', '/api/admin/groups', as);
    expect(groups.items[0]?.followers[0]?.settings.magicFilter?.include).toEqual(['7', '8']);
    await call('GET /api/admin/groups/{groupId}', `/api/admin/groups/${group.groupId}`, as);
    // Symbol resolution: one follower's view and the deployment's synonym groups.
    const symbols = await call(
      'GET /api/admin/groups/{groupId}/followers/{accountId}/symbols',
      `${followerPath}/symbols`,
      as,
    );
    expect(symbols.items.map((i) => [i.masterSymbol, i.followerSymbol, i.listed])).toEqual([
      ['EURUSD', 'EURUSD', true],
    ]);
    await call('GET /api/admin/symbol-synonyms', '/api/admin/symbol-synonyms', as);
    await call('PUT /api/admin/symbol-synonyms', '/api/admin/symbol-synonyms', {
      ...as,
      body: { groups: [['XAUUSD', 'GOLD']] },
    });
    await call('DELETE /api/admin/symbol-synonyms', '/api/admin/symbol-synonyms', as);
    await call('PATCH /api/admin/groups/{groupId}', `/api/admin/groups/${group.groupId}`, {
      ...as,
      body: { name: 'answers (renamed)' },
    });
    const orders = await call('GET /api/admin/orders', '/api/admin/orders', as);
    expect(orders.items[0]).toMatchObject({ status: 'filled', followerAccountId: 'RF' });
    const positions = await call('GET /api/admin/positions', '/api/admin/positions', as);
    expect(positions.items).toHaveLength(1);
    for (const key of [
      'GET /api/admin/analytics/replication',
      'GET /api/admin/analytics/accounts/{accountId}',
      'GET /api/admin/analytics/groups/{groupId}',
    ] as const) {
      const url = key.split(' ')[1]!.replace('{accountId}', 'RF').replace('{groupId}', group.groupId);
      const analytics = await call(key, url, as);
      expect(analytics.copyOrders).toBe(1);
    }

    // A pending order the master placed, copied to the follower's book.
    await master.signal({
      type: 'order.placed',
      masterOrderId: '2',
      symbol: 'EURUSD',
      side: 'sell',
      orderType: 'limit',
      volume: 0.1,
      price: 1.12,
      expiresAt: '2099-01-01T00:00:00Z',
      magic: 7,
    });
    await follower.drain();
    const pendingOrders = await call('GET /api/admin/pending-orders', '/api/admin/pending-orders', as);
    expect(pendingOrders.items).toEqual([
      expect.objectContaining({ masterOrderId: '2', status: 'pending', volume: 0.2, orderType: 'limit' }),
    ]);
    expect(pendingOrders.items[0]!.ticket).not.toBeNull();

    // Manual orders to the follower's live session, then the session ended.
    await call(
      'POST /api/admin/sessions/{sessionId}/orders',
      `/api/admin/sessions/${follower.sessionId}/orders`,
      {
        ...as,
        body: { action: 'open', symbol: 'EURUSD', side: 'sell', volume: 0.2 },
        headers: { 'idempotency-key': 'answers-manual-1' },
      },
    );
    const manual = await call('GET /api/admin/manual-orders', '/api/admin/manual-orders', as);
    expect(manual.items).toHaveLength(1);
    await call(
      'POST /api/admin/sessions/{sessionId}/terminate',
      `/api/admin/sessions/${follower.sessionId}/terminate`,
      { ...as, body: { reason: 'answers checked' } },
    );

    // Alerts and stop-outs (as the anomaly checks and the risk guard record them).
    const alert = await raiseAlert(
      db,
      {
        accountId: 'RF',
        groupId: group.groupId,
        code: 'latency_high',
        severity: 'warning',
        message: 'slow',
        dedupeKey: 'answers',
        details: { ms: 9000 },
      },
      p.clock.now(),
    );
    const stopOut: StopOut = {
      limitKey: 'day:equity_drawdown',
      period: 'day',
      metric: 'equity_drawdown',
      action: 'halt_opens',
      maxPercent: 20,
      maxAmount: null,
      windowFrom: p.clock.now() - 3_600_000,
      reference: 10_000,
      observed: 7_000,
      drawdownAmount: 3_000,
      drawdownPercent: 30,
      at: p.clock.now(),
    };
    await insertStopOut(db, stopOut, { groupId: group.groupId, followerAccountId: 'RF' });
    await call('GET /api/admin/alerts', '/api/admin/alerts', as);
    await call('POST /api/admin/alerts/{alertId}/ack', `/api/admin/alerts/${alert!.alert_id}/ack`, as);
    const stopOuts = await call('GET /api/admin/stopouts', '/api/admin/stopouts', as);
    await call(
      'POST /api/admin/stopouts/{stopoutId}/reset',
      `/api/admin/stopouts/${stopOuts.items[0]!.stopOutId}/reset`,
      as,
    );

    // Tasks: a run with a report, its link.
    await call('GET /api/admin/tasks', '/api/admin/tasks', as);
    const run = await call('POST /api/admin/tasks/{taskId}/run', '/api/admin/tasks/export-audit/run', {
      ...as,
      body: { params: { from: '2000-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z' } },
    });
    await eventually(async () => {
      const res = await app.inject({
        method: 'GET',
        url: `/api/admin/task-runs/${run.runId}`,
        headers: { authorization: `Bearer ${token}` },
      });
      return res.json().status === 'completed';
    }, 15_000);
    const done = await call('GET /api/admin/task-runs/{runId}', `/api/admin/task-runs/${run.runId}`, as);
    expect(done.report).not.toBeNull();
    await call('GET /api/admin/task-runs', '/api/admin/task-runs', as);
    await call('GET /api/admin/task-runs/{runId}/report', `/api/admin/task-runs/${run.runId}/report`, as);

    // Webhooks: the signal above made a delivery (to a closed port: it fails and is retried).
    await call('GET /api/admin/webhooks', '/api/admin/webhooks', as);
    const deliveriesUrl = `/api/admin/webhooks/${webhook.webhookId}/deliveries`;
    await eventually(async () => {
      const res = await app.inject({
        method: 'GET',
        url: deliveriesUrl,
        headers: { authorization: `Bearer ${token}` },
      });
      return res.json().items.length > 0;
    });
    await call('GET /api/admin/webhooks/{webhookId}/deliveries', deliveriesUrl, as);
    await call('PATCH /api/admin/webhooks/{webhookId}', `/api/admin/webhooks/${webhook.webhookId}`, {
      ...as,
      body: { status: 'disabled' },
    });
    await call('DELETE /api/admin/webhooks/{webhookId}', `/api/admin/webhooks/${webhook.webhookId}`, as);

    // The audit log of all of the above, then the group taken apart.
    await call('GET /api/admin/audit', '/api/admin/audit?limit=500', as);
    await call('DELETE /api/admin/groups/{groupId}/followers/{accountId}', followerPath, as);
    await call('DELETE /api/admin/groups/{groupId}', `/api/admin/groups/${group.groupId}`, as);

    expect(Object.keys(managementResponses).filter((k) => !checked.has(k as Key))).toEqual([]);
  });
});
