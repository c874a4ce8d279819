import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '@kopitra/contracts';
import { readTopic } from '../bus/embedded/embedded-bus.js';
import { getSession } from '../store/sessions.js';
import { getSymbolCatalog, getTelemetry } from '../store/inbox.js';
import { dialects } from '../testing/databases.js';
import {
  BASE,
  eventually,
  idem,
  startTestPlatform,
  terminal,
  type TestPlatform,
} from '../testing/platform.js';

const heartbeat = {
  eventType: 'ea.heartbeat',
  occurredAt: '2026-01-05T09:00:00Z',
  payload: {
    balance: 10_000,
    equity: 10_250.5,
    margin: 120,
    freeMargin: 10_130.5,
    openPositions: 2,
    latencyMs: 12,
  },
};
const symbol = {
  symbol: 'EURUSD.m',
  digits: 5,
  point: 0.00001,
  tickSize: 0.00001,
  tickValue: 1,
  contractSize: 100_000,
  volumeMin: 0.01,
  volumeMax: 50,
  volumeStep: 0.01,
  tradeMode: 'full',
};
const allTelemetry = [
  {
    eventType: 'ea.init',
    payload: {
      eaVersion: '1.0.0',
      terminalBuild: 4410,
      accountCurrency: 'USD',
      leverage: 500,
      marginMode: 'hedging',
      tradeAllowed: true,
    },
  },
  heartbeat,
  { eventType: 'ea.status_summary', payload: { state: 'running', openPositions: 2 } },
  { eventType: 'ea.symbol_catalog', payload: { symbols: [symbol] } },
  { eventType: 'ea.autotrade_status', payload: { enabled: true } },
  {
    eventType: 'ea.execution_notice',
    payload: { ticket: 123, previousTicket: 120, message: 'partial close gave a new ticket' },
  },
  {
    eventType: 'ea.sync_snapshot',
    payload: {
      positions: [
        { ticket: 123, symbol: 'EURUSD.m', side: 'buy', volume: 0.5, openPrice: 1.1, comment: 'kopitra:77' },
      ],
    },
  },
  { eventType: 'ea.error', payload: { code: 4756, message: 'trade request failed' } },
];

