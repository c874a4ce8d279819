/**
 * Anyone who reaches the gateway can register accounts and keys that wait for an operator.
 * Those registrations are capped per client address (an IPv6 /64) and in all, and a session
 * nobody approved may store only so much telemetry; over a cap the answer is a coded 429 that
 * changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { addressBucket } from '../services/pending-limits.js';
import { dialects } from '../testing/databases.js';
import {
  ADMIN,
  BASE,
  eventually,
  idem,
  sessionBody,
  startTestPlatform,
  type TestPlatform,
} from '../testing/platform.js';

const LIMITS = {
  KOPITRA_PENDING_MAX_PER_ADDRESS: '2',
  KOPITRA_PENDING_MAX_TOTAL: '3',
  KOPITRA_PENDING_INBOX_BYTES: '4096',
};

describe('address buckets', () => {
  it('counts an IPv4 address alone and an IPv6 address by its /64', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
  });
});

describe.each(dialects)('pending registrations on %s', (dialect) => {
  let tp: TestPlatform | null = null;
  afterEach(async () => {
    await tp?.close();
    tp = null;
  });

  const create = (accountId: string, from: string, authKey = `key-${accountId}-0123456789abcdef`) =>
    tp!.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions`,
      remoteAddress: from,
      headers: {
        'x-tradeagent-account': accountId,
        'idempotency-key': idem(),
        'content-type': 'application/json',
      },
      payload: sessionBody(authKey),
    });
  const inbox = (accountId: string, token: string, events: unknown[]) =>
    tp!.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/inbox`,
      headers: {
        'x-tradeagent-account': accountId,
        authorization: `Bearer ${token}`,
        'idempotency-key': idem(),
        'content-type': 'application/json',
      },
      payload: { events },
    });
  const admin = async () => {
    const res = await tp!.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: ADMIN,
    });
    return res.json().token as string;
  };
  const manage = async (token: string, url: string, payload: Record<string, unknown> = {}) => {
    const res = await tp!.platform.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${token}` },
      payload,
    });
    return { status: res.statusCode, body: res.json() };
  };
  const counts = async () => {
    const db = tp!.platform.database.db;
    const n = async (table: 'accounts' | 'account_keys' | 'sessions' | 'inbox_events' | 'bus_messages') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      accounts: await n('accounts'),
      keys: await n('account_keys'),
      sessions: await n('sessions'),
      inbox: await n('inbox_events'),
      bus: await n('bus_messages'),
    };
  };

  it('caps registrations per address and in all; over a cap: 429 pending_limit_reached, nothing stored', async (t) => {
    tp = await startTestPlatform(dialect, LIMITS);
    if (!tp) return t.skip();
    expect((await create('NEW-1', '198.51.100.1')).statusCode).toBe(201);
    const second = await create('NEW-2', '198.51.100.1');
    expect(second.statusCode).toBe(201);

    const before = await counts();
    const third = await create('NEW-3', '198.51.100.1');
    expect(third.statusCode).toBe(429);
    expect(third.json()).toMatchObject({ error: 'pending_limit_reached', retryAfterSec: 60 });
    expect(third.headers['retry-after']).toBe('60');
    expect(await counts()).toEqual(before);

    // Another address has its own share, until the total is reached.
    expect((await create('NEW-4', '198.51.100.2')).statusCode).toBe(201);
    const overTotal = await create('NEW-5', '198.51.100.3');
    expect(overTotal.statusCode).toBe(429);
    expect(overTotal.json().error).toBe('pending_limit_reached');
    expect(overTotal.json().message).toContain('at most 3');

    // A terminal already registered reconnects with its key (its lease lapsed): nothing new waits, so no cap.
    tp.clock.advance(60_000);
    const again = await create('NEW-1', '198.51.100.9');
    expect(again.statusCode).toBe(201);
    expect(again.json().status).toBe('pending');

    // A pre-shared key an operator issued needs no approval: never capped.
    const token = await admin();
    expect(
      (await manage(token, '/api/admin/accounts', { accountId: 'ISSUED', platform: 'MT5' })).status,
    ).toBe(201);
    const issued = await manage(token, '/api/admin/accounts/ISSUED/keys');
    expect(issued.status).toBe(201);
    const withIssuedKey = await create('ISSUED', '198.51.100.1', issued.body.key);
    expect(withIssuedKey.statusCode).toBe(201);
    expect(withIssuedKey.json().status).toBe('authenticated');

    // An operator's decision frees a place.
    const rejected = await manage(token, `/api/admin/sessions/${second.json().sessionId}/reject`, {
      reason: 'unknown terminal',
    });
    expect(rejected.status).toBe(200);
    await eventually(async () => {
      const key = await tp!.platform.database.db
        .selectFrom('account_keys')
        .select('status')
        .where('account_id', '=', 'NEW-2')
        .executeTakeFirst();
      return key?.status === 'rejected';
    });
    expect((await create('NEW-3', '198.51.100.1')).statusCode).toBe(201);
  });

  it('counts IPv6 callers by their /64', async (t) => {
    tp = await startTestPlatform(dialect, LIMITS);
    if (!tp) return t.skip();
    expect((await create('V6-1', '2001:db8:7:7::1')).statusCode).toBe(201);
    expect((await create('V6-2', '2001:db8:7:7:ffff::2')).statusCode).toBe(201);
    expect((await create('V6-3', '2001:db8:7:7:1234:5678:9abc:def0')).json().error).toBe(
      'pending_limit_reached',
    );
    expect((await create('V6-4', '2001:db8:7:8::1')).statusCode).toBe(201);
  });

  it('caps what a pending session stores; 429 pending_quota_exceeded stores nothing, approval lifts it', async (t) => {
    tp = await startTestPlatform(dialect, LIMITS);
    if (!tp) return t.skip();
    const created = await create('QUOTA-1', '198.51.100.20');
    expect(created.json().status).toBe('pending');
    const token = created.json().token as string;
    // ~2.5 KB of status summary each (its payload takes any field).
    const summary = {
      eventType: 'ea.status_summary',
      payload: { state: 'waiting', notes: 'x'.repeat(2500) },
    };
    expect((await inbox('QUOTA-1', token, [summary])).statusCode).toBe(202);

    const before = await counts();
    const over = await inbox('QUOTA-1', token, [summary]);
    expect(over.statusCode).toBe(429);
    expect(over.json()).toMatchObject({ error: 'pending_quota_exceeded', retryAfterSec: 60 });
    expect(over.headers['retry-after']).toBe('60');
    const heartbeats = Array.from({ length: 40 }, () => ({
      eventType: 'ea.heartbeat',
      payload: { balance: 10_000, equity: 10_000, margin: 0, openPositions: 0 },
    }));
    expect((await inbox('QUOTA-1', token, heartbeats)).json().error).toBe('pending_quota_exceeded');
    expect(await counts()).toEqual(before);
    // Small telemetry still fits, and acknowledgements store nothing.
    expect((await inbox('QUOTA-1', token, heartbeats.slice(0, 5))).statusCode).toBe(202);

    // Approved, the terminal reports in full.
    const admin_ = await admin();
    expect((await manage(admin_, `/api/admin/sessions/${created.json().sessionId}/approve`)).status).toBe(
      200,
    );
    await eventually(async () => {
      const s = await tp!.platform.database.db
        .selectFrom('sessions')
        .select('status')
        .where('session_id', '=', created.json().sessionId)
        .executeTakeFirst();
      return s?.status === 'authenticated';
    });
    expect((await inbox('QUOTA-1', token, [summary, summary])).statusCode).toBe(202);
  });
});
