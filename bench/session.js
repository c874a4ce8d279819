/**
 * gateway-session benchmark: how fast a held outbox long poll wakes when the engine writes
 * an event, and how many idle polls per second the gateway answers, each next to a bare
 * Fastify baseline measured in the same run. See bench/README.md.
 *
 *   node bench/run.js [session] [--quick] [--dialect sqlite|postgres] [--out FILE]
 */
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep, setImmediate as nextTurn } from 'node:timers/promises';
import { Client } from 'undici';
import { accountChannel, loadConfig, startPlatform } from '../packages/server/dist/index.js';
import { enqueueOutbox } from '../packages/server/dist/store/outbox.js';
import { inTransaction } from '../packages/server/dist/store/transaction.js';
import { positionTag } from '../packages/contracts/dist/index.js';
import { startBareApp } from './lib/baseline.js';
import { load } from './lib/load.js';
import { median, round, summarize, table } from './lib/stats.js';
import { machine, openTarget, writeResult } from './lib/target.js';
import { Terminal, expectStatus } from './lib/terminal.js';

/** Set by runSession from its options. */
let flags;
let plan;
// Pause after the poll is parked before writing, so the write meets a settled waiter (the
// usual case for an EA that polls all day), not one still finishing its first read.
const SETTLE_MS = 5;
const log = (line = '') => process.stdout.write(`${line}\n`);

// --- session setup -------------------------------------------------------------------------

/** Creates a session for a new account, approves its key through the bus, and acks the init ack. */
async function authenticate(platform, terminal) {
  const created = await terminal.createSession();
  const row = await platform.database.db
    .selectFrom('sessions')
    .select(['key_fingerprint', 'status'])
    .where('session_id', '=', terminal.sessionId)
    .executeTakeFirstOrThrow();
  await platform.bus.publish('ea-auth-approvals', {
    type: 'AuthApproval',
    accountId: terminal.accountId,
    authKeyFingerprint: row.key_fingerprint,
    approvedBy: 'bench',
    expiresAt: null,
  });
  let cursor = created.lastSequence;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await terminal.poll(cursor, 5);
    expectStatus(res, 200, 'poll for init ack');
    const body = res.json();
    const initAck = body.events.find((e) => e.type === 'session.init_ack');
    if (initAck) {
      await terminal.ack(body.events);
      cursor = body.nextCursor;
      break;
    }
    if (Date.now() > deadline)
      throw new Error(`no session.init_ack within 30 s after approval (last poll: ${res.text})`);
  }
  return cursor;
}

// --- 1. outbox long-poll wake latency -------------------------------------------------------

/** The wake-up waiters registered on the notifier; reading it is the only way to know a poll is parked. */
function parkedProbe(notifier, channel) {
  const emitter = notifier.emitter;
  if (!emitter || typeof emitter.listenerCount !== 'function') {
    log(`note: notifier has no readable emitter; waiting a fixed 25 ms for each poll to park`);
    return { idle: () => true, parked: () => sleep(25) };
  }
  return {
    idle: () => emitter.listenerCount(channel) === 0,
    async parked() {
      const deadline = performance.now() + 5000;
      while (emitter.listenerCount(channel) === 0) {
        if (performance.now() > deadline) throw new Error('the long poll never registered a wake-up waiter');
        await nextTurn();
      }
      await sleep(SETTLE_MS);
    },
  };
}

/** Writes one `trade.started` for the account exactly as the copy engine does: enqueue + notify in one transaction. */
async function writeTradeStarted(platform, accountId, i) {
  const now = platform.gateway.clock.now();
  const masterPositionId = `bench-pos-${i}`;
  return inTransaction(platform.database.db, async (tx) => {
    const row = await enqueueOutbox(
      tx.trx,
      {
        accountId,
        type: 'trade.started',
        payload: {
          orderId: `bench-ord-${i}`,
          masterAccountId: 'bench-master',
          masterPositionId,
          symbol: 'EURUSD',
          side: i % 2 ? 'sell' : 'buy',
          volume: 0.1,
          sl: null,
          tp: null,
          masterPrice: 1.08345,
          maxSlippage: null,
          expiresAt: new Date(now + 30_000).toISOString(),
          comment: positionTag('bench-group', masterPositionId),
        },
      },
      now,
    );
    await platform.notifier.notify(tx.trx, accountChannel(accountId));
    return row;
  });
}

