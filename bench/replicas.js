/**
 * Scale-out benchmark: N follower terminals on the WebSocket stream spread over gateway
 * processes (the built gateway, `startPlatform` serving the EA plane only) sharing PostgreSQL
 * and a NATS bus, cross-replica wake-ups over NATS. Measures, first with one gateway and then
 * with three:
 * - signal → last follower answered (a master on gateway 1 opens a position; the time until
 *   the last follower's stream has the copy event), p50 / p99 over the rounds;
 * - per follower, the same latency on the master's replica and on the others (p50 ratio);
 * - sustained copy orders/s: one master per gateway, each sending signals back to back, all
 *   followers subscribed to every master; orders counted once delivered to every follower.
 * The same-run floors are a bare Fastify route's round trip and what the NATS server carries on
 * this machine (core messages and acknowledged JetStream publishes per second,
 * bench/lib/nats-floor.js). See bench/README.md.
 *
 *   node bench/run.js replicas [--quick] [--out FILE]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Pool, getGlobalDispatcher } from 'undici';
import { migrate, openDatabase } from '../packages/server/dist/store/database.js';
import { insertAccount } from '../packages/server/dist/store/accounts.js';
import { insertKey } from '../packages/server/dist/store/keys.js';
import { insertGroup, putSubscription } from '../packages/server/dist/store/copy.js';
import { keyFingerprint, keyHash } from '../packages/server/dist/services/secrets.js';
import { startBareApp } from './lib/baseline.js';
import { natsFloor } from './lib/nats-floor.js';
import { round, summarize, table } from './lib/stats.js';
import { machine, openTarget, reportResult } from './lib/target.js';
import { Terminal, expectStatus, openStream } from './lib/terminal.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPLICAS_OUT = path.join(HERE, 'results', 'replicas.json');
const NATS_URL = process.env['KOPITRA_BENCH_NATS_URL'] ?? 'nats://127.0.0.1:4222';
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
const SETTINGS = { sizing: { mode: 'multiplier', multiplier: 1 }, maxSignalAgeSec: 3600 };
const GATEWAYS = 3;
const BASE = '/trade-agent/v1';
const log = (line = '') => process.stdout.write(`${line}\n`);
/** A timeout to race against: unref'd, so one left pending does not keep the process alive. */
const timeout = (ms) => new Promise((r) => setTimeout(r, ms).unref());

const plans = {
  full: { followers: 10_000, warmup: 2, rounds: 20, sustainedSec: 20, floorSamples: 500 },
  quick: { followers: 300, warmup: 2, rounds: 15, sustainedSec: 4, floorSamples: 200 },
};

const masterOf = (i) => `br-m${i}`;
const followerOf = (i) => `br-f${String(i).padStart(5, '0')}`;
const keyOf = (accountId) => `bench-key-${accountId}-0123456789abcdef`;

/** Every account with an approved key, every follower with a catalog and subscribed to every master. */
async function seed(target, followers) {
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
    const groups = [];
    await database.db.transaction().execute(async (trx) => {
      for (let m = 0; m < GATEWAYS; m++) {
        await account(trx, masterOf(m));
        groups.push(
          (await insertGroup(trx, { name: `bench ${m}`, masterAccountId: masterOf(m) }, now)).group_id,
        );
      }
    });
    for (let from = 0; from < followers; from += 500)
      await database.db.transaction().execute(async (trx) => {
        for (let i = from; i < Math.min(followers, from + 500); i++) {
          const f = followerOf(i);
          await account(trx, f);
          await trx
            .insertInto('account_symbols')
            .values({ account_id: f, symbol: 'EURUSD', spec: SYMBOL_SPEC, updated_at: now })
            .execute();
          for (const groupId of groups)
            await putSubscription(trx, { groupId, followerAccountId: f, settings: SETTINGS }, now);
        }
      });
  } finally {
    await database.close();
  }
}

