import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../store/database.js';
import { dropTarget, freshTarget } from '../testing/databases.js';
import { eventually } from '../testing/platform.js';
import type { DatabaseTarget } from '../store/database.js';
import { PostgresNotifier } from './postgres-notifier.js';
import { waitFor } from './notifier.js';
import { inTransaction } from '../store/transaction.js';

describe('PostgreSQL notifier when its connection breaks', () => {
  let target: DatabaseTarget | null = null;
  let database: Database | undefined;
  let notifier: PostgresNotifier | undefined;
  afterEach(async () => {
    await notifier?.close();
    await database?.close();
    await dropTarget(target);
  });

  it('reports itself down until LISTEN is re-established, then wakes every waiter', async (t) => {
    target = await freshTarget('postgres');
    if (!target) return t.skip();
    database = await openDatabase(target);
    // Reconnection is held back until the test lets it through, to observe the outage.
    let allowConnect = true;
    let released: () => void = () => undefined;
    const gate = new Promise<void>((r) => (released = r));
    const pids: number[] = [];
    notifier = await PostgresNotifier.connect(
      async () => {
        if (!allowConnect) await gate;
        const client = await database!.connectListener!();
        pids.push((await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid);
        return client;
      },
      pino({ level: 'silent' }),
    );
    await expect(notifier.ping()).resolves.toBeUndefined();

    const parked = waitFor(notifier, 'account:A', 60_000);
    allowConnect = false;
    await sql`select pg_terminate_backend(${pids[0]!})`.execute(database.db);
    await eventually(
      async () =>
        notifier!.ping().then(
          () => false,
          () => true,
        ),
      10_000,
    );
    await expect(notifier.ping()).rejects.toThrow(/reconnecting/);

    released();
    // Back: the parked waiter is woken (what it waited for may have been missed while away).
    expect(await parked.promise).toBe(true);
    await expect(notifier.ping()).resolves.toBeUndefined();
    const next = waitFor(notifier, 'account:B', 10_000);
    const other = new pg.Client({ connectionString: target.dialect === 'postgres' ? target.url : '' });
    await other.connect();
    await other.query(`select pg_notify('kopitra_wake', 'account:B')`);
    await other.end();
    expect(await next.promise).toBe(true);
  });
});

describe('PostgreSQL notifier inside a transaction', () => {
  let target: DatabaseTarget | null = null;
  let database: Database | undefined;
  const notifiers: PostgresNotifier[] = [];
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    await database?.close();
    await dropTarget(target);
  });

  it('sends its wake-ups after the commit, outside the writing transaction, and none on rollback', async (t) => {
    target = await freshTarget('postgres');
    if (!target) return t.skip();
    const db = (database = await openDatabase(target));
    const sender = await PostgresNotifier.connect(() => db.connectListener!(), pino({ level: 'silent' }));
    // Another replica: it hears what the first sends.
    const replica = await PostgresNotifier.connect(() => db.connectListener!(), pino({ level: 'silent' }));
    notifiers.push(sender, replica);

    const rolledBack = waitFor(replica, 'account:R', 1_000);
    await expect(
      inTransaction(db.db, async ({ trx }) => {
        await sender.notify(trx, 'account:R');
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await rolledBack.promise).toBe(false);

    // Who sent it: a raw listener sees the sending backend's pid.
    const listener = await db.connectListener!();
    const senders: number[] = [];
    listener.on('notification', (m) => {
      if (m.payload === 'account:C') senders.push(m.processId);
    });
    await listener.query('listen kopitra_wake');
    const woken = waitFor(replica, 'account:C', 10_000);
    const writer = await inTransaction(db.db, async ({ trx }) => {
      await sender.notifyMany(trx, ['account:C']);
      return (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid;
    });
    expect(await woken.promise).toBe(true);
    await eventually(async () => senders.length > 0, 5_000);
    await listener.end();
    // Not the writing transaction: it ran no NOTIFY, so it took no database-wide lock at commit.
    expect(senders).toHaveLength(1);
    expect(senders[0]).not.toBe(writer);
  });
});
