/**
 * Wake-ups over NATS core subjects against a real nats-server: sent on commit only, to the
 * other replicas (this process wakes its own listeners directly), none for a rolled-back
 * transaction; the outbox rows they carry arrive intact, split under the size cap, a follower
 * too big for any message woken plainly and a malformed message taken as a plain wake-up.
 * Through two gateway replicas see cross-replica.test.ts.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { natsTarget } from '../bus/nats/target.js';
import { connect } from '@nats-io/transport-node';
import { openDatabase, migrate, type Database } from '../store/database.js';
import type { OutboxRow } from '../store/outbox.js';
import { inTransaction } from '../store/transaction.js';
import { NATS_URL, dropTarget, freshTarget, natsOrSkip } from '../testing/databases.js';
import type { DatabaseTarget } from '../store/database.js';
import { accountChannel, waitFor, type OutboxRowsOf } from './notifier.js';
import { NatsNotifier } from './nats-notifier.js';

const silent = pino({ level: 'silent' });
const namespace = () => `wake${randomBytes(4).toString('hex')}`;

/** Counts the notifications of `channel` on `n`. */
function counter(n: NatsNotifier, channel: string) {
  const c = { count: 0 };
  n.on(channel, () => c.count++);
  return c;
}

describe('NATS wake-ups', () => {
  let target: DatabaseTarget | null = null;
  let database: Database | undefined;
  const notifiers: NatsNotifier[] = [];
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    await database?.close();
    await dropTarget(target);
  });

  it('wakes the other replica on commit, this one directly, and sends nothing for a rollback', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    target = await freshTarget('sqlite');
    database = await openDatabase(target!);
    await migrate(database);
    const nats = natsTarget(NATS_URL, namespace())!;
    const a = await NatsNotifier.connect(nats, silent);
    const b = await NatsNotifier.connect(nats, silent);
    notifiers.push(a, b);
    const [aX, aY, bX, bY] = [counter(a, 'x'), counter(a, 'y'), counter(b, 'x'), counter(b, 'y')];
    const bothOnB = Promise.all([waitFor(b, 'x', 10_000).promise, waitFor(b, 'y', 10_000).promise]);

    await inTransaction(database.db, async ({ trx }) => {
      // `y` was handed to this process's waiters already: only other replicas wake for it.
      await a.notifyMany(trx, ['x', 'y'], new Set(['y']));
      expect([aX.count, bX.count]).toEqual([0, 0]);
    });
    expect(await bothOnB).toEqual([true, true]);
    expect([aX.count, aY.count, bX.count, bY.count]).toEqual([1, 0, 1, 1]);

    const rolledBack = counter(b, 'rolled-back');
    await expect(
      inTransaction(database.db, async ({ trx }) => {
        await a.notify(trx, 'rolled-back');
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    // Messages of one connection arrive in order: once the marker is in, the rolled-back
    // wake-up would have been too.
    const marker = waitFor(b, 'marker', 10_000).promise;
    await a.notify(database.db, 'marker');
    expect(await marker).toBe(true);
    expect(rolledBack.count).toBe(0);
    await a.ping();
  });
});

/** `n` committed-looking rows of `accountId`, from `sequence` on, each with a payload of `bytes`. */
function rowsFor(accountId: string, sequence: number, n: number, bytes = 40): OutboxRow[] {
  return Array.from({ length: n }, (_, k) => ({
    event_id: `evt_${accountId}_${sequence + k}`,
    account_id: accountId,
    sequence: sequence + k,
    type: 'trade.started',
    payload: JSON.stringify({ orderId: `ord_${k}`, note: 'é"\\'.padEnd(bytes, 'x') }),
    target_session_id: null,
    occurred_at: 1_767_600_000_000 + k,
    delivered_at: null,
    acked_at: null,
    acked_by_session: null,
    trace_context: k % 2 ? null : '{"traceparent":"00-aa-bb-01"}',
  }));
}