describe.each(dialects)('EA inbox and bad input on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  async function approvedTerminal(p: TestPlatform, accountId: string) {
    const ea = terminal(p.platform, accountId);
    await ea.create();
    const s = await getSession(p.platform.database.db, ea.sessionId!);
    await p.platform.bus.publish(topics.authApprovals, {
      type: 'AuthApproval',
      accountId,
      authKeyFingerprint: s!.key_fingerprint,
      approvedBy: 'ops',
      expiresAt: null,
    });
    await eventually(
      async () => (await getSession(p.platform.database.db, ea.sessionId!))?.status === 'authenticated',
    );
    return ea;
  }

  it('stores every telemetry type before the 202 and publishes it on trade-agent-events', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = await approvedTerminal(p, '100');
    const res = await ea.inbox(allTelemetry);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 8, acked: 0, refused: [] });
    const db = p.platform.database.db;
    const stored = await db
      .selectFrom('inbox_events')
      .select('event_type')
      .where('account_id', '=', '100')
      .execute();
    expect(stored.map((r) => r.event_type).sort()).toEqual(allTelemetry.map((e) => e.eventType).sort());
    expect(await getTelemetry(db, '100')).toMatchObject({
      balance: 10_000,
      equity: 10_250.5,
      open_positions: 2,
      autotrade_enabled: 1,
    });
    expect((await getSymbolCatalog(db, '100')).get('EURUSD.m')).toEqual(symbol);
    const published = (await readTopic(db, topics.tradeAgentEvents, 100)).map(
      (m) => m.body as { type: string; eventType?: string },
    );
    expect(published.filter((m) => m.type === 'ea.inbox').map((m) => m.eventType)).toEqual(
      allTelemetry.map((e) => e.eventType),
    );
  });

  it('answers a repeated Idempotency-Key with the original response and stores nothing twice', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = await approvedTerminal(p, '101');
    const key = idem();
    const first = await ea.inbox([heartbeat], key);
    const second = await ea.inbox([heartbeat], key);
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual(first.json());
    const rows = await p.platform.database.db
      .selectFrom('inbox_events')
      .select('inbox_event_id')
      .where('account_id', '=', '101')
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('lets a pending session send init, heartbeats and diagnostics only, and logs the refused attempt', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = terminal(p.platform, '102');
    await ea.create();
    expect((await ea.inbox([allTelemetry[0], heartbeat, allTelemetry[7]])).statusCode).toBe(202);
    const refused = await ea.inbox([heartbeat, allTelemetry[6]]);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('session_pending');
    const db = p.platform.database.db;
    const count = await db
      .selectFrom('inbox_events')
      .select('inbox_event_id')
      .where('account_id', '=', '102')
      .execute();
    expect(count).toHaveLength(3);
    const attempts = (await readTopic(db, topics.tradeAgentEvents, 100))
      .map((m) => m.body as { type: string; attempted?: string })
      .filter((m) => m.type === 'session.forbidden_attempt');
    expect(attempts).toEqual([expect.objectContaining({ accountId: '102', attempted: 'ea.sync_snapshot' })]);
  });

  it('refuses bad input with a coded 4xx and changes nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const ea = await approvedTerminal(p, '103');
    const app = p.platform.app;
    const headers = {
      'x-tradeagent-account': '103',
      authorization: `Bearer ${ea.token}`,
      'content-type': 'application/json',
    };
    const send = (payload: string, extra: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: `${BASE}/sessions/current/inbox`,
        headers: { ...headers, 'idempotency-key': idem(), ...extra },
        payload,
      });

    const cases: Array<[string, number, string]> = [
      ['{"events": [', 400, 'malformed_json'],
      ['', 400, 'invalid_request'],
      ['{"events": "heartbeat"}', 400, 'invalid_request'],
      ['{"events": []}', 400, 'invalid_request'],
      ['{"events": [{"eventType": "ea.teleport", "payload": {}}]}', 400, 'invalid_request'],
      [
        '{"events": [{"eventType": "ea.heartbeat", "payload": {"balance": "lots", "equity": 1, "margin": 0, "openPositions": 0}}]}',
        400,
        'invalid_request',
      ],
      [
        '{"events": [{"eventType": "ea.heartbeat", "occurredAt": "yesterday", "payload": {"balance": 1, "equity": 1, "margin": 0, "openPositions": 0}}]}',
        400,
        'invalid_request',
      ],
      [
        `{"events": [${JSON.stringify(heartbeat)}], "padding": "${'x'.repeat(1024 * 1024)}"}`,
        413,
        'payload_too_large',
      ],
    ];
    for (const [payload, status, code] of cases) {
      const res = await send(payload);
      expect(res.statusCode, payload.slice(0, 60)).toBe(status);
      expect(res.json().error, payload.slice(0, 60)).toBe(code);
      expect(res.json().message).toEqual(expect.any(String));
    }
    const invalid = await send('{"events": [{"eventType": "ea.heartbeat", "payload": {"balance": "lots"}}]}');
    expect(invalid.json().issues[0].path).toMatch(/^body\.events\.0/);
    const stored = await p.platform.database.db
      .selectFrom('inbox_events')
      .select('inbox_event_id')
      .where('account_id', '=', '103')
      .execute();
    expect(stored).toHaveLength(0);

    // The NUL that MQL's StringToCharArray appends is tolerated, whatever the content type.
    const withNul = await send(`${JSON.stringify({ events: [heartbeat] })}\u0000`, {
      'content-type': 'text/plain',
    });
    expect(withNul.statusCode).toBe(202);

    const badCreate = await app.inject({
      method: 'POST',
      url: `${BASE}/sessions`,
      headers: { 'x-tradeagent-account': '104', 'idempotency-key': idem() },
      payload: { authMethod: 'password', authKey: 'short', platform: 'MT6', role: 'boss' },
    });
    expect(badCreate.statusCode).toBe(400);
    expect(badCreate.json().issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['body.authMethod', 'body.authKey', 'body.platform', 'body.role']),
    );
    expect(
      await p.platform.database.db
        .selectFrom('accounts')
        .select('account_id')
        .where('account_id', '=', '104')
        .execute(),
    ).toHaveLength(0);

    const badQuery = await ea.poll('?limit=0&wait=99');
    expect(badQuery.statusCode).toBe(400);
    expect(badQuery.json().error).toBe('invalid_request');
    const notFound = await app.inject({ method: 'GET', url: `${BASE}/nowhere` });
    expect(notFound.statusCode).toBe(404);
    expect(notFound.json().error).toBe('route_not_found');
    expect(notFound.headers['x-request-id']).toEqual(expect.any(String));
  });

  it('reports readiness with each dependency', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const res = await p.platform.app.inject({ method: 'GET', url: `${BASE}/health` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      checks: { database: { ok: true }, notifications: { ok: true }, bus: { ok: true, adapter: 'embedded' } },
    });
  });
});
