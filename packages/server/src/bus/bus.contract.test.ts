/**
 * The bus contract: one suite, every adapter. Publishers race in their own transactions and
 * commit out of order; every subscription still gets every committed message, nothing of a
 * rolled-back transaction, and a handler's failure means redelivery.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { openNotifier } from '../runtime.js';
import type { Notifier } from '../notify/notifier.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from '../store/database.js';
import { inTransaction } from '../store/transaction.js';
import { dropTarget, freshTarget, NATS_URL, natsOrSkip } from '../testing/databases.js';
import { eventually } from '../testing/platform.js';
import type { Bus, BusHandler, BusMessage } from './bus.js';
import { EmbeddedBus } from './embedded/embedded-bus.js';
import { NatsBus } from './nats/nats-bus.js';
import { natsTarget } from './nats/target.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

interface AdapterCase {
  name: string;
  dialect: 'sqlite' | 'postgres';
  /** Concurrent publishers in the race test. */
  publishers: number;
  open(database: Database, notifier: Notifier, topic: string): Promise<Bus | null>;
}

const logger = pino({ level: 'silent' });

const embedded = (database: Database, notifier: Notifier): Promise<EmbeddedBus> =>
  Promise.resolve(
    new EmbeddedBus({
      db: database.db,
      dialect: database.dialect,
      notifier,
      clock: systemClock,
      logger,
      pollMs: 50,
    }),
  );

/** Run after each test: removes what a test left on a shared server. */
const cleanups: Array<() => Promise<void>> = [];

const nats = async (database: Database, notifier: Notifier, topic: string): Promise<Bus | null> => {
  if (!(await natsOrSkip())) return null;
  // A namespace of its own: other runs on the same server never see these streams.
  const target = natsTarget(NATS_URL, `t${randomBytes(4).toString('hex')}`)!;
  cleanups.push(async () => {
    const nc = await connect({ servers: [...target.servers] });
    try {
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names())
        if (name.startsWith(`${target.namespace}_`)) await jsm.streams.delete(name);
    } finally {
      await nc.close();
    }
  });
  return new NatsBus({
    target,
    db: database.db,
    outbox: await embedded(database, notifier),
    topics: [topic],
    logger,
    onDeadLetter: async () => undefined,
  });
};

export const adapterCases: AdapterCase[] = [
  { name: 'embedded on SQLite', dialect: 'sqlite', publishers: 8, open: embedded },
  { name: 'embedded on PostgreSQL', dialect: 'postgres', publishers: 8, open: embedded },
  { name: 'NATS JetStream on PostgreSQL', dialect: 'postgres', publishers: 8, open: nats },
];

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const n = (m: BusMessage) => (m.body as { n: number }).n;

