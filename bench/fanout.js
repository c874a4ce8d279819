/**
 * copy-fanout benchmark: one master signal (`POST /signals`) fanned out to 1…1000 followers.
 * Measures the master's round trip (the 202 is sent after the copy orders and outbox events
 * committed), how long until the last follower's held long poll is answered, sustained
 * signals per second at 100 followers, and same-run baselines. See bench/README.md.
 *
 *   node bench/fanout.js [--quick] [--dialect sqlite|postgres] [--out FILE]
 *   node bench/run.js fanout …    (the same)
 */
import { runMain } from './lib/main.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Client } from 'undici';
import { migrate, openDatabase } from '../packages/server/dist/store/database.js';
import { insertAccount } from '../packages/server/dist/store/accounts.js';
import { insertKey } from '../packages/server/dist/store/keys.js';
import { insertGroup, putSubscription } from '../packages/server/dist/store/copy.js';
import { keyFingerprint, keyHash } from '../packages/server/dist/services/secrets.js';
import { loadConfig } from '../packages/server/dist/config.js';
import { median, round, summarize, table } from './lib/stats.js';
import { checkDialect, machine, openTarget, reportResult } from './lib/target.js';
import { Terminal, expectStatus, openStream } from './lib/terminal.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const FANOUT_OUT = path.join(HERE, 'results', 'fanout.json');
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const SYMBOL_SPEC = JSON.stringify({
  symbol: 'EURUSD',
  digits: 5,
  point: 0.00001,
  tickSize: 0.00001,
  tickValue: 1,
  contractSize: 100000,
  volumeMin: 0.01,
  volumeMax: 100,
  volumeStep: 0.01,
  tradeMode: 'full',
});
// Multiplier sizing needs no balances; a generous signal age so nothing expires mid-run.
const SETTINGS = { sizing: { mode: 'multiplier', multiplier: 1 }, maxSignalAgeSec: 3600 };
const SESSION_SETUP_CONCURRENCY = 32;
const log = (line = '') => process.stdout.write(`${line}\n`);

const plans = {
  full: {
    zero: { warmup: 10, samples: 200 },
    points: [
      { followers: 1, warmup: 10, samples: 200 },
      { followers: 10, warmup: 10, samples: 200 },
      { followers: 100, warmup: 10, samples: 200 },
      { followers: 1000, warmup: 3, samples: 30 },
    ],
    // The same, the followers on the WebSocket stream instead of long polls.
    streamPoints: [
      { followers: 10, warmup: 10, samples: 200 },
      { followers: 100, warmup: 10, samples: 200 },
      { followers: 1000, warmup: 3, samples: 30 },
    ],
    // The headline is one master connection for 60 s (does the rate hold?); the second run
    // shows what concurrent requests of one master add.
    sustained: {
      followers: 100,
      decayWindowSec: 10,
      runs: [
        { lanes: 1, durationSec: 60 },
        { lanes: 4, durationSec: 8 },
      ],
    },
    // Several masters at once, each with signals in flight (PostgreSQL's concurrent writers).
    masters: { masters: 4, lanes: 4, followers: 100, durationSec: 10 },
    inserts: [
      [1, 20],
      [10, 20],
      [100, 10],
      [1000, 5],
    ],
  },
  quick: {
    zero: { warmup: 5, samples: 40 },
    points: [
      { followers: 1, warmup: 5, samples: 40 },
      { followers: 10, warmup: 5, samples: 40 },
      { followers: 100, warmup: 4, samples: 20 },
    ],
    streamPoints: [
      { followers: 10, warmup: 5, samples: 40 },
      { followers: 100, warmup: 4, samples: 20 },
    ],
    sustained: {
      followers: 100,
      decayWindowSec: 1,
      runs: [
        { lanes: 1, durationSec: 4 },
        { lanes: 4, durationSec: 3 },
      ],
    },
    masters: { masters: 4, lanes: 4, followers: 100, durationSec: 3 },
    inserts: [
      [1, 5],
      [10, 5],
      [100, 5],
    ],
  },
};

const masterOf = (tag) => `bm-${tag}`;
const followerOf = (tag, i) => `bf-${tag}-${String(i).padStart(4, '0')}`;
const keyOf = (accountId) => `bench-key-${accountId}-0123456789abcdef`;

// --- seeding (through the store, before the gateway starts) ------------------------------------

/**
 * Every account with an approved key, every follower with a one-symbol catalog, one group per
 * master. Groups: `0` (no subscriptions), one per point, one per sustained run.
 */