async function measureWake(platform, terminal, startCursor, bareClient) {
  const probe = parkedProbe(platform.notifier, accountChannel(terminal.accountId));
  const series = { wake: [], commitToResponse: [], write: [], bare: [], idlePoll: [], ack: [] };
  let cursor = startCursor;
  const total = plan.warmup + plan.samples;
  for (let i = 0; i < total; i++) {
    const keep = i >= plan.warmup;

    // Baselines on the same connections, interleaved so they share the moment's noise.
    let t = performance.now();
    const bare = await bareClient.request({ method: 'GET', path: '/ping' });
    await bare.body.text();
    const bareMs = performance.now() - t;
    t = performance.now();
    const idle = await terminal.poll(cursor, 0);
    expectStatus(idle, 200, 'idle poll');
    const idleMs = idle.at - t;

    if (!probe.idle()) throw new Error('a wake-up waiter is already registered before the poll starts');
    const polled = terminal.poll(cursor, 30);
    await probe.parked();
    const t0 = performance.now();
    const row = await writeTradeStarted(platform, terminal.accountId, i);
    const t1 = performance.now();
    const res = await polled;
    expectStatus(res, 200, 'long poll');
    const body = res.json();
    if (body.events.length !== 1 || body.events[0].eventId !== row.event_id) {
      throw new Error(
        `long poll answered without the event just written (${row.event_id}): ${res.text.slice(0, 300)}`,
      );
    }

    t = performance.now();
    const acked = await terminal.ack(body.events);
    const ackMs = acked.at - t;
    cursor = body.nextCursor;

    if (keep) {
      series.wake.push(res.at - t0);
      series.commitToResponse.push(res.at - t1);
      series.write.push(t1 - t0);
      series.bare.push(bareMs);
      series.idlePoll.push(idleMs);
      series.ack.push(ackMs);
    }
  }
  return { series, cursor };
}

// --- 2. idle-poll throughput ------------------------------------------------------------------

async function measureThroughput(platform, terminal, cursor, bareUrl) {
  const idleUrl = `${platform.url}/trade-agent/v1/sessions/current/outbox?cursor=${cursor}&wait=0`;
  const check = await terminal.poll(cursor, 0);
  expectStatus(check, 200, 'idle poll check');
  if (check.json().events.length !== 0)
    throw new Error(`outbox not empty before the idle-poll run: ${check.text}`);

  const opts = { connections: plan.connections, durationSec: plan.durationSec, workers: 1 };
  const gateway = { url: idleUrl, headers: terminal.authHeaders };
  const ping = { url: `${bareUrl}/ping` };
  // Untimed warm-ups so neither side is measured while the JIT is still compiling.
  await load({ ...ping, ...opts, durationSec: plan.loadWarmupSec });
  await load({ ...gateway, ...opts, durationSec: plan.loadWarmupSec });

  // Baseline, then (gateway, baseline) per round: every gateway run sits between two
  // baseline runs, so a slow patch of the machine shows up as baseline drift.
  const baseline = [await load({ ...ping, ...opts })];
  const idle = [];
  for (let r = 0; r < plan.loadRounds; r++) {
    idle.push(await load({ ...gateway, ...opts }));
    baseline.push(await load({ ...ping, ...opts }));
  }
  return { baseline, idle };
}

// --- report ------------------------------------------------------------------------------------

/** The median run of a series of load runs, by req/s, with latency taken as the median of each figure. */
function medianRun(runs) {
  return {
    rps: round(median(runs.map((r) => r.rps)), 1),
    p50: round(median(runs.map((r) => r.p50))),
    p99: round(median(runs.map((r) => r.p99))),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    failures: runs.reduce((n, r) => n + r.failures, 0),
  };
}

