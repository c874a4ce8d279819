/**
 * The gateway side of the fan-out bench, run in a worker thread: the gateway
 * (`startPlatform`) and the bare Fastify baseline listen on loopback ports here, on this
 * thread's event loop, while the bench's clients (master and followers) run on the main
 * thread — as EAs run on other machines. Answers a few requests from the bench over
 * `postMessage`: is every follower's long poll parked, time a plain N-row insert, count rows.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import { accountChannel, loadConfig, startPlatform } from '../../packages/server/dist/index.js';
import { inTransaction } from '../../packages/server/dist/store/transaction.js';
import { startBareApp } from './baseline.js';

const { env, target } = workerData;
// The gateway alone, as a gateway replica runs: no management API, audit consumer or console.
const platform = await startPlatform(loadConfig(env), {
  databaseTarget: target,
  listen: true,
  serve: { gateway: true, management: false },
  consoleDir: null,
});
const bare = await startBareApp();
const db = platform.database.db;

/** Rounds of `select 1` queued behind the polls' first reads; a poll reads twice before it waits. */
const DRAIN_ROUNDS = 3;
const SETTLE_MS = 2;

/**
 * Resolves once every account has a wake-up waiter registered (its long poll is held) and
 * the polls' first outbox reads are done. The waiter is registered before that read, so the
 * count alone is not enough: a few `select 1` queued behind the reads (SQLite runs queries in
 * order on its one connection, the pg pool hands out connections in order) mark their end.
 */
async function parked(accounts) {
  const emitter = platform.notifier.emitter;
  if (!emitter || typeof emitter.listenerCount !== 'function')
    throw new Error('the notifier has no readable emitter; cannot tell when polls are parked');
  const started = performance.now();
  const channels = accounts.map(accountChannel);
  for (;;) {
    const missing = channels.reduce((n, c) => n + (emitter.listenerCount(c) === 0 ? 1 : 0), 0);
    if (missing === 0) break;
    if (performance.now() - started > 20_000)
      throw new Error(`${missing} of ${channels.length} long polls never registered a wake-up waiter`);
    await nextTurn();
  }
  for (let i = 0; i < DRAIN_ROUNDS; i++) await sql`select 1`.execute(db);
  await sleep(SETTLE_MS);
  return { waitedMs: performance.now() - started };
}

// A copy order / outbox row's worth of text, for the insert baseline.
const PAYLOAD = JSON.stringify({
  orderId: 'ord_0123456789abcdefghij',
  masterAccountId: 'bench-m-1000',
  masterPositionId: '1000001',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  sl: null,
  tp: null,
  masterPrice: 1.1,
  maxSlippage: null,
  expiresAt: '2026-01-01T00:00:00.000Z',
  comment: 'kp:0123abcd:1000001',
  pad: 'x'.repeat(200),
});
let scratchRows = 0;

/**
 * N rows into a scratch table in one transaction, twice: as multi-row statements of 100 (how
 * `insertOrders` writes copy orders) and as one statement per row (how the outbox events,
 * their sequences and the links are written). Returns the median of `reps` runs of each (after one untimed run), ms.
 */
async function insertBaseline(n, reps) {
  await sql`create table if not exists bench_scratch (id text primary key, account_id text not null, seq bigint not null, payload text not null)`.execute(
    db,
  );
  const rows = () =>
    Array.from({ length: n }, (_, i) => ({
      id: `r${++scratchRows}`,
      account_id: `acct-${i}`,
      seq: scratchRows,
      payload: PAYLOAD,
    }));
  const time = async (fn) => {
    const out = [];
    // One untimed run first: the statements' first use (preparing, the JIT) is not the cost measured.
    for (let r = -1; r < reps; r++) {
      const batch = rows();
      const t = performance.now();
      await inTransaction(db, ({ trx }) => fn(trx, batch));
      if (r >= 0) out.push(performance.now() - t);
    }
    out.sort((a, b) => a - b);
    return out[Math.floor(out.length / 2)];
  };
  const batchedMs = await time(async (trx, batch) => {
    for (let i = 0; i < batch.length; i += 100)
      await trx
        .insertInto('bench_scratch')
        .values(batch.slice(i, i + 100))
        .execute();
  });
  const perRowMs = await time(async (trx, batch) => {
    for (const row of batch) await trx.insertInto('bench_scratch').values(row).execute();
  });
  await sql`delete from bench_scratch`.execute(db);
  return { rows: n, batchedMs, perRowMs };
}

/** Rows the bench checks at the end: nothing left unacknowledged, no copy order skipped. */
async function counts(prefix) {
  const unacked = await db
    .selectFrom('outbox_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('account_id', 'like', `${prefix}%`)
    .where('acked_at', 'is', null)
    .executeTakeFirstOrThrow();
  const byStatus = await db
    .selectFrom('copy_orders')
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .where('follower_account_id', 'like', `${prefix}%`)
    .groupBy('status')
    .execute();
  return {
    unackedOutbox: Number(unacked.n),
    ordersByStatus: Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])),
  };
}

/** Fan-out events answered from memory versus read after a wake-up (kopitra_outbox_handoffs_total). */
async function handoffs() {
  const metric = platform.gateway.metrics?.outboxHandoffs;
  const values = metric ? (await metric.get()).values : [];
  const of = (outcome) => values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { taken: of('taken'), read: of('read') };
}

/** Resolves once every account's stream is parked for a hand-off (its reads done). */
async function streamsParked(accounts) {
  const started = performance.now();
  const handoff = platform.gateway.handoff;
  for (;;) {
    const missing = accounts.length - handoff.parkedAmong(accounts).length;
    if (missing === 0) break;
    if (performance.now() - started > 20_000)
      throw new Error(`${missing} of ${accounts.length} streams never parked`);
    await nextTurn();
  }
  for (let i = 0; i < DRAIN_ROUNDS; i++) await sql`select 1`.execute(db);
  await sleep(SETTLE_MS);
  return { waitedMs: performance.now() - started };
}

const handlers = {
  handoffs: () => handoffs(),
  streamsParked: ({ accounts }) => streamsParked(accounts),
  parked: ({ accounts }) => parked(accounts),
  insertBaseline: ({ n, reps }) => insertBaseline(n, reps),
  counts: ({ prefix }) => counts(prefix),
  async stop() {
    await bare.close();
    await platform.stop();
    setImmediate(() => parentPort.close());
    return {};
  },
};

parentPort.on('message', async ({ id, op, args }) => {
  try {
    parentPort.postMessage({ id, result: await handlers[op](args ?? {}) });
  } catch (err) {
    parentPort.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
parentPort.postMessage({
  op: 'ready',
  url: platform.url,
  bareUrl: bare.url,
  pgPoolSize: target.poolSize ?? null,
});
