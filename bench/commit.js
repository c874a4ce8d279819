/**
 * commit: what SQLite's group commit saves on the followers' own traffic. After a signal, each
 * follower acknowledges its event (POST /inbox: the acknowledgement and the idempotency record,
 * one use case). Rounds of 100 such use cases at once run alternately with a transaction and
 * a commit each (the baseline, Kysely's own transaction) and through `inTransaction`, where
 * those waiting share a commit — the same database, the same run. Exits 1 on a wrong answer
 * (an event left unacknowledged, a use case lost).
 *
 *   node bench/run.js commit [--quick] [--out FILE]
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, openDatabase } from '../packages/server/dist/store/database.js';
import { insertAccount } from '../packages/server/dist/store/accounts.js';
import { saveIdempotent } from '../packages/server/dist/store/idempotency.js';
import { ackOutbox, enqueueOutbox } from '../packages/server/dist/store/outbox.js';
import { groupCommitOf, inTransaction } from '../packages/server/dist/store/transaction.js';
import { median, round, summarize, table } from './lib/stats.js';
import { machine, openTarget, reportResult } from './lib/target.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const COMMIT_OUT = path.join(HERE, 'results', 'commit.json');
const FOLLOWERS = 100;

export async function runCommit({ quick = false, out = COMMIT_OUT, log = console.log } = {}) {
  // History first: a fresh database's indexes fit in a page or two, and a commit costs little.
  const plan = quick ? { history: 20, rounds: 6 } : { history: 200, rounds: 40 };
  const loadAtStart = round(os.loadavg()[0], 2);
  const { target, drop } = await openTarget('sqlite');
  const database = await openDatabase(target);
  try {
    await migrate(database);
    const db = database.db;
    for (let i = 0; i < FOLLOWERS; i++)
      await insertAccount(db, { accountId: `F${i}`, registeredBy: 'bench' }, 1);
    let key = 0;
    const ack = (trx, event) =>
      ackOutbox(
        trx,
        {
          accountId: event.account_id,
          sessionId: 'bench',
          eventId: event.event_id,
          sequence: Number(event.sequence),
          onlyTargeted: false,
        },
        2,
      ).then(async (outcome) => {
        await saveIdempotent(
          trx,
          {
            accountId: event.account_id,
            key: `k${key++}`,
            route: 'POST /inbox',
            requestHash: 'h',
            statusCode: 202,
            body: { accepted: 0, acked: 1, refused: [] },
          },
          2,
        );
        return outcome;
      });
    const ways = {
      each: (fn) => db.transaction().execute(fn),
      grouped: (fn) => inTransaction(db, ({ trx }) => fn(trx)),
    };
    const errors = [];
    const round100 = async (run) => {
      const events = [];
      for (let i = 0; i < FOLLOWERS; i++)
        events.push(await enqueueOutbox(db, { accountId: `F${i}`, type: 'sync.request', payload: { i } }, 1));
      const latencies = [];
      const started = performance.now();
      const outcomes = await Promise.all(
        events.map((e) => {
          const t0 = performance.now();
          return run((trx) => ack(trx, e)).then((outcome) => {
            latencies.push(performance.now() - t0);
            return outcome;
          });
        }),
      );
      const wrong = outcomes.filter((o) => o !== 'acked').length;
      if (wrong) errors.push(`${wrong} of ${FOLLOWERS} acknowledgements answered other than acked`);
      return { totalMs: performance.now() - started, latencies };
    };
    for (let i = 0; i < plan.history; i++) await round100(ways.each);
    const group = groupCommitOf(db);
    const before = { ...group.stats };
    const rounds = { each: [], grouped: [] };
    for (let i = 0; i < plan.rounds; i++)
      for (const way of ['each', 'grouped']) rounds[way].push(await round100(ways[way]));
    const useCases = group.stats.useCases - before.useCases;
    const commits = group.stats.commits - before.commits;
    if (useCases < plan.rounds * FOLLOWERS)
      errors.push(`group commit ran ${useCases} use cases, expected ${plan.rounds * FOLLOWERS}`);
    const left = await db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('acked_at', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(left.n) !== 0) errors.push(`${left.n} outbox events left unacknowledged`);

    const figures = (way) => {
      const lat = summarize(rounds[way].flatMap((r) => r.latencies));
      return {
        roundMsP50: round(median(rounds[way].map((r) => r.totalMs))),
        useCaseMs: { p50: lat.p50, p99: lat.p99, n: lat.n },
      };
    };
    const each = figures('each');
    const grouped = figures('grouped');
    const result = {
      name: 'sqlite-group-commit',
      dialect: 'sqlite',
      when: new Date().toISOString(),
      node: process.version,
      machine: machine(),
      quick,
      followers: FOLLOWERS,
      rounds: plan.rounds,
      historyRounds: plan.history,
      each,
      grouped: { ...grouped, useCasesPerCommit: round(useCases / Math.max(1, commits), 1) },
      ratio: { roundGroupedOverEach: round(grouped.roundMsP50 / each.roundMsP50) },
      errors: errors.length,
      errorSamples: errors.slice(0, 5),
      setup: { loadAverage: { start: loadAtStart, end: round(os.loadavg()[0], 2) } },
    };
    log();
    log(`${FOLLOWERS} acknowledgements at once (acknowledgement + idempotency record each), SQLite`);
    log(
      table(
        ['', 'round p50, ms', 'use case p50, ms', 'use case p99, ms', 'use cases per commit'],
        [
          [
            'baseline: a transaction and a commit each',
            each.roundMsP50,
            each.useCaseMs.p50,
            each.useCaseMs.p99,
            1,
          ],
          [
            'group commit (inTransaction)',
            grouped.roundMsP50,
            grouped.useCaseMs.p50,
            grouped.useCaseMs.p99,
            result.grouped.useCasesPerCommit,
          ],
        ],
      ),
    );
    log(`group commit / baseline, round p50: ${result.ratio.roundGroupedOverEach}`);
    if (errors.length) log(`ERROR: ${errors.join('; ')}`);
    log(`(1-min load average ${loadAtStart} at the start, ${result.setup.loadAverage.end} at the end)`);
    return reportResult(result, { out, log, failed: Boolean(errors.length) });
  } finally {
    await database.close();
    await drop();
  }
}