describe('outbox rows carried in NATS wake-ups', () => {
  let target: DatabaseTarget | null = null;
  let database: Database | undefined;
  const notifiers: NatsNotifier[] = [];
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    await database?.close();
    await dropTarget(target);
  });

  async function pair(maxMessageBytes: number) {
    target = await freshTarget('sqlite');
    database = await openDatabase(target!);
    await migrate(database);
    const nats = natsTarget(NATS_URL, namespace())!;
    const a = await NatsNotifier.connect(nats, silent, { maxMessageBytes });
    const b = await NatsNotifier.connect(nats, silent);
    notifiers.push(a, b);
    return { a, b, nats };
  }

  it('splits a fan-out under the size cap, every row intact once, a follower too big woken plainly', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    const { a, b } = await pair(4096);
    const received: OutboxRowsOf[] = [];
    // The receiver takes over every channel it is offered, as a gateway with parked readers would.
    b.receiveRows((rowsOf) => {
      received.push(rowsOf);
      return new Set([...rowsOf.keys()].map(accountChannel));
    });
    const accounts = Array.from({ length: 12 }, (_, i) => `acc_${i}`);
    const rowsOf = new Map(accounts.map((id, i) => [id, rowsFor(id, 10 + i, 3)]));
    rowsOf.set('acc_big', rowsFor('acc_big', 1, 2, 5000));
    const channels = [...rowsOf.keys(), 'acc_none'].map(accountChannel);
    const plain = channels.map((c) => counter(b, c));
    const big = waitFor(b, accountChannel('acc_big'), 10_000).promise;
    const none = waitFor(b, accountChannel('acc_none'), 10_000).promise;
    // acc_0 was handed off in the sending process: the others wake for it, without its rows.
    await inTransaction(database!.db, async ({ trx }) => {
      await a.notifyMany(trx, channels, new Set([accountChannel('acc_0')]), rowsOf);
    });
    expect(await big).toBe(true);
    expect(await none).toBe(true);
    const marker = waitFor(b, 'marker', 10_000).promise;
    await a.notify(database!.db, 'marker');
    expect(await marker).toBe(true);

    expect(received.length).toBeGreaterThan(1);
    const carried = new Map<string, readonly OutboxRow[]>();
    for (const m of received)
      for (const [id, rows] of m) {
        expect(carried.has(id)).toBe(false);
        carried.set(id, rows);
      }
    expect([...carried.keys()].sort()).toEqual(accounts.slice(1).sort());
    for (const [id, rows] of carried) expect(rows).toEqual(rowsOf.get(id));
    // Plain wake-ups exactly for what was not carried: the handed-off, the too big, the row-less.
    expect(plain.map((c) => c.count)).toEqual(
      channels.map((c) => (['acc_0', 'acc_big', 'acc_none'].map(accountChannel).includes(c) ? 1 : 0)),
    );
  });

  it('takes a malformed message as a plain wake-up and ignores rows without a receiver', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    const { b, nats } = await pair(1024 * 1024);
    const offered: OutboxRowsOf[] = [];
    b.receiveRows((rowsOf) => {
      offered.push(rowsOf);
      return new Set([...rowsOf.keys()].map(accountChannel));
    });
    const raw = await connect({ servers: [...nats.servers] });
    try {
      const woken = counter(b, accountChannel('acc_x'));
      const good = [['acc_x', 'evt_1', 1, 'trade.started', 1, '{}', null, null]];
      const bad = [
        [['acc_x', 'evt_1', 0, 'trade.started', 1, '{}', null, null]],
        [['acc_x', 'evt_1', 1, 'trade.started', 1, 7, null, null]],
        [['acc_x', 'evt_1', 1, 'trade.started', 1, '{}', null]],
        'rows',
        [...good, null],
      ];
      for (const e of bad)
        raw.publish(`${nats.namespace}.wake`, JSON.stringify({ o: 'peer', c: ['account:acc_x'], e }));
      raw.publish(`${nats.namespace}.wake`, JSON.stringify({ o: 'peer', c: ['account:acc_x'], e: good }));
      await raw.flush();
      const marker = waitFor(b, 'marker', 10_000).promise;
      raw.publish(`${nats.namespace}.wake`, JSON.stringify({ o: 'peer', c: ['marker'] }));
      expect(await marker).toBe(true);
      expect(woken.count).toBe(bad.length);
      expect(offered).toHaveLength(1);
      expect(offered[0]!.get('acc_x')!.map((r) => [r.event_id, r.sequence, r.delivered_at])).toEqual([
        ['evt_1', 1, null],
      ]);
    } finally {
      await raw.close();
    }
  });
});