async function seed(target, groups) {
  const database = await openDatabase(target);
  try {
    await migrate(database);
    const now = Date.now();
    const account = async (trx, accountId) => {
      await insertAccount(trx, { accountId, platform: 'MT5', registeredBy: 'operator' }, now);
      const key = keyOf(accountId);
      await insertKey(
        trx,
        {
          accountId,
          fingerprint: keyFingerprint(accountId, key),
          keyHash: keyHash(SECRET, accountId, key),
          status: 'approved',
          origin: 'operator',
          expiresAt: null,
        },
        now,
      );
    };
    await database.db.transaction().execute(async (trx) => {
      for (const g of groups) {
        await account(trx, g.master);
        const { group_id } = await insertGroup(
          trx,
          { name: `bench ${g.tag}`, masterAccountId: g.master },
          now,
        );
        for (const f of g.followers) {
          await account(trx, f);
          await trx
            .insertInto('account_symbols')
            .values({ account_id: f, symbol: 'EURUSD', spec: SYMBOL_SPEC, updated_at: now })
            .execute();
          await putSubscription(trx, { groupId: group_id, followerAccountId: f, settings: SETTINGS }, now);
        }
      }
    });
  } finally {
    await database.close();
  }
}

// --- the gateway in a worker thread ---------------------------------------------------------------

function startServer(workerData) {
  const worker = new Worker(new URL('./lib/fanout-server.js', import.meta.url), { workerData });
  const waiting = new Map();
  let seq = 0;
  let failed = null;
  const fail = (err) => {
    failed = err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const call = (op, args) => {
    if (failed) return Promise.reject(failed);
    const id = ++seq;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, op, args });
    });
  };
  return new Promise((resolve, reject) => {
    worker.on('error', (err) => {
      fail(err);
      reject(err);
    });
    worker.on('exit', (code) => fail(new Error(`gateway worker exited (${code})`)));
    worker.on('message', (m) => {
      if (m.op === 'ready') {
        resolve({ ...m, call, worker });
        return;
      }
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.error) w?.reject(new Error(`gateway worker: ${m.error}`));
      else w?.resolve(m.result);
    });
  });
}

// --- clients ------------------------------------------------------------------------------------