function report(dialect, wake, load) {
  const s = wake.series;
  const wakeLatencyMs = summarize(s.wake);
  const commitToResponseMs = summarize(s.commitToResponse);
  const bareRoundTripMs = summarize(s.bare);
  const idle = medianRun(load.idle);
  const base = medianRun(load.baseline);
  const baseRps = load.baseline.map((r) => r.rps);
  const result = {
    name: 'gateway-session',
    dialect,
    when: new Date().toISOString(),
    node: process.version,
    machine: machine(),
    quick: flags.quick,
    samples: s.wake.length,
    wakeLatencyMs,
    commitToResponseMs,
    writeMs: summarize(s.write),
    bareRoundTripMs,
    idlePollRoundTripMs: summarize(s.idlePoll),
    ackRoundTripMs: summarize(s.ack),
    idlePoll: { ...idle, runs: load.idle },
    baseline: { ...base, runs: load.baseline },
    load: {
      connections: plan.connections,
      durationSec: plan.durationSec,
      generator: 'autocannon 8, 1 worker thread',
      latencyResolutionMs: 1,
    },
    ratio: {
      idlePollVsBaseline: round(idle.rps / base.rps),
      wakeP50AboveBareP50Ms: round(wakeLatencyMs.p50 - bareRoundTripMs.p50),
      // (max - min) / median of the baseline runs: how much the machine moved during the run.
      baselineSpread: round((Math.max(...baseRps) - Math.min(...baseRps)) / base.rps),
    },
  };

  const row = (label, x) => [label, x.p50, x.p90, x.p99, x.max];
  log();
  log(`Outbox long-poll wake — ${dialect}, ${result.samples} samples (after ${plan.warmup} warm-up), ms`);
  log(
    table(
      ['', 'p50', 'p90', 'p99', 'max'],
      [
        row('wake latency: write start → response received', wakeLatencyMs),
        row('  of which write + commit (inTransaction)', result.writeMs),
        row('  of which commit → response received', commitToResponseMs),
        row('bare Fastify GET /ping round trip (baseline)', bareRoundTripMs),
        row('gateway idle poll (wait=0) round trip', result.idlePollRoundTripMs),
        row('ack (POST inbox) round trip', result.ackRoundTripMs),
      ],
    ),
  );
  log(
    `median wake latency ${wakeLatencyMs.p50} ms = bare round trip ${bareRoundTripMs.p50} ms + ${result.ratio.wakeP50AboveBareP50Ms} ms`,
  );
  log();
  log(
    `Idle-poll throughput — ${plan.connections} connections, ${plan.durationSec} s per run, ${result.load.generator}`,
  );
  const lrow = (label, x) => [label, x.rps, x.p50, x.p99, x.requests, x.failures];
  const runs = [lrow('bare Fastify GET /ping', load.baseline[0])];
  load.idle.forEach((r, i) =>
    runs.push(lrow('gateway GET outbox?wait=0', r), lrow('bare Fastify GET /ping', load.baseline[i + 1])),
  );
  log(
    table(
      ['run (in order)', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'failures'],
      [...runs, lrow('median: gateway idle poll', idle), lrow('median: bare Fastify baseline', base)],
    ),
  );
  log(
    `gateway / baseline req/s = ${result.ratio.idlePollVsBaseline} (medians; the baseline runs spread ${round(result.ratio.baselineSpread * 100, 1)} % around their median)`,
  );
  log('autocannon records latency in whole milliseconds: 0 means under 1 ms');
  if (idle.failures + base.failures > 0)
    log('WARNING: some load requests failed (errors, timeouts or non-2xx); the rates above include them');
  log('(2 noisy cores: read medians and ratios, not single extremes)');
  return result;
}

// --- main ----------------------------------------------------------------------------------------

/** Runs the gateway-session bench; `out` receives the JSON unless null. Returns the result. */
export async function runSession({ quick = false, dialect = 'sqlite', out = null } = {}) {
  flags = { quick, dialect };
  plan = quick
    ? { warmup: 10, samples: 50, connections: 10, durationSec: 3, loadWarmupSec: 1, loadRounds: 1 }
    : { warmup: 50, samples: 500, connections: 10, durationSec: 10, loadWarmupSec: 2, loadRounds: 2 };
  const { dataDir, target, drop } = await openTarget(flags.dialect);
  const cleanup = [drop];
  try {
    const config = loadConfig({
      PORT: '0',
      KOPITRA_HOST: '127.0.0.1',
      KOPITRA_DATA_DIR: dataDir,
      KOPITRA_LOG_LEVEL: 'silent',
    });
    // The gateway alone, as a gateway replica runs: no management API, audit consumer or console.
    const platform = await startPlatform(config, {
      databaseTarget: target,
      listen: true,
      serve: { gateway: true, management: false },
      consoleDir: null,
    });
    cleanup.push(() => platform.stop());
    const bareApp = await startBareApp();
    cleanup.push(() => bareApp.close());
    const bareClient = new Client(bareApp.url, { pipelining: 1, keepAliveTimeout: 60_000 });
    cleanup.push(() => bareClient.close());

    log(
      `gateway-session bench: ${flags.dialect}${flags.quick ? ' (quick)' : ''}, gateway ${platform.url}, baseline ${bareApp.url}, node ${process.version}, ${os.cpus().length} cpus`,
    );
    const terminal = new Terminal(platform.url, `bench-${randomBytes(4).toString('hex')}`);
    cleanup.push(() => terminal.close());
    cleanup.push(() => terminal.release());
    const cursor = await authenticate(platform, terminal);

    const wake = await measureWake(platform, terminal, cursor, bareClient);
    const throughput = await measureThroughput(platform, terminal, wake.cursor, bareApp.url);
    const result = report(flags.dialect, wake, throughput);

    if (out) {
      writeResult(out, result);
      log(`written to ${path.relative(process.cwd(), path.resolve(out))}`);
    }
    log(`BENCH_RESULT ${JSON.stringify(result)}`);
    return result;
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err) => console.error('cleanup step failed:', err));
  }
}
