import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedBus } from '../bus/embedded/embedded-bus.js';
import type { BusMessage } from '../bus/bus.js';
import { ManualClock } from '../clock.js';
import { dialects, dropTarget, freshTarget } from '../testing/databases.js';
import { eventually } from '../testing/platform.js';
import { openNotifier } from '../runtime.js';
import type { Notifier } from '../notify/notifier.js';
import { insertAccount } from './accounts.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from './database.js';
import { saveIdempotent, findIdempotent } from './idempotency.js';
import { ackOutbox, enqueueOutbox, pendingOutbox, resumeSequence } from './outbox.js';
import { insertSession, type SessionRow } from './sessions.js';
import { groupCommitOf, inTransaction, isUniqueViolation } from './transaction.js';

const session = (id: string, accountId: string, status: SessionRow['status']): SessionRow => ({
  session_id: id,
  account_id: accountId,
  key_fingerprint: 'fp',
  role: 'follower',
  platform: 'MT5',
  ea_version: '1',
  terminal_build: 1,
  broker: null,
  server: null,
  client_ip: null,
  status,
  status_reason: null,
  token_hash: 'h',
  lease_expires_at: 1,
  lease_renewed_at: 1,
  created_at: 1,
  authenticated_at: null,
  ended_at: null,
});

describe.each(dialects)('storage on %s', (dialect) => {
  let target: DatabaseTarget | null;
  let database: Database;
  let notifier: Notifier;
  const clock = new ManualClock();

  beforeEach(async () => {
    target = await freshTarget(dialect);
    if (!target) return;
    database = await openDatabase(target);
    await migrate(database);
    notifier = await openNotifier(database);
  });
  afterEach(async () => {
    if (!target) return;
    await notifier.close();
    await database.close();
    await dropTarget(target);
  });

  it('migrates once and is idempotent on the second run', async (t) => {
    if (!target) return t.skip();
    expect(await migrate(database)).toEqual([]);
  });

  it('allocates strictly increasing sequences per account, independently per account', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    await insertAccount(db, { accountId: 'b', registeredBy: 'test' }, 1);
    const written = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        inTransaction(db, ({ trx }) =>
          enqueueOutbox(trx, { accountId: i % 2 ? 'a' : 'b', type: 'sync.request', payload: { i } }, 1),
        ),
      ),
    );
    for (const account of ['a', 'b']) {
      const seqs = written
        .filter((w) => w.account_id === account)
        .map((w) => Number(w.sequence))
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
  });

  it('lists unacknowledged events after a cursor, honours targets, and resumes after the oldest waiting one', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    const e1 = await enqueueOutbox(db, { accountId: 'a', type: 'sync.request', payload: {} }, 1);
    const e2 = await enqueueOutbox(
      db,
      { accountId: 'a', type: 'session.shutdown', payload: {}, targetSessionId: 'old' },
      1,
    );
    const e3 = await enqueueOutbox(db, { accountId: 'a', type: 'error.alert', payload: {} }, 1);
    const seen = await pendingOutbox(db, {
      accountId: 'a',
      sessionId: 'new',
      onlyTargeted: false,
      cursor: 0,
      limit: 10,
    });
    expect(seen.map((e) => e.event_id)).toEqual([e1.event_id, e3.event_id]);
    expect(
      (
        await pendingOutbox(db, {
          accountId: 'a',
          sessionId: 'old',
          onlyTargeted: true,
          cursor: 0,
          limit: 10,
        })
      ).map((e) => e.event_id),
    ).toEqual([e2.event_id]);
    expect(
      await ackOutbox(db, { accountId: 'a', sessionId: 'new', eventId: e2.event_id, onlyTargeted: false }, 2),
    ).toBe('unknown_event');
    expect(
      await ackOutbox(
        db,
        { accountId: 'a', sessionId: 'new', eventId: e1.event_id, sequence: 9, onlyTargeted: false },
        2,
      ),
    ).toBe('sequence_mismatch');
    expect(
      await ackOutbox(
        db,
        { accountId: 'a', sessionId: 'new', eventId: e1.event_id, sequence: 1, onlyTargeted: false },
        2,
      ),
    ).toBe('acked');
    expect(
      await ackOutbox(db, { accountId: 'a', sessionId: 'new', eventId: e1.event_id, onlyTargeted: false }, 2),
    ).toBe('already_acked');
    expect(await resumeSequence(db, 'a', 'new')).toBe(2);
    await ackOutbox(db, { accountId: 'a', sessionId: 'new', eventId: e3.event_id, onlyTargeted: false }, 2);
    expect(await resumeSequence(db, 'a', 'new')).toBe(3);
  });

  it('enforces one live session per account in the database itself', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    await insertSession(db, session('s1', 'a', 'pending'));
    await insertSession(db, session('s0', 'a', 'expired'));
    const err = await insertSession(db, session('s2', 'a', 'authenticated')).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('rolls back everything of a failed transaction, including bus messages and idempotency records', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    const bus = new EmbeddedBus({
      db,
      dialect: database.dialect,
      notifier,
      clock,
      logger: pino({ level: 'silent' }),
      pollMs: 20,
    });
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    await expect(
      inTransaction(db, async ({ trx }) => {
        await enqueueOutbox(trx, { accountId: 'a', type: 'sync.request', payload: {} }, 1);
        await bus.publish('t', { x: 1 }, { db: trx });
        await saveIdempotent(
          trx,
          { accountId: 'a', key: 'k', route: 'r', requestHash: 'h', statusCode: 202, body: {} },
          1,
        );
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.selectFrom('outbox_events').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('bus_messages').selectAll().execute()).toEqual([]);
    expect(await findIdempotent(db, 'a', 'k')).toBeUndefined();
    await bus.close();
  });

  it('commits use cases that wait together as one: each sees the earlier ones, a failing one is rolled back alone, hooks run after the commit', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    const committed: number[] = [];
    const seenAtHook: number[] = [];
    const count = async () =>
      Number(
        (
          await db
            .selectFrom('outbox_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const useCase = (i: number) =>
      inTransaction(db, async ({ trx, afterCommit }) => {
        const row = await enqueueOutbox(trx, { accountId: 'a', type: 'sync.request', payload: { i } }, 1);
        if (i === 3) throw new Error(`use case ${i} fails`);
        afterCommit(() => {
          committed.push(i);
          void count().then((n) => seenAtHook.push(n));
        });
        return Number(row.sequence);
      });
    const group = groupCommitOf(db);
    const before = { ...group?.stats };
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => useCase(i)));
    // On SQLite the first runs alone and the seven that queued behind it share one commit.
    if (dialect === 'sqlite')
      expect(group?.stats).toEqual({ commits: before.commits! + 2, useCases: before.useCases! + 7 });
    else expect(group).toBeUndefined();
    // In whatever order the database ran them (PostgreSQL runs them side by side).
    expect(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])).sort()).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([
      'Error: use case 3 fails',
    ]);
    // Sequences stay contiguous: the failed use case's row and its sequence were rolled back.
    expect(committed.sort()).toEqual([0, 1, 2, 4, 5, 6, 7]);
    expect(await count()).toBe(7);
    await new Promise((r) => setTimeout(r, 20));
    // Every hook ran after its use case was durable: the reads it started saw committed rows.
    expect(seenAtHook.every((n) => n >= 1)).toBe(true);
    // A unique-constraint race inside a shared commit is retried alone and then decided again.
    let attempts = 0;
    const racing = inTransaction(db, async ({ trx }) => {
      attempts++;
      if (attempts === 1) await insertSession(trx, session('s1', 'a', 'pending'));
      if (attempts === 1) await insertSession(trx, session('s2', 'a', 'authenticated'));
      return attempts;
    });
    const other = inTransaction(db, ({ trx }) =>
      enqueueOutbox(trx, { accountId: 'a', type: 'sync.request', payload: {} }, 1),
    );
    expect(await racing).toBe(2);
    expect(Number((await other).sequence)).toBe(8);
    expect(await db.selectFrom('sessions').selectAll().execute()).toEqual([]);
  });

  it('gives the event loop a turn between shared commits while use cases keep coming', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    await insertAccount(db, { accountId: 'a', registeredBy: 'test' }, 1);
    // Each use case queues the next from its after-commit hook, as a fan-out's hand-off does.
    let runs = 0;
    let between: number | null = null;
    const chain = (): Promise<void> =>
      inTransaction(db, async ({ trx, afterCommit }) => {
        runs++;
        if (runs === 1) setImmediate(() => (between = runs));
        await enqueueOutbox(trx, { accountId: 'a', type: 'sync.request', payload: {} }, 1);
        if (runs < 30) afterCommit(() => void chain());
      });
    await chain();
    await vi.waitFor(() => expect(runs).toBe(30));
    expect(between, 'a callback queued by the first ran before the last').not.toBeNull();
    expect(between).toBeLessThan(30);
  });

  it('delivers every message to every subscription at least once, in order, redelivering after a failure', async (t) => {
    if (!target) return t.skip();
    const db = database.db;
    const bus = new EmbeddedBus({
      db,
      dialect: database.dialect,
      notifier,
      clock,
      logger: pino({ level: 'silent' }),
      pollMs: 20,
    });
    const a: BusMessage[] = [];
    const b: BusMessage[] = [];
    let failOnce = true;
    const subA = bus.subscribe('orders', 'alpha', async (m) => {
      if (failOnce && (m.body as { n: number }).n === 2) {
        failOnce = false;
        throw new Error('transient');
      }
      a.push(m);
    });
    const subB = bus.subscribe('orders', 'beta', async (m) => {
      b.push(m);
    });
    for (let n = 1; n <= 5; n++) await bus.publish('orders', { n }, { messageId: `m${n}` });
    await bus.publish('orders', { n: 1 }, { messageId: 'm1' }); // same id: stored once
    await bus.publish('other', { n: 99 });
    await eventually(async () => a.length >= 5 && b.length >= 5, 10_000);
    expect(a.map((m) => (m.body as { n: number }).n)).toEqual([1, 2, 3, 4, 5]);
    expect(b.map((m) => m.messageId)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    await subA.close();
    await subB.close();

    // A restarted consumer resumes after its committed offset.
    const again: BusMessage[] = [];
    await bus.publish('orders', { n: 6 });
    const subA2 = bus.subscribe('orders', 'alpha', async (m) => {
      again.push(m);
    });
    await eventually(async () => again.length >= 1, 10_000);
    expect(again.map((m) => (m.body as { n: number }).n)).toEqual([6]);
    await subA2.close();
    await bus.close();
  });
});