async function eachLimited(items, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** Opens the session with the pre-approved key and acknowledges the init ack; returns the follower's state. */
async function connect(url, accountId, role) {
  const t = new Terminal(url, accountId, { role, authKey: keyOf(accountId) });
  const created = await t.createSession();
  if (created.status !== 'authenticated')
    throw new Error(`${accountId}: session is ${created.status}, expected authenticated (approved key)`);
  const res = await t.poll(created.lastSequence, 0);
  expectStatus(res, 200, 'first poll');
  const body = res.json();
  if (body.events.length) await t.ack(body.events);
  return { t, accountId, cursor: body.nextCursor, pending: null, tickets: 0, openTicket: null };
}

/** Holds the follower's next long poll; its promise resolves with the response and when it arrived. */
function park(f) {
  f.pending = f.t.poll(f.cursor, 30);
}

let deals = 0;
// Each open is a new master position, as in MetaTrader: a position id is never reused once
// closed (the server refuses to copy an open of a position it has seen closed).
const signalBody = (masterPositionId, open) => ({
  type: open ? 'position.opened' : 'position.closed',
  masterPositionId,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  price: 1.1,
  occurredAt: new Date().toISOString(),
  dealTicket: String(10_000_000 + ++deals),
});

/**
 * Copy orders a signal of the throughput runs wrote as it should: its followers do not poll,
 * so a close finds each copy's open undelivered and withdraws it (`master_closed`, the close
 * wins) instead of queueing a close.
 */
const answered = (body, open) =>
  body.copies.length + (open ? 0 : body.skipped.filter((x) => x.reason === 'master_closed').length);

/** Checks a 202: a copy for every follower, nothing skipped. `missing` counts the copies short of that. */
function copiesShortfall(res, followers, what) {
  expectStatus(res, 202, what);
  const body = res.json();
  const deferred = body.deferred ?? 0;
  return {
    body,
    missing: Math.max(0, followers - body.copies.length - deferred) + body.skipped.length,
    skipped: body.skipped,
  };
}

/**
 * The followers a signal's copies go to, each with the copy's order id where the 202 names it.
 * Past `KOPITRA_FANOUT_BATCH` subscriptions the 202 names the first batch and counts the rest
 * as `deferred`; the fan-out job writes them, so every follower not skipped gets one
 * (order id null: taken from its event).
 */
function copyTargets(body, followers) {
  const named = new Map(body.copies.map((c) => [c.followerAccountId, c.orderId]));
  if (!body.deferred) return body.copies.map((c) => ({ accountId: c.followerAccountId, orderId: c.orderId }));
  const skipped = new Set(body.skipped.map((k) => k.followerAccountId));
  return followers
    .filter((f) => !skipped.has(f.accountId))
    .map((f) => ({ accountId: f.accountId, orderId: named.get(f.accountId) ?? null }));
}

/**
 * What an EA does with a copy: acknowledge the event, execute it, report the fill, poll again.
 * `orderId`: the copy order the 202 named, or null for a deferred one (any one copy).
 */
async function execute(f, res, orderId, repark) {
  expectStatus(res, 200, `long poll of ${f.accountId}`);
  const body = res.json();
  const trades = body.events.filter((e) => e.type.startsWith('trade.'));
  if (trades.length !== 1 || (orderId !== null && trades[0].payload.orderId !== orderId)) {
    throw new Error(
      `${f.accountId}: long poll answered without exactly the copy order ${orderId ?? '(deferred)'}: ${res.text.slice(0, 400)}`,
    );
  }
  await f.t.ack(body.events);
  await reportFill(f, trades[0]);
  f.cursor = body.nextCursor;
  if (repark) park(f);
}

/** The fill of a copy, as the EA reports it after executing. */
async function reportFill(f, event) {
  const opened = event.type === 'trade.started';
  const ticket = opened ? String(++f.tickets) : (event.payload.ticket ?? f.openTicket);
  await f.t.execution({
    orderId: event.payload.orderId,
    status: 'filled',
    ticket,
    price: 1.1,
    volume: event.payload.volume,
    executedAt: new Date().toISOString(),
  });
  f.openTicket = opened ? ticket : null;
}

async function pingBare(bareClient) {
  const t = performance.now();
  const res = await bareClient.request({ method: 'GET', path: '/ping' });
  await res.body.text();
  return performance.now() - t;
}

// --- measurements -------------------------------------------------------------------------------

/** Signals to a master with no subscriptions: the fixed cost of POST /signals. */
async function measureZero(master, bareClient, step) {
  const commit = [];
  const bare = [];
  for (let i = 0; i < step.warmup + step.samples; i++) {
    const bareMs = await pingBare(bareClient);
    const t0 = performance.now();
    const res = await master.signal(signalBody(`900001-${i >> 1}`, i % 2 === 0));
    const { body } = copiesShortfall(res, 0, 'signal (no subscriptions)');
    if (body.copies.length || body.skipped.length)
      throw new Error(`a master without subscriptions got copies: ${res.text.slice(0, 300)}`);
    if (i >= step.warmup) {
      commit.push(res.at - t0);
      bare.push(bareMs);
    }
  }
  return { commit, bare };
}

/**
 * Every follower holds a long poll; the master posts one signal; the clock runs from the
 * request until the 202 (commit) and until each follower's poll answer. Then every follower
 * acks, reports the fill and polls again, and the next signal waits until all are parked.
 * Opens and closes alternate on one master position, so books stay one position deep.
 */
async function measurePoint(server, master, followers, step, bareClient, stats) {
  const n = followers.length;
  const byAccount = new Map(followers.map((f) => [f.accountId, f]));
  const accounts = followers.map((f) => f.accountId);
  for (const f of followers) park(f);
  await server.call('parked', { accounts });
  const s = { commit: [], last: [], median: [], lastAfterCommit: [], bare: [], parkWaitMs: [] };
  const total = step.warmup + step.samples;
  const cycleStarted = performance.now();
  for (let i = 0; i < total; i++) {
    const keep = i >= step.warmup;
    const bareMs = await pingBare(bareClient);
    const t0 = performance.now();
    const res = await master.signal(signalBody(`${100_000 + n}-${i >> 1}`, i % 2 === 0));
    const commitAt = res.at;
    const { body, missing, skipped } = copiesShortfall(res, n, `signal to ${n} followers`);
    if (missing) {
      stats.errors += missing;
      stats.skipReasons.push(...skipped.map((k) => k.reason));
    }
    // Only followers that got a copy are woken; the others' polls stay parked.
    const targets = copyTargets(body, followers);
    const answers = await Promise.all(targets.map((c) => byAccount.get(c.accountId).pending));
    const arrivals = answers.map((a) => a.at - t0).sort((a, b) => a - b);
    if (keep && arrivals.length) {
      s.commit.push(commitAt - t0);
      s.last.push(arrivals.at(-1));
      s.median.push(median(arrivals));
      s.lastAfterCommit.push(arrivals.at(-1) - (commitAt - t0));
      s.bare.push(bareMs);
    }
    const repark = i < total - 1;
    await Promise.all(
      targets.map((c, k) => execute(byAccount.get(c.accountId), answers[k], c.orderId, repark)),
    );
    if (repark) {
      const { waitedMs } = await server.call('parked', { accounts });
      if (keep) s.parkWaitMs.push(waitedMs);
    }
  }
  s.cycleSec = (performance.now() - cycleStarted) / 1000;
  return s;
}

/**
 * As `measurePoint`, the followers on the WebSocket stream: the clock runs from the request
 * until each follower's socket has received its event. Between signals each follower
 * acknowledges on the socket, reports the fill, and the next signal waits until every
 * acknowledgement is answered and every socket is parked again.
 */
async function measureStreamPoint(server, master, followers, step, bareClient, stats) {
  const n = followers.length;
  const byAccount = new Map(followers.map((f) => [f.accountId, f]));
  const accounts = followers.map((f) => f.accountId);
  await server.call('streamsParked', { accounts });
  const s = { commit: [], last: [], median: [], lastAfterCommit: [], bare: [], parkWaitMs: [] };
  const total = step.warmup + step.samples;
  const cycleStarted = performance.now();
  for (let i = 0; i < total; i++) {
    const keep = i >= step.warmup;
    const bareMs = await pingBare(bareClient);
    const t0 = performance.now();
    const res = await master.signal(signalBody(`${300_000 + n}-${i >> 1}`, i % 2 === 0));
    const commitAt = res.at;
    const { body, missing, skipped } = copiesShortfall(res, n, `signal to ${n} streaming followers`);
    if (missing) {
      stats.errors += missing;
      stats.skipReasons.push(...skipped.map((k) => k.reason));
    }
    const targets = copyTargets(body, followers);
    const got = await Promise.all(
      targets.map((c) => {
        const f = byAccount.get(c.accountId);
        return f.stream.next(f.cursor);
      }),
    );
    const arrivals = got.map((g) => g.at - t0).sort((a, b) => a - b);
    if (keep && arrivals.length) {
      s.commit.push(commitAt - t0);
      s.last.push(arrivals.at(-1));
      s.median.push(median(arrivals));
      s.lastAfterCommit.push(arrivals.at(-1) - (commitAt - t0));
      s.bare.push(bareMs);
    }
    await Promise.all(
      targets.map(async (c, k) => {
        const f = byAccount.get(c.accountId);
        const { event } = got[k];
        if ((c.orderId !== null && event.payload.orderId !== c.orderId) || event.sequence !== f.cursor + 1)
          throw new Error(
            `${f.accountId}: stream pushed ${JSON.stringify(event).slice(0, 300)}, expected the copy ${c.orderId ?? '(deferred)'} at ${f.cursor + 1}`,
          );
        f.stream.ack(event);
        await reportFill(f, event);
        f.cursor = event.sequence;
        f.acked++;
      }),
    );
    const started = performance.now();
    while (followers.some((f) => f.stream.acks < f.acked)) {
      if (performance.now() - started > 20_000) throw new Error('stream acknowledgements never answered');
      await new Promise((r) => setTimeout(r, 1));
    }
    const { waitedMs } = await server.call('streamsParked', { accounts });
    if (keep) s.parkWaitMs.push(waitedMs);
  }
  for (const f of followers) if (f.stream.errors.length) throw new Error(f.stream.errors.join('; '));
  s.cycleSec = (performance.now() - cycleStarted) / 1000;
  return s;
}

/**
 * `masters` masters at once, each posting open/close pairs back to back on `lanes`
 * connections (signals in flight) to its own `followers` for `durationSec`. Counts every
 * answer that is not a 202 with a copy for each follower; deadlocks by their error text.
 */
async function measureMasters(masters, followers, durationSec, lanes) {
  const commit = [];
  let orders = 0;
  let errors = 0;
  let deadlocks = 0;
  const failures = [];
  const start = performance.now();
  const end = start + durationSec * 1000;
  const done = [];
  await Promise.all(
    masters.flatMap((m, mi) => {
      const conns = [m, ...Array.from({ length: lanes - 1 }, () => m.clone())];
      return conns.map(async (c, lane) => {
        for (let k = 0; performance.now() < end; k++) {
          const position = String(500_000_000 + mi * 10_000_000 + lane * 1_000_000 + k);
          for (const open of [true, false]) {
            const t0 = performance.now();
            const res = await c.signal(signalBody(position, open));
            if (res.status !== 202 || answered(res.json(), open) !== followers) {
              errors++;
              if (/deadlock/i.test(res.text)) deadlocks++;
              if (failures.length < 5) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
              continue;
            }
            orders += followers;
            commit.push(res.at - t0);
            done.push(res.at);
          }
        }
        if (c !== m) await c.close();
      });
    }),
  );
  const elapsedSec = (Math.max(...done) - start) / 1000;
  return {
    masters: masters.length,
    lanes,
    followers,
    durationSec: round(elapsedSec, 2),
    signals: done.length,
    signalsPerSec: round(done.length / elapsedSec, 1),
    ordersPerSec: round(orders / elapsedSec, 0),
    commitMs: pick(summarize(commit)),
    errors,
    deadlocks,
    failures,
  };
}

/** Least-squares slope of `ys` over `xs`. */
function slopeOf(xs, ys) {
  const n = xs.length;
  if (n < 2) return null;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? null : num / den;
}

/** Back-to-back signals for `durationSec` on `lanes` connections of one master session; followers do not poll. */
async function measureSustained(master, followers, durationSec, lanes, stats, windowSec) {
  const conns = [master, ...Array.from({ length: lanes - 1 }, () => master.clone())];
  const done = [];
  const latencies = [];
  let orders = 0;
  const start = performance.now();
  const end = start + durationSec * 1000;
  await Promise.all(
    conns.map(async (c, lane) => {
      // Each lane opens and closes its own positions, so a close never overtakes its open.
      for (let k = 0; performance.now() < end; k++) {
        const position = String(200_000_000 + lanes * 10_000_000 + lane * 1_000_000 + k);
        for (const open of [true, false]) {
          const t0 = performance.now();
          const res = await c.signal(signalBody(position, open));
          latencies.push(res.at - t0);
          expectStatus(res, 202, `sustained signal (${lanes} lanes)`);
          const body = res.json();
          const missing = followers - answered(body, open);
          if (missing) {
            stats.errors += missing;
            stats.skipReasons.push(...body.skipped.map((x) => x.reason));
          }
          orders += answered(body, open);
          done.push(res.at - start);
        }
      }
    }),
  );
  await Promise.all(conns.slice(1).map((c) => c.close()));
  const elapsedSec = Math.max(...done) / 1000;
  const perSecond = [];
  for (const at of done) perSecond[Math.floor(at / 1000)] = (perSecond[Math.floor(at / 1000)] ?? 0) + 1;
  // No decay: the signals completed in the last whole window against the first.
  const whole = Array.from(perSecond, (v) => v ?? 0).slice(0, Math.floor(elapsedSec));
  const first = whole.slice(0, windowSec).reduce((a, b) => a + b, 0) / windowSec;
  const last = whole.slice(-windowSec).reduce((a, b) => a + b, 0) / windowSec;
  // Cost per prior signal: the slope of each signal's round trip over how many came before it
  // (one connection only; with several, queueing blurs it).
  const slope =
    lanes === 1
      ? slopeOf(
          latencies.map((_, i) => i),
          latencies,
        )
      : null;
  return {
    followers,
    lanes,
    durationSec: round(elapsedSec, 2),
    signals: done.length,
    signalsPerSec: round(done.length / elapsedSec, 1),
    ordersPerSec: round(orders / elapsedSec, 0),
    // Completed signals in each whole second of the run (the last one may be partial).
    perSecond: Array.from(perSecond, (v) => v ?? 0),
    decay: {
      windowSec,
      firstWindowPerSec: round(first, 1),
      lastWindowPerSec: round(last, 1),
      lastOverFirst: first ? round(last / first, 3) : null,
    },
    roundTripMs: pick(summarize(latencies)),
    msPerThousandPriorSignals: slope === null ? null : round(slope * 1000, 3),
  };
}

// --- report ---------------------------------------------------------------------------------------

const pick = (x) => ({ p50: x.p50, p99: x.p99, max: x.max, n: x.n });

function pointResult(step, s) {
  const tenth = Math.max(1, Math.floor(s.commit.length / 10));
  return {
    followers: step.followers,
    signals: s.commit.length,
    commitMs: pick(summarize(s.commit)),
    lastFollowerMs: pick(summarize(s.last)),
    medianFollowerMs: pick(summarize(s.median)),
    lastAfterCommitMs: pick(summarize(s.lastAfterCommit)),
    bareRoundTripMs: pick(summarize(s.bare)),
    // Commit p50 of the first and the last tenth of the samples: does a signal get dearer as the run's history grows?
    commitDriftMs: {
      firstTenthP50: summarize(s.commit.slice(0, tenth)).p50,
      lastTenthP50: summarize(s.commit.slice(-tenth)).p50,
    },
    parkWaitMsP50: summarize(s.parkWaitMs).p50,
    cycleSec: round(s.cycleSec, 1),
  };
}

function report(ctx) {
  const { flags, points, zero, inserts, sustained, stats, checks, setupSec, pgPoolSize, loadAverage } = ctx;
  const first = points[0];
  const last = points.at(-1);
  const slope = (key) => round((last[key].p50 - first[key].p50) / (last.followers - first.followers), 4);
  const zeroCommit = pick(summarize(zero.commit));
  const bareAll = pick(summarize([...zero.bare, ...ctx.bareSamples]));
  const [headline, ...others] = sustained;
  const result = {
    name: 'copy-fanout',
    dialect: flags.dialect,
    when: new Date().toISOString(),
    node: process.version,
    machine: machine(),
    quick: flags.quick,
    points,
    streamPoints: ctx.streamPoints,
    sustained: { ...headline, concurrent: others },
    masters: ctx.mastersRun,
    postgres: ctx.postgres,
    handoffs: ctx.handoffs,
    baseline: {
      bareRoundTripMs: bareAll,
      zeroFollowerSignalMs: zeroCommit,
      insertRowsMs: inserts,
    },
    perFollowerMs: {
      from: first.followers,
      to: last.followers,
      commit: slope('commitMs'),
      lastFollower: slope('lastFollowerMs'),
      medianFollower: slope('medianFollowerMs'),
    },
    // Each figure over its same-run floor: the bare round trip (answers) and N bare rows in one
    // transaction (commits; the nearest measured row count).
    ratios: [...points.map((p) => ['poll', p]), ...ctx.streamPoints.map((p) => ['stream', p])].map(
      ([via, p]) => {
        const floor = inserts.reduce((a, b) =>
          Math.abs(b.rows - p.followers) < Math.abs(a.rows - p.followers) ? b : a,
        );
        return {
          via,
          followers: p.followers,
          lastFollowerOverBareP50: round(p.lastFollowerMs.p50 / bareAll.p50, 1),
          commitOverInsertFloorP50: round(p.commitMs.p50 / (floor.batchedMs + bareAll.p50), 1),
        };
      },
    ),
    errors: stats.errors,
    skipReasons: [...new Set(stats.skipReasons)],
    checks: { ...checks, stream: ctx.streamChecks },
    setup: {
      setupSec: round(setupSec, 1),
      loadAverage,
      gateway: 'startPlatform in a worker thread, clients on the main thread, loopback',
      heartbeatIntervalSec: 300,
      reconcileIntervalSec: 86400,
      pgPoolSize,
      followerConnections: 'one keep-alive undici Client (pipelining 1) per follower',
      // Past this many subscriptions the 202 follows the first batch; the fan-out job writes the rest.
      fanoutBatch: loadConfig(serverEnv(os.tmpdir())).fanoutBatch,
    },
  };

  const ms = (x) => `${x.p50} / ${x.p99}`;
  log();
  log(
    `Copy fan-out — ${flags.dialect}${flags.quick ? ' (quick)' : ''}, POST /signals → 202 (commit) and → followers' long polls answered, ms p50 / p99`,
  );
  log(
    table(
      [
        'followers',
        'signals',
        'commit (202)',
        'median follower',
        'last follower',
        'last − commit',
        'commit p50 first→last tenth',
      ],
      points.map((p) => [
        p.followers,
        p.signals,
        ms(p.commitMs),
        ms(p.medianFollowerMs),
        ms(p.lastFollowerMs),
        ms(p.lastAfterCommitMs),
        `${p.commitDriftMs.firstTenthP50} → ${p.commitDriftMs.lastTenthP50}`,
      ]),
    ),
  );
  log(
    `per follower (p50 slope ${first.followers}→${last.followers}): commit ${result.perFollowerMs.commit} ms, last follower answered ${result.perFollowerMs.lastFollower} ms`,
  );
  log();
  log('The same over the WebSocket stream (ack on the socket), ms p50 / p99');
  log(
    table(
      ['followers', 'signals', 'commit (202)', 'median follower', 'last follower', 'last − commit'],
      ctx.streamPoints.map((p) => [
        p.followers,
        p.signals,
        ms(p.commitMs),
        ms(p.medianFollowerMs),
        ms(p.lastFollowerMs),
        ms(p.lastAfterCommitMs),
      ]),
    ),
  );
  log(
    `in-process hand-off: ${ctx.handoffs.taken} followers' events answered from memory, ${ctx.handoffs.read} read from the outbox after a wake-up`,
  );
  log();
  log('Baselines (same run)');
  log(
    table(
      ['', 'p50', 'p99'],
      [
        ['bare Fastify GET /ping round trip', bareAll.p50, bareAll.p99],
        ['POST /signals, master without subscriptions (fixed cost)', zeroCommit.p50, zeroCommit.p99],
      ],
    ),
  );
  log(
    table(
      ['rows in one transaction', 'multi-row inserts of 100, ms', 'one insert per row, ms'],
      inserts.map((r) => [r.rows, round(r.batchedMs), round(r.perRowMs)]),
    ),
  );
  log();
  log(
    `Sustained signals at ${headline.followers} followers (followers not polling; each signal = ${headline.followers} copy orders + outbox events)`,
  );
  log(
    table(
      [
        'master connections',
        'seconds',
        'signals',
        'signals/s',
        'copy orders/s',
        'signals per second of the run',
      ],
      sustained.map((r) => [
        r.lanes,
        r.durationSec,
        r.signals,
        r.signalsPerSec,
        r.ordersPerSec,
        r.perSecond.join(' '),
      ]),
    ),
  );
  log(
    `no decay (${headline.lanes} connection): ${headline.decay.firstWindowPerSec} signals/s in the first ${headline.decay.windowSec} s, ${headline.decay.lastWindowPerSec} in the last (${headline.decay.lastOverFirst}); cost per 1000 prior signals ${headline.msPerThousandPriorSignals} ms (round trip p50 ${headline.roundTripMs.p50} ms)`,
  );
  log();
  const pgMasters = ctx.postgres.masters;
  log('Several masters, signals in flight (copy orders/s; commit ms p50 / p99)');
  log(
    table(
      [
        'dialect',
        'masters × in flight',
        'followers each',
        'signals',
        'copy orders/s',
        'commit',
        'errors',
        'deadlocks',
      ],
      [
        [flags.dialect, ctx.mastersRun],
        ...(flags.dialect !== 'postgres' && pgMasters ? [['postgres', pgMasters]] : []),
      ].map(([d, r]) => [
        d,
        `${r.masters} × ${r.lanes}`,
        r.followers,
        r.signals,
        r.ordersPerSec,
        ms(r.commitMs),
        r.errors,
        r.deadlocks,
      ]),
    ),
  );
  if (ctx.postgres.skipped) log(`postgres: ${ctx.postgres.skipped}`);
  log();
  log(
    `checks: ${checks.unackedOutbox} unacknowledged outbox events left, copy orders by status ${JSON.stringify(checks.ordersByStatus)}`,
  );
  if (stats.errors)
    log(`ERROR: ${stats.errors} copies missing or skipped (${result.skipReasons.join(', ')})`);
  log(
    `(1-min load average ${loadAverage.start} at the start, ${loadAverage.end} at the end; on 2 noisy cores read medians and slopes, not single extremes)`,
  );
  return result;
}

// --- several masters, and the PostgreSQL side run ---------------------------------------------------

function mastersGroups(m) {
  return Array.from({ length: m.masters }, (_, i) => ({
    tag: `m${i}`,
    master: masterOf(`m${i}`),
    followers: Array.from({ length: m.followers }, (_, k) => followerOf(`m${i}`, k)),
  }));
}

/** The several-masters run on PostgreSQL (a gateway of its own on a private schema); skipped when unreachable. */
async function postgresSide(m, stats) {
  let opened;
  try {
    opened = await openTarget('postgres');
  } catch (err) {
    log(`PostgreSQL side run skipped: ${err.message}`);
    return { skipped: `PostgreSQL unreachable: ${err.message}` };
  }
  const cleanup = [opened.drop];
  try {
    const groups = mastersGroups(m);
    await seed(opened.target, groups);
    const server = await startServer({ env: serverEnv(opened.dataDir), target: opened.target });
    cleanup.push(async () => {
      await server.call('stop').catch(() => undefined);
      await server.worker.terminate();
    });
    const masters = [];
    for (const g of groups) {
      const c = await connect(server.url, g.master, 'master');
      cleanup.push(() => c.t.client.destroy());
      masters.push(c.t);
    }
    const r = await measureMasters(masters, m.followers, m.durationSec, m.lanes);
    log(
      `${r.masters} masters × ${r.lanes} signals in flight on postgres: ${r.ordersPerSec} copy orders/s, ${r.errors} errors, ${r.deadlocks} deadlocks`,
    );
    if (r.errors) stats.errors += r.errors;
    return { masters: r, pgPoolSize: server.pgPoolSize };
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err) => console.error('cleanup step failed:', err));
  }
}

