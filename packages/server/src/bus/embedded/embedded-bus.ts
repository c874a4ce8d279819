/**
 * The embedded bus: messages live in the same database as everything else and are written
 * before `publish` returns (or with the caller's transaction), so a crash loses nothing.
 * Consumers keep a cursor per (subscription, topic) and advance it in the same transaction
 * as the handler's writes.
 *
 * Reading order: on PostgreSQL, positions come from a sequence and a later position can
 * commit before an earlier one. Readers therefore order by (writing transaction id, position)
 * and read only messages of transactions older than every transaction still writing in the
 * schema (`settledHorizon`): no message can later appear before a cursor. A long-running
 * writing transaction delays delivery; it never causes a skip. On SQLite there is one writer
 * at a time and tx is 0.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { DB, Db } from '../../store/schema.js';
import type { Dialect } from '../../store/database.js';
import { newId } from '../../store/ids.js';
import { inTransaction } from '../../store/transaction.js';
import { busChannel, waitFor, type Notifier } from '../../notify/notifier.js';
import type { Bus, BusHandler, BusMessage, PublishOptions, Subscription } from '../bus.js';

/** How soon a consumer looks again at a message waiting for older transactions to end. */
const UNSETTLED_RETRY_MS = 10;
/** A consumer whose handler or database failed looks again after 200 ms, doubling to 30 s. */
const DELIVERY_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 200, maxMs: 30_000 });

export interface EmbeddedBusOptions {
  db: Kysely<DB>;
  dialect: Dialect;
  notifier: Notifier;
  clock: Clock;
  logger: Logger;
  /** How often consumers look for messages published by other processes that could not wake them. */
  pollMs: number;
}

export class EmbeddedBus implements Bus {
  private readonly consumers = new Set<Consumer>();

  constructor(private readonly opts: EmbeddedBusOptions) {}

  async publish(topic: string, body: unknown, options: PublishOptions = {}): Promise<string> {
    const messageId = options.messageId ?? newId('msg');
    const db = options.db ?? this.opts.db;
    await db
      .insertInto('bus_messages')
      .values({
        message_id: messageId,
        topic,
        body: JSON.stringify(body),
        published_at: this.opts.clock.now(),
        ...(options.headers ? { headers: JSON.stringify(options.headers) } : {}),
      })
      .onConflict((oc) => oc.column('message_id').doNothing())
      .execute();
    await this.opts.notifier.notify(db, busChannel(topic));
    return messageId;
  }

  /**
   * `batch`: messages handed over in one transaction (default 1). A failure rolls the whole
   * batch back and every message in it is delivered again, so only a handler whose effects
   * are idempotent by message id outside the transaction too (the NATS relay) takes more.
   */
  subscribe(
    topic: string,
    subscription: string,
    handler: BusHandler,
    opts: { batch?: number } = {},
  ): Subscription {
    const consumer = new Consumer(this.opts, topic, subscription, handler, opts.batch ?? 1);
    this.consumers.add(consumer);
    consumer.start();
    return {
      close: async () => {
        this.consumers.delete(consumer);
        await consumer.stop();
      },
    };
  }

  async ping(): Promise<void> {
    await this.opts.db.selectFrom('bus_messages').select('position').limit(1).execute();
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.consumers.clear();
  }
}

class Consumer {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private failures = 0;