describe.each(adapterCases)('bus contract: $name', (adapter) => {
  let target: DatabaseTarget | null;
  let database: Database;
  let notifier: Notifier;
  let bus: Bus | null;
  const topic = `contract.${Math.random().toString(36).slice(2, 8)}`;

  beforeEach(async () => {
    target = await freshTarget(adapter.dialect);
    if (!target) return;
    // Enough connections for every publisher and the consumer at once.
    if (target.dialect === 'postgres') target = { ...target, poolSize: adapter.publishers + 4 };
    database = await openDatabase(target);
    await migrate(database);
    notifier = await openNotifier(database);
    bus = await adapter.open(database, notifier, topic);
  });

  afterEach(async () => {
    if (!target) return;
    await bus?.close();
    for (const fn of cleanups.splice(0)) await fn();
    await notifier.close();
    await database.close();
    await dropTarget(target);
  });

  it('delivers every message committed by concurrent publishers, whatever order they commit in', async (t) => {
    if (!target || !bus) return t.skip();
    const b = bus;
    const received: BusMessage[] = [];
    const sub = b.subscribe(topic, 'race', async (m) => {
      received.push(m);
    });
    const expected = new Set<number>();
    if (adapter.dialect === 'postgres') {
      // Each round, the publishers take their positions in turn, then commit in the reverse
      // order with a pause between commits: later positions are visible while earlier ones
      // are still in flight, which is what concurrent writers on PostgreSQL produce.
      for (let round = 0; round < 5; round++) {
        const inserted = Array.from({ length: adapter.publishers }, deferred);
        const committed = Array.from({ length: adapter.publishers }, deferred);
        await Promise.all(
          Array.from({ length: adapter.publishers }, async (_, p) => {
            const value = round * 100 + p;
            expected.add(value);
            if (p > 0) await inserted[p - 1]!.promise;
            await inTransaction(database.db, async ({ trx }) => {
              // Some other write first, as a use case does before it publishes: the
              // transaction's id is older than the message it is about to write.
              await trx
                .insertInto('kv')
                .values({ key: `race:${value}`, value: '' })
                .execute();
              await sleep(5);
              await b.publish(topic, { n: value }, { db: trx, messageId: `race-${value}` });
              inserted[p]!.resolve();
              if (p < adapter.publishers - 1) await committed[p + 1]!.promise;
              await sleep(20);
            }).finally(() => committed[p]!.resolve());
          }),
        );
      }
    } else {
      // SQLite has one writer at a time (BEGIN IMMEDIATE takes the lock), so transactions
      // cannot interleave: the publishers race for it and hold it for a random while.
      await Promise.all(
        Array.from({ length: adapter.publishers }, async (_, p) => {
          for (let i = 0; i < 10; i++) {
            const value = p * 100 + i;
            expected.add(value);
            await inTransaction(database.db, async ({ trx }) => {
              await b.publish(topic, { n: value }, { db: trx, messageId: `race-${value}` });
              await sleep(Math.floor(Math.random() * 5));
            });
          }
        }),
      );
    }
    // A last message after every publisher has committed: once it is delivered, anything
    // skipped stays skipped.
    await b.publish(topic, { n: -1 }, { messageId: 'race-last' });
    await eventually(async () => received.some((m) => n(m) === -1), 20_000);
    await sleep(100);
    await sub.close();
    const got = received.map(n).filter((v) => v !== -1);
    const missing = [...expected].filter((v) => !got.includes(v));
    expect(missing).toEqual([]);
    expect(got.length).toBe(expected.size);
  }, 60_000);

  it('delivers to every subscription, never a rolled-back message, and redelivers after a handler failure', async (t) => {
    if (!target || !bus) return t.skip();
    const b = bus;
    const alpha: number[] = [];
    const beta: number[] = [];
    let failOnce = true;
    const subA = b.subscribe(topic, 'alpha', async (m) => {
      if (failOnce && n(m) === 2) {
        failOnce = false;
        throw new Error('transient');
      }
      alpha.push(n(m));
    });
    const subB = b.subscribe(topic, 'beta', async (m) => {
      beta.push(n(m));
    });
    for (let i = 1; i <= 3; i++) await b.publish(topic, { n: i }, { messageId: `m${i}` });
    await expect(
      inTransaction(database.db, async ({ trx }) => {
        await b.publish(topic, { n: 99 }, { db: trx });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await b.publish(topic, { n: 1 }, { messageId: 'm1' }); // the same id again: one message
    await b.publish(topic, { n: 4 }, { messageId: 'm4' });
    await eventually(async () => alpha.length >= 4 && beta.length >= 4, 20_000);
    await sleep(100);
    // Order is not part of the contract (a redelivered message may come after later ones).
    expect(alpha.sort()).toEqual([1, 2, 3, 4]);
    expect(beta.sort()).toEqual([1, 2, 3, 4]);
    await subA.close();
    await subB.close();
  }, 60_000);

  it('commits handler effects exactly once with the delivery, and resumes after a restart', async (t) => {
    if (!target || !bus) return t.skip();
    const b = bus;
    const write: BusHandler = async (m, ctx) => {
      await ctx.db
        .insertInto('kv')
        .values({ key: `seen:${m.messageId}`, value: String(n(m)) })
        .execute();
    };
    const sub = b.subscribe(topic, 'effects', write);
    for (let i = 1; i <= 5; i++) await b.publish(topic, { n: i }, { messageId: `e${i}` });
    const seen = async () =>
      (await database.db.selectFrom('kv').select('key').where('key', 'like', 'seen:%').execute()).length;
    await eventually(async () => (await seen()) === 5, 20_000);
    await sub.close();
    await b.publish(topic, { n: 6 }, { messageId: 'e6' });
    // A unique-key clash would fail the handler if anything were delivered twice.
    const again = b.subscribe(topic, 'effects', write);
    await eventually(async () => (await seen()) === 6, 20_000);
    await sleep(100);
    expect(await seen()).toBe(6);
    await again.close();
  }, 60_000);

  it('hands every subscription the headers a message was published with (the trace context)', async (t) => {
    if (!target || !bus) return t.skip();
    const b = bus;
    const got = new Map<string, BusMessage['headers']>();
    const subs = ['h1', 'h2'].map((name) =>
      b.subscribe(topic, name, async (m) => {
        got.set(`${name}:${m.messageId}`, m.headers);
      }),
    );
    const traced = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'kopitra=1',
    };
    await inTransaction(database.db, ({ trx }) =>
      b.publish(topic, { n: 1 }, { db: trx, messageId: 'with-headers', headers: traced }),
    );
    await b.publish(topic, { n: 2 }, { messageId: 'without-headers' });
    await eventually(async () => got.size === 4, 20_000);
    for (const name of ['h1', 'h2']) {
      expect(got.get(`${name}:with-headers`)).toEqual(traced);
      expect(got.get(`${name}:without-headers`)).toBeUndefined();
    }
    await Promise.all(subs.map((s) => s.close()));
  }, 60_000);
});