function startGateway(env, target) {
  const child = spawn(
    process.execPath,
    [path.join(HERE, 'lib', 'idle-server.js'), JSON.stringify({ env, target })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`gateway process exited (${code})`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\{.*\})/.exec(out);
      if (m) resolve({ child, ...JSON.parse(m[1]) });
    });
  });
}

async function stopGateway(gw) {
  gw.child.removeAllListeners('exit');
  const exited = new Promise((r) => gw.child.once('exit', r));
  gw.child.kill('SIGTERM');
  await Promise.race([exited, timeout(10_000)]);
  gw.child.kill('SIGKILL');
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSec(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line (clock ticks, 100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

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

async function send(pool, method, p, headers, body) {
  const res = await pool.request({
    method,
    path: `${BASE}${p}`,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/**
 * Sessions and streams of every follower, spread round-robin over `gateways`. Sessions are made
 * and released over one shared pool per gateway (the clients' connections are not measured);
 * each stream holds its own connection, as an EA does.
 */
async function connectFollowers(gateways, n) {
  const pools = gateways.map((g) => new Pool(g.url, { connections: 16, pipelining: 1 }));
  const followers = new Array(n);
  await eachLimited(
    Array.from({ length: n }, (_, i) => i),
    32,
    async (i) => {
      const gw = i % gateways.length;
      const accountId = followerOf(i);
      const res = await send(
        pools[gw],
        'POST',
        '/sessions',
        {
          'x-tradeagent-account': accountId,
          'idempotency-key': `br-${accountId}-${randomBytes(4).toString('hex')}`,
        },
        {
          authMethod: 'account_session_key',
          authKey: keyOf(accountId),
          platform: 'MT5',
          role: 'follower',
          eaVersion: '1.0.0',
          terminalBuild: 4410,
        },
      );
      expectStatus(res, 201, `session of ${accountId}`);
      const session = JSON.parse(res.text);
      const authHeaders = { 'x-tradeagent-account': accountId, authorization: `Bearer ${session.token}` };
      const stream = await openStream(
        { url: gateways[gw].url, accountId, authHeaders },
        session.lastSequence,
      );
      // Copy events counted (session events such as the init acknowledgement are not).
      const f = {
        accountId,
        gateway: gw,
        stream,
        authHeaders,
        trades: 0,
        lastSequence: session.lastSequence,
        waiter: null,
      };
      stream.ws.addEventListener('message', (m) => {
        const msg = JSON.parse(String(m.data));
        if (msg.type !== 'event' || msg.event.sequence <= f.lastSequence) return;
        f.lastSequence = msg.event.sequence;
        if (!msg.event.type.startsWith('trade.')) return;
        f.trades++;
        if (f.waiter && f.trades >= f.waiter.trades) {
          const w = f.waiter;
          f.waiter = null;
          w.resolve(performance.now());
        }
      });
      followers[i] = f;
    },
  );
  /** Closes the streams and releases the sessions, so the next phase can open new ones. */
  const close = async () => {
    await eachLimited(followers.filter(Boolean), 32, async (f) => {
      const closed = new Promise((r) => f.stream.ws.addEventListener('close', r, { once: true }));
      f.stream.close();
      await Promise.race([closed, timeout(5000)]);
      await send(pools[f.gateway], 'DELETE', '/sessions/current', {
        ...f.authHeaders,
        'idempotency-key': `br-release-${f.accountId}-${randomBytes(4).toString('hex')}`,
      });
    });
    await Promise.all(pools.map((p) => p.close()));
  };
  return { followers, close };
}

/** Resolves with the instant the follower's stream had `trades` copy events. */
const reached = (f, trades) =>
  f.trades >= trades
    ? Promise.resolve(performance.now())
    : new Promise((resolve) => (f.waiter = { trades, resolve }));

const openSignal = (tag) => ({
  signalId: tag,
  type: 'position.opened',
  masterPositionId: tag,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  price: 1.1,
  occurredAt: new Date().toISOString(),
});

/** One phase: followers spread over `gateways`, latency rounds, then the sustained window. */
async function phase(gateways, plan, runTag) {
  const { followers, close } = await connectFollowers(gateways, plan.followers);
  const masters = [];
  for (let m = 0; m < gateways.length; m++) {
    const t = new Terminal(gateways[m].url, masterOf(m), { role: 'master', authKey: keyOf(masterOf(m)) });
    await t.createSession();
    masters.push(t);
  }
  try {
    const lastMs = [];
    const acceptMs = [];
    const same = [];
    const cross = [];
    for (let r = 0; r < plan.warmup + plan.rounds; r++) {
      const targets = followers.map((f) => f.trades + 1);
      const t0 = performance.now();
      const res = await masters[0].signal(openSignal(`${runTag}-r${r}`));
      expectStatus(res, 202, 'signal');
      const at = await Promise.all(followers.map((f, i) => reached(f, targets[i])));
      if (r < plan.warmup) continue;
      acceptMs.push(res.at - t0);
      lastMs.push(Math.max(...at) - t0);
      at.forEach((a, i) => (followers[i].gateway === 0 ? same : cross).push(a - t0));
    }
    // Sustained: every master sends back to back for the window; the rate counts orders once
    // every follower has received every event.
    const start = followers.map((f) => f.trades);
    let signals = 0;
    const cpuBefore = gateways.map((g) => cpuSec(g.pid));
    const t0 = performance.now();
    await Promise.all(
      masters.map(async (m, k) => {
        for (let i = 0; performance.now() - t0 < plan.sustainedSec * 1000; i++) {
          const res = await m.signal(openSignal(`${runTag}-s${k}-${i}`));
          expectStatus(res, 202, 'signal');
          signals++;
        }
      }),
    );
    const delivered = await Promise.all(followers.map((f, i) => reached(f, start[i] + signals)));
    const sec = (Math.max(...delivered) - t0) / 1000;
    const gatewayCpuSec = gateways.reduce((sum, g, i) => sum + cpuSec(g.pid) - cpuBefore[i], 0);
    const errors = followers.flatMap((f) => f.stream.errors);
    return {
      gateways: gateways.length,
      lastFollowerMs: summarize(lastMs),
      acceptMs: summarize(acceptMs),
      sameReplicaMs: summarize(same),
      crossReplicaMs: gateways.length > 1 ? summarize(cross) : null,
      sustained: {
        masters: masters.length,
        signals,
        copyOrders: signals * plan.followers,
        seconds: round(sec, 2),
        copyOrdersPerSec: round((signals * plan.followers) / sec, 0),
        // Every gateway's CPU over the window (PostgreSQL is shared with other work here).
        gatewayCpuSec: round(gatewayCpuSec, 2),
        gatewayCpuMsPerCopyOrder: round((gatewayCpuSec * 1000) / (signals * plan.followers), 3),
      },
      errors,
    };
  } finally {
    await close();
    for (const m of masters) {
      await m.release();
      await m.close();
    }
  }
}

async function floorMs(samples) {
  const bare = await startBareApp();
  const client = new Client(bare.url, { pipelining: 1 });
  try {
    const ms = [];
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      const res = await client.request({ method: 'GET', path: '/ping' });
      await res.body.text();
      ms.push(performance.now() - t);
    }
    return summarize(ms);
  } finally {
    await client.close();
    await bare.close();
  }
}

export async function runReplicas({ quick = false, out = null } = {}) {
  const plan = quick ? plans.quick : plans.full;
  const load = [round(os.loadavg()[0], 2)];
  const { dataDir, target, drop } = await openTarget('postgres');
  const cleanup = [drop, () => getGlobalDispatcher().close()];
  const gateways = [];
  try {
    log(
      `replicas bench: PostgreSQL + NATS${quick ? ' (quick)' : ''}, ${plan.followers} stream followers, 1 then ${GATEWAYS} gateways`,
    );
    await seed(target, plan.followers);
    const env = {
      PORT: '0',
      KOPITRA_HOST: '127.0.0.1',
      KOPITRA_DATA_DIR: dataDir,
      KOPITRA_LOG_LEVEL: 'silent',
      KOPITRA_SECRET: SECRET,
      KOPITRA_BUS_URL: NATS_URL,
      KOPITRA_BUS_NAMESPACE: `bench${randomBytes(4).toString('hex')}`,
      KOPITRA_HEARTBEAT_INTERVAL_SEC: '300',
      KOPITRA_RECONCILE_INTERVAL_SEC: '86400',
    };
    cleanup.push(async () => {
      for (const gw of gateways) await stopGateway(gw);
    });
    const floor = await floorMs(plan.floorSamples);
    log(`floor: bare Fastify route round trip p50 ${floor.p50} ms, p99 ${floor.p99} ms`);
    const nats = await natsFloor(NATS_URL, quick);
    log(
      `NATS on this machine: core ${nats.core.perSec} msgs/s of ${nats.core.bytes} B, ` +
        `${nats.coreLarge.perSec} msgs/s of ${nats.coreLarge.bytes / 1024} KB (${nats.coreLarge.mbPerSec} MB/s); ` +
        `JetStream ${nats.jetStream.perSec} acknowledged publishes/s of ${nats.jetStream.bytes} B (${nats.jetStream.inFlight} in flight)`,
    );
    gateways.push(await startGateway(env, target));
    const one = await phase(gateways, plan, 'g1');
    load.push(round(os.loadavg()[0], 2));
    for (let i = 1; i < GATEWAYS; i++) gateways.push(await startGateway(env, target));
    const three = await phase(gateways, plan, 'g3');
    load.push(round(os.loadavg()[0], 2));

    const errors = [...one.errors, ...three.errors];
    const ratio =
      three.crossReplicaMs && three.sameReplicaMs.p50
        ? round(three.crossReplicaMs.p50 / three.sameReplicaMs.p50, 2)
        : null;
    const strip = ({ errors: _e, ...rest }) => rest;
    const result = {
      name: 'replicas',
      dialect: 'postgres',
      bus: 'nats',
      when: new Date().toISOString(),
      node: process.version,
      machine: machine(),
      quick,
      followers: plan.followers,
      rounds: plan.rounds,
      floor: { bareRouteMs: floor, nats },
      oneGateway: strip(one),
      threeGateways: strip(three),
      crossToSameReplicaP50: ratio,
      errors: errors.length,
      errorSamples: errors.slice(0, 20),
      setup: {
        gateways:
          'startPlatform serving the EA plane only, one child process each, PostgreSQL and NATS shared',
        clients:
          'one undici WebSocket stream per follower, all in the bench process; one connection per master',
        loadAverage: { start: load[0], afterOneGateway: load[1], end: load[2] },
      },
    };
    log();
    log(
      table(
        [
          '',
          'gateways',
          'accept ms p50',
          'last follower ms p50 / p99',
          'same-replica p50',
          'cross-replica p50',
          'copy orders/s',
        ],
        [one, three].map((p) => [
          `${p.gateways} gateway${p.gateways > 1 ? 's' : ''}`,
          p.gateways,
          p.acceptMs.p50,
          `${p.lastFollowerMs.p50} / ${p.lastFollowerMs.p99}`,
          p.sameReplicaMs.p50,
          p.crossReplicaMs?.p50,
          p.sustained.copyOrdersPerSec,
        ]),
      ),
    );
    log(`cross-replica / same-replica p50: ${ratio}`);
    if (errors.length) log(`ERROR: ${errors.length} stream errors: ${errors.slice(0, 5).join('; ')}`);
    log(`(1-min load average ${load.join(' → ')})`);
    return reportResult(result, { out, log, failed: Boolean(errors.length) });
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err) => console.error('cleanup step failed:', err));
  }
}
