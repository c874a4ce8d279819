import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '@kopitra/contracts';
import { getSession } from '../store/sessions.js';
import { dialects } from '../testing/databases.js';
import {
  BASE,
  eventually,
  idem,
  sessionBody,
  startTestPlatform,
  terminal,
  type TestPlatform,
} from '../testing/platform.js';

async function approve(tp: TestPlatform, accountId: string, sessionId: string) {
  const session = await getSession(tp.platform.database.db, sessionId);
  await tp.platform.bus.publish(topics.authApprovals, {
    type: 'AuthApproval',
    accountId,
    authKeyFingerprint: session!.key_fingerprint,
    approvedBy: 'test-operator',
    expiresAt: null,
  });
  await eventually(
    async () => (await getSession(tp.platform.database.db, sessionId))?.status === 'authenticated',
  );
}

describe.each(dialects)('EA sessions on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });
  const ctx = () => {
    if (!tp) return null;
    return tp;
  };

  it('walks pending → approved → init_ack → ack → empty outbox', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '5001');
    const created = await ea.create();
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ status: 'pending', heartbeatIntervalSec: 10, lastSequence: 0 });

    const pendingPoll = await ea.poll();
    expect(pendingPoll.statusCode).toBe(200);
    expect(pendingPoll.json()).toMatchObject({ status: 'pending', events: [], retryAfter: 10 });

    await approve(p, '5001', ea.sessionId!);
    const poll = await ea.poll();
    const body = poll.json();
    expect(body.status).toBe('authenticated');
    expect(body.events).toHaveLength(1);
    expect(body.events[0]).toMatchObject({
      sequence: 1,
      type: 'session.init_ack',
      payload: { sessionId: ea.sessionId, role: 'follower' },
    });
    expect(body.nextCursor).toBe(1);

    // Unacknowledged events are replayed on every poll.
    expect((await ea.poll()).json().events).toHaveLength(1);
    const ack = await ea.inbox([{ eventType: 'OutboxAck', eventId: body.events[0].eventId, sequence: 1 }]);
    expect(ack.statusCode).toBe(202);
    expect(ack.json()).toEqual({ accepted: 0, acked: 1, refused: [] });
    expect((await ea.poll()).json()).toMatchObject({ events: [], nextCursor: 0, retryAfter: 1 });
  });

  it('requires the account header and an idempotency key, and binds tokens to accounts', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const app = p.platform.app;
    const noAccount = await app.inject({
      method: 'POST',
      url: `${BASE}/sessions`,
      headers: { 'idempotency-key': idem() },
      payload: sessionBody('k'.repeat(20)),
    });
    expect(noAccount.statusCode).toBe(400);
    expect(noAccount.json().error).toBe('missing_account_header');
    const noKey = await app.inject({
      method: 'POST',
      url: `${BASE}/sessions`,
      headers: { 'x-tradeagent-account': '1' },
      payload: sessionBody('k'.repeat(20)),
    });
    expect(noKey.statusCode).toBe(400);
    expect(noKey.json().error).toBe('missing_idempotency_key');

    const a = terminal(p.platform, '6001');
    await a.create();
    const b = terminal(p.platform, '6002');
    b.token = a.token;
    const mismatch = await b.poll();
    expect(mismatch.statusCode).toBe(401);
    expect(mismatch.json().error).toBe('token_account_mismatch');
    b.token = `${a.sessionId}.forged`;
    expect((await terminal(p.platform, '6001').poll()).statusCode).toBe(401);
    const forged = await app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox`,
      headers: { 'x-tradeagent-account': '6001', authorization: `Bearer ${a.sessionId}.AAAA` },
    });
    expect(forged.json().error).toBe('unauthorized');
  });

  it('replays the original 201 and token for a repeated Idempotency-Key and refuses a second live session', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '7001');
    const key = idem();
    const first = await ea.create({}, key);
    const replay = await ea.create({}, key);
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toEqual(first.json());

    const second = await terminal(p.platform, '7001').create();
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ error: 'session_conflict', retryAfterSec: 30 });
    expect(Date.parse(second.json().activeSince)).toBeGreaterThan(0);
    expect(second.headers['retry-after']).toBe('30');

    const other = terminal(p.platform, '7001', 'another-key-for-the-same-account');
    expect((await other.create()).statusCode).toBe(409);
  });

  it('expires a lease after three missed heartbeat intervals and lets the EA start over', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '8001');
    await ea.create();
    p.clock.advance(29_000);
    // A request renews the lease.
    expect(
      (
        await ea.inbox([
          {
            eventType: 'ea.heartbeat',
            payload: { balance: 1000, equity: 1000, margin: 0, openPositions: 0 },
          },
        ])
      ).statusCode,
    ).toBe(202);
    p.clock.advance(29_000);
    expect((await ea.poll()).statusCode).toBe(200);
    p.clock.advance(30_001);
    const expired = await ea.poll();
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error).toBe('session_expired');
    expect((await ea.poll()).json().error).toBe('session_expired');
    const again = terminal(p.platform, '8001');
    expect((await again.create()).statusCode).toBe(201);
  });

  it('sweeps lapsed leases so a new terminal is not blocked', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '8101');
    await ea.create();
    p.clock.advance(31_000);
    expect(await p.platform.sweep()).toBe(1);
    expect((await getSession(p.platform.database.db, ea.sessionId!))?.status).toBe('expired');
  });

  it('takeover retires the old session atomically and queues it session.shutdown', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const old = terminal(p.platform, '9001');
    await old.create();
    await approve(p, '9001', old.sessionId!);
    await p.platform.database.db
      .updateTable('accounts')
      .set({ session_policy: 'takeover' })
      .where('account_id', '=', '9001')
      .execute();
    const init = (await old.poll()).json().events[0];
    await old.inbox([{ eventType: 'OutboxAck', eventId: init.eventId }]);

    const newcomer = terminal(p.platform, '9001');
    const created = await newcomer.create();
    expect(created.statusCode).toBe(201);
    // Sequence 2 is the old session's shutdown; the newcomer resumes after it.
    expect(created.json()).toMatchObject({ status: 'authenticated', lastSequence: 2 });

    const shutdown = await old.poll();
    expect(shutdown.statusCode).toBe(200);
    expect(shutdown.json().events).toHaveLength(1);
    expect(shutdown.json().events[0]).toMatchObject({
      type: 'session.shutdown',
      sequence: 2,
      payload: { reason: 'takeover' },
    });
    expect(
      (await old.inbox([{ eventType: 'OutboxAck', eventId: shutdown.json().events[0].eventId }])).statusCode,
    ).toBe(202);
    expect((await old.poll()).json().error).toBe('session_terminated');
    expect(
      (
        await old.inbox([
          { eventType: 'ea.heartbeat', payload: { balance: 1, equity: 1, margin: 0, openPositions: 0 } },
        ])
      ).json().error,
    ).toBe('session_terminated');

    // The newcomer sees its own init_ack, not the old session's shutdown.
    const fresh = (await newcomer.poll()).json().events;
    expect(fresh.map((e: { type: string; sequence: number }) => [e.type, e.sequence])).toEqual([
      ['session.init_ack', 3],
    ]);
    // A different key cannot take over.
    expect((await terminal(p.platform, '9001', 'some-other-key-0123456789').create()).statusCode).toBe(409);
  });

  it('refuses rejected keys and disabled accounts with 403, and rate-limits repeated failures', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '9101');
    await ea.create();
    const session = await getSession(p.platform.database.db, ea.sessionId!);
    await p.platform.bus.publish(topics.authApprovals, {
      type: 'AuthReject',
      accountId: '9101',
      authKeyFingerprint: session!.key_fingerprint,
      reason: 'unknown terminal',
      rejectedBy: 'ops',
    });
    await eventually(
      async () => (await getSession(p.platform.database.db, ea.sessionId!))?.status === 'rejected',
    );
    const shutdown = await ea.poll();
    expect(shutdown.json().events[0]).toMatchObject({
      type: 'session.shutdown',
      payload: { reason: 'rejected', message: 'unknown terminal' },
    });

    for (let i = 0; i < 10; i++) {
      const refused = await terminal(p.platform, '9101').create();
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error).toBe('key_rejected');
    }
    const limited = await terminal(p.platform, '9101').create();
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: 'rate_limited' });
    expect(limited.json().retryAfterSec).toBeGreaterThan(0);
    p.clock.advance(61_000);
    expect((await terminal(p.platform, '9101').create()).statusCode).toBe(403);

    await p.platform.database.db
      .insertInto('accounts')
      .values({
        account_id: '9102',
        display_name: null,
        platform: 'MT4',
        broker: null,
        server: null,
        currency: null,
        status: 'disabled',
        session_policy: 'reject',
        registered_by: 'operator',
        last_sequence: 0,
        created_at: 0,
        updated_at: 0,
      })
      .execute();
    const disabled = await terminal(p.platform, '9102').create();
    expect(disabled.statusCode).toBe(403);
    expect(disabled.json().error).toBe('account_disabled');
  });

  it('keeps per-account sequences increasing across sessions', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const a = terminal(p.platform, '9201');
    await a.create();
    await approve(p, '9201', a.sessionId!);
    expect((await a.release()).statusCode).toBe(200);
    const b = terminal(p.platform, '9201');
    const created = await b.create();
    // a's init_ack was never acknowledged but was addressed to a: b resumes after it.
    expect(created.json()).toMatchObject({ status: 'authenticated', lastSequence: 1 });
    expect((await b.poll()).json().events.map((e: { sequence: number }) => e.sequence)).toEqual([2]);
  });

  it('releases idempotently', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '9301');
    await ea.create();
    const key = idem();
    const first = await ea.release(key);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'terminated', released: true });
    expect((await ea.release(key)).json()).toEqual(first.json());
    expect((await ea.release()).statusCode).toBe(200);
    expect((await ea.poll()).json().error).toBe('session_terminated');
  });

  it('releases with POST /sessions/current/release for clients without DELETE', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '9311');
    await ea.create();
    const res = await p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/release`,
      headers: {
        'x-tradeagent-account': '9311',
        authorization: `Bearer ${ea.token}`,
        'idempotency-key': idem(),
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'terminated', released: true });
  });

  it('wakes a waiting long poll the moment an event is written', async (t) => {
    const p = ctx();
    if (!p) return t.skip();
    const ea = terminal(p.platform, '9401');
    await ea.create();
    const started = Date.now();
    const waiting = ea.poll('?wait=20');
    await new Promise((r) => setTimeout(r, 100));
    await approve(p, '9401', ea.sessionId!);
    const res = await waiting;
    expect(res.json().events[0].type).toBe('session.init_ack');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