const serverEnv = (dataDir) => ({
  PORT: '0',
  KOPITRA_HOST: '127.0.0.1',
  KOPITRA_DATA_DIR: dataDir,
  KOPITRA_LOG_LEVEL: 'silent',
  KOPITRA_SECRET: SECRET,
  // Leases of 15 min: a follower idle during another point's run keeps its session.
  KOPITRA_HEARTBEAT_INTERVAL_SEC: '300',
  // No reconciliation pass over every follower in the middle of a measurement.
  KOPITRA_RECONCILE_INTERVAL_SEC: '86400',
});

// --- main -----------------------------------------------------------------------------------------

/** Runs the copy-fanout bench; `out` receives the JSON unless null. Returns the result. */
export async function runFanout({ quick = false, dialect = 'sqlite', out = null } = {}) {
  checkDialect(dialect);
  const flags = { quick, dialect };
  const plan = quick ? plans.quick : plans.full;
  const setupStarted = performance.now();
  // Other work on the machine moves every figure; the 1-minute load average says how much there was.
  const loadAtStart = round(os.loadavg()[0], 2);
  const { dataDir, target, drop } = await openTarget(dialect);
  const cleanup = [drop];
  const stats = { errors: 0, skipReasons: [] };
  try {
    const groups = [
      { tag: '0', master: masterOf('0'), followers: [] },
      ...plan.points.map((p) => ({
        tag: `p${p.followers}`,
        master: masterOf(`p${p.followers}`),
        followers: Array.from({ length: p.followers }, (_, i) => followerOf(`p${p.followers}`, i)),
      })),
      ...plan.streamPoints.map((p) => ({
        tag: `w${p.followers}`,
        master: masterOf(`w${p.followers}`),
        followers: Array.from({ length: p.followers }, (_, i) => followerOf(`w${p.followers}`, i)),
      })),
      ...plan.sustained.runs.map(({ lanes: l }) => ({
        tag: `s${l}`,
        master: masterOf(`s${l}`),
        followers: Array.from({ length: plan.sustained.followers }, (_, i) => followerOf(`s${l}`, i)),
      })),
      ...mastersGroups(plan.masters),
    ];
    await seed(target, groups);

    const server = await startServer({ env: serverEnv(dataDir), target });
    cleanup.push(async () => {
      await server.call('stop').catch(() => undefined);
      await server.worker.terminate();
    });
    const bareClient = new Client(server.bareUrl, { pipelining: 1, keepAliveTimeout: 60_000 });
    cleanup.push(() => bareClient.close());
    const terminals = [];
    cleanup.push(async () => {
      await Promise.all(terminals.map((t) => t.client.destroy()));
    });
    log(
      `copy-fanout bench: ${dialect}${quick ? ' (quick)' : ''}, gateway ${server.url} (worker thread), baseline ${server.bareUrl}, node ${process.version}, ${os.cpus().length} cpus`,
    );

    const masters = new Map();
    for (const g of groups) {
      const m = await connect(server.url, g.master, 'master');
      terminals.push(m.t);
      masters.set(g.tag, m.t);
    }
    const pointFollowers = new Map();
    for (const p of plan.points) {
      const ids = groups.find((g) => g.tag === `p${p.followers}`).followers;
      const list = new Array(ids.length);
      await eachLimited(ids, SESSION_SETUP_CONCURRENCY, async (id, i) => {
        list[i] = await connect(server.url, id, 'follower');
        terminals.push(list[i].t);
      });
      pointFollowers.set(p.followers, list);
    }
    const streamFollowers = new Map();
    for (const p of plan.streamPoints) {
      const ids = groups.find((g) => g.tag === `w${p.followers}`).followers;
      const list = new Array(ids.length);
      await eachLimited(ids, SESSION_SETUP_CONCURRENCY, async (id, i) => {
        const f = await connect(server.url, id, 'follower');
        terminals.push(f.t);
        f.stream = await openStream(f.t, f.cursor);
        f.acked = 0;
        list[i] = f;
      });
      cleanup.push(async () => list.forEach((f) => f.stream.close()));
      streamFollowers.set(p.followers, list);
    }
    const setupSec = (performance.now() - setupStarted) / 1000;
    log(
      `set up in ${round(setupSec, 1)} s: ${groups.length} masters, ${[...pointFollowers.values()].reduce((n, l) => n + l.length, 0)} follower sessions, ${plan.sustained.runs.length * plan.sustained.followers} followers without sessions`,
    );

    const inserts = [];
    for (const [n, reps] of plan.inserts) inserts.push(await server.call('insertBaseline', { n, reps }));
    const zero = await measureZero(masters.get('0'), bareClient, plan.zero);
    log(`no subscriptions: ${zero.commit.length} signals, commit p50 ${summarize(zero.commit).p50} ms`);

    const points = [];
    const bareSamples = [];
    for (const step of plan.points) {
      const s = await measurePoint(
        server,
        masters.get(`p${step.followers}`),
        pointFollowers.get(step.followers),
        step,
        bareClient,
        stats,
      );
      bareSamples.push(...s.bare);
      const r = pointResult(step, s);
      points.push(r);
      log(
        `${step.followers} followers: ${r.signals} signals in ${r.cycleSec} s, commit p50 ${r.commitMs.p50} ms, last follower p50 ${r.lastFollowerMs.p50} ms`,
      );
    }
    const streamPoints = [];
    for (const step of plan.streamPoints) {
      const s = await measureStreamPoint(
        server,
        masters.get(`w${step.followers}`),
        streamFollowers.get(step.followers),
        step,
        bareClient,
        stats,
      );
      bareSamples.push(...s.bare);
      const r = pointResult(step, s);
      streamPoints.push(r);
      log(
        `${step.followers} streaming followers: ${r.signals} signals in ${r.cycleSec} s, commit p50 ${r.commitMs.p50} ms, last follower p50 ${r.lastFollowerMs.p50} ms`,
      );
    }
    const checks = await server.call('counts', { prefix: 'bf-p' });
    if (checks.unackedOutbox) stats.errors += checks.unackedOutbox;
    const streamChecks = await server.call('counts', { prefix: 'bf-w' });
    if (streamChecks.unackedOutbox) stats.errors += streamChecks.unackedOutbox;
    const handoffs = await server.call('handoffs');

    const sustained = [];
    for (const { lanes, durationSec } of plan.sustained.runs) {
      const r = await measureSustained(
        masters.get(`s${lanes}`),
        plan.sustained.followers,
        durationSec,
        lanes,
        stats,
        plan.sustained.decayWindowSec,
      );
      sustained.push(r);
      log(
        `sustained, ${lanes} master connection(s): ${r.signalsPerSec} signals/s, ${r.ordersPerSec} copy orders/s`,
      );
    }

    const mastersRun = await measureMasters(
      Array.from({ length: plan.masters.masters }, (_, i) => masters.get(`m${i}`)),
      plan.masters.followers,
      plan.masters.durationSec,
      plan.masters.lanes,
    );
    log(
      `${mastersRun.masters} masters × ${mastersRun.lanes} signals in flight on ${dialect}: ${mastersRun.ordersPerSec} copy orders/s, ${mastersRun.errors} errors, ${mastersRun.deadlocks} deadlocks`,
    );
    if (mastersRun.errors) stats.errors += mastersRun.errors;
    // The PostgreSQL figure beside a SQLite run: the same several-masters run on a private schema.
    const postgres =
      dialect === 'postgres' ? { masters: mastersRun } : await postgresSide(plan.masters, stats);

    const loadAverage = { start: loadAtStart, end: round(os.loadavg()[0], 2) };
    const result = report({
      streamPoints,
      streamChecks,
      handoffs,
      mastersRun,
      postgres,
      flags,
      points,
      zero,
      inserts,
      sustained,
      stats,
      checks,
      setupSec,
      pgPoolSize: server.pgPoolSize,
      bareSamples,
      loadAverage,
    });
    return reportResult(result, { out, log, failed: Boolean(stats.errors) });
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err) => console.error('cleanup step failed:', err));
  }
}

// `node bench/fanout.js [--quick] [--dialect …] [--out …]`
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      dialect: { type: 'string', default: 'sqlite' },
      out: { type: 'string', default: FANOUT_OUT },
    },
  });
  runMain(() => runFanout(values));
}