  constructor(
    private readonly opts: EmbeddedBusOptions,
    private readonly topic: string,
    private readonly subscription: string,
    private readonly handler: BusHandler,
    private readonly batchSize: number,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let registered = false;
    while (this.running) {
      // Subscribe to the wake-up before reading so a message published in between is not slept through.
      const wake = waitFor(this.opts.notifier, busChannel(this.topic), this.opts.pollMs, this.abort.signal);
      let state: 'delivered' | 'unsettled' | 'idle' = 'idle';
      try {
        // Registered inside the loop: a database that is down at start-up is retried with back-off.
        if (!registered) registered = (await this.ensureOffset(), true);
        state = await this.deliverBatch();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        const backoff = backoffMs(DELIVERY_BACKOFF, this.failures);
        this.opts.logger.error(
          { err, topic: this.topic, subscription: this.subscription, attempt: this.failures },
          'bus delivery failed; will retry',
        );
        wake.cancel();
        await sleep(backoff, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (state === 'delivered') {
        wake.cancel();
        continue;
      }
      if (state === 'unsettled') {
        // No notification marks an older transaction ending: look again shortly.
        wake.cancel();
        await sleep(UNSETTLED_RETRY_MS, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      await wake.promise;
    }
  }

  private async ensureOffset(): Promise<void> {
    await this.opts.db
      .insertInto('bus_subscriptions')
      .values({
        subscription: this.subscription,
        topic: this.topic,
        last_position: 0,
        updated_at: this.opts.clock.now(),
      })
      .onConflict((oc) => oc.columns(['subscription', 'topic']).doNothing())
      .execute();
  }

  /**
   * Delivers the next messages (up to the batch size) in one transaction with the cursor's
   * advance: 'idle' when there is none or another replica holds the cursor, 'unsettled' when
   * the next one is committed but an older transaction still runs (it settles soon).
   */
  private async deliverBatch(): Promise<'delivered' | 'unsettled' | 'idle'> {
    return inTransaction(this.opts.db, async ({ trx, afterCommit }) => {
      let offsetQuery = trx
        .selectFrom('bus_subscriptions')
        .select(['last_tx', 'last_position'])
        .where('subscription', '=', this.subscription)
        .where('topic', '=', this.topic);
      // Replicas sharing a subscription take turns on its cursor row. One that finds it taken
      // goes back to waiting instead of queueing on the lock with a pooled connection: the
      // holder delivers what is there, and the next publication wakes everyone again.
      if (this.opts.dialect === 'postgres') offsetQuery = offsetQuery.forUpdate().skipLocked();
      const offset = await offsetQuery.executeTakeFirst();
      if (!offset) return 'idle';
      const cursor = { tx: Number(offset.last_tx), position: Number(offset.last_position) };
      const batch = await readAfter(trx, this.opts.dialect, [this.topic], cursor, this.batchSize);
      if (batch.length === 0) {
        if (this.opts.dialect !== 'postgres') return 'idle';
        const waiting = await readAfter(trx, 'unsettled', [this.topic], cursor, 1);
        return waiting.length > 0 ? 'unsettled' : 'idle';
      }
      for (const next of batch) await this.handler(next, { db: trx, afterCommit });
      const last = batch.at(-1)!;
      await trx
        .updateTable('bus_subscriptions')
        .set({
          last_tx: last.cursor.tx,
          last_position: last.cursor.position,
          updated_at: this.opts.clock.now(),
        })
        .where('subscription', '=', this.subscription)
        .where('topic', '=', this.topic)
        .execute();
      return 'delivered';
    });
  }
}

/** Where a reader stands in the bus: the last (transaction id, position) it has read. */
export interface BusCursor {
  readonly tx: number;
  readonly position: number;
}

export const busStart: BusCursor = { tx: 0, position: 0 };

export type StoredBusMessage = BusMessage & { readonly cursor: BusCursor };

/**
 * PostgreSQL: the lowest transaction id that may still write in this schema. Every
 * transaction with an id here holds a lock on one of the schema's tables (a write locks its
 * table before the id is assigned) until it ends, so the oldest lock holder bounds what can
 * still commit; with none, the next id to be assigned does. Scoping to the schema keeps
 * long transactions elsewhere on the server (a migration in another schema, another
 * application) from holding delivery back. Ids in pg_locks are 32-bit; the epoch comes from
 * the snapshot. Run as its own statement, before the read it bounds: the read's snapshot is
 * then younger than this horizon.
 */
async function settledHorizon(db: Db): Promise<number> {
  // A transaction with an id holds an exclusive lock on that id (locktype transactionid).
  const { rows } = await sql<{ horizon: string }>`
    with snap as (select txid_snapshot_xmax(txid_current_snapshot()) as xmax),
    writers as (
      select x.transactionid::text::bigint as xid
      from pg_locks r
      join pg_locks x on x.pid = r.pid and x.locktype = 'transactionid' and x.mode = 'ExclusiveLock'
      where r.locktype = 'relation'
        and r.pid <> pg_backend_pid()
        and r.database = (select oid from pg_database where datname = current_database())
        and r.relation in (
          select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema()
        )
    )
    select least(
      (select xmax from snap),
      (select min(case
        when ((select xmax from snap) >> 32 << 32) + w.xid > (select xmax from snap)
          then ((select xmax from snap) >> 32 << 32) + w.xid - 4294967296
        else ((select xmax from snap) >> 32 << 32) + w.xid
      end) from writers w)
    )::text as horizon`.execute(db);
  return Number(rows[0]!.horizon);
}

/**
 * Committed messages of `topicList` after `cursor`, in an order no later commit can precede
 * (see the module comment). The one way to read the embedded bus: consumers, the management
 * stream and tests.
 */
export async function readAfter(
  db: Db,
  dialect: Dialect | 'unsettled',
  topicList: readonly string[],
  cursor: BusCursor,
  limit: number,
): Promise<StoredBusMessage[]> {
  let query = db
    .selectFrom('bus_messages')
    .selectAll()
    .where('topic', 'in', [...topicList])
    .where((eb) =>
      eb.or([
        eb('tx', '>', cursor.tx),
        eb.and([eb('tx', '=', cursor.tx), eb('position', '>', cursor.position)]),
      ]),
    )
    .orderBy('tx')
    .orderBy('position')
    .limit(limit);
  if (dialect === 'postgres') query = query.where('tx', '<', await settledHorizon(db));
  const rows = await query.execute();
  return rows.map((r) => ({
    messageId: r.message_id,
    topic: r.topic,
    body: JSON.parse(r.body) as unknown,
    publishedAt: Number(r.published_at),
    ...(r.headers ? { headers: JSON.parse(r.headers) as Record<string, string> } : {}),
    cursor: { tx: Number(r.tx), position: Number(r.position) },
  }));
}

/** The cursor of the newest settled message of `topicList` (where a live reader starts). */
export async function latestCursor(
  db: Db,
  dialect: Dialect,
  topicList: readonly string[],
): Promise<BusCursor> {
  let query = db
    .selectFrom('bus_messages')
    .select(['tx', 'position'])
    .where('topic', 'in', [...topicList])
    .orderBy('tx', 'desc')
    .orderBy('position', 'desc')
    .limit(1);
  if (dialect === 'postgres') query = query.where('tx', '<', await settledHorizon(db));
  const row = await query.executeTakeFirst();
  return row ? { tx: Number(row.tx), position: Number(row.position) } : busStart;
}

/**
 * Every committed message of a topic, in reading order (for tests and tools). Not a cursor:
 * it includes messages of transactions that are not settled yet.
 */
export async function readTopic(db: Db, topic: string, limit = 1000): Promise<StoredBusMessage[]> {
  return readAfter(db, 'unsettled', [topic], busStart, limit);
}
