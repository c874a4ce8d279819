/**
 * idle-terminals benchmark: N terminals connected over the WebSocket stream, each sending a
 * heartbeat every 10 s, held by one gateway process. Measures that process's memory (RSS)
 * and CPU (share of one core) against the same process with no terminals, in the same run.
 * See bench/README.md.
 *
 *   node bench/run.js idle [--quick] [--dialect sqlite|postgres] [--out FILE]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool, WebSocket, getGlobalDispatcher } from 'undici';
import { migrate, openDatabase } from '../packages/server/dist/store/database.js';
import { insertAccount } from '../packages/server/dist/store/accounts.js';
import { insertKey } from '../packages/server/dist/store/keys.js';
import { keyFingerprint, keyHash } from '../packages/server/dist/services/secrets.js';
import { round, summarize, table } from './lib/stats.js';
import { checkDialect, machine, openTarget, reportResult } from './lib/target.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const IDLE_OUT = path.join(HERE, 'results', 'idle.json');
const SECRET = 'bench-secret-0123456789abcdef0123456789';
const BASE = '/trade-agent/v1';
const log = (line = '') => process.stdout.write(`${line}\n`);

const plans = {
  full: { terminals: 10_000, heartbeatSec: 10, floorSec: 10, measureSec: 30 },
  quick: { terminals: 300, heartbeatSec: 10, floorSec: 3, measureSec: 5 },
};

const accountOf = (i) => `bi-${String(i).padStart(5, '0')}`;
const keyOf = (accountId) => `bench-key-${accountId}-0123456789abcdef`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A timeout to race against: unref'd, so one left pending does not keep the process alive. */
const timeout = (ms) => new Promise((r) => setTimeout(r, ms).unref());

async function seed(target, n) {
  const database = await openDatabase(target);
  try {
    await migrate(database);
    const now = Date.now();
    for (let from = 0; from < n; from += 1000)
      await database.db.transaction().execute(async (trx) => {
        for (let i = from; i < Math.min(n, from + 1000); i++) {
          const accountId = accountOf(i);
          await insertAccount(trx, { accountId, platform: 'MT5', registeredBy: 'operator' }, now);
          await insertKey(
            trx,
            {
              accountId,
              fingerprint: keyFingerprint(accountId, keyOf(accountId)),
              keyHash: keyHash(SECRET, accountId, keyOf(accountId)),
              status: 'approved',
              origin: 'operator',
              expiresAt: null,
            },
            now,
          );
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
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
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

/** Resident memory (MB) and CPU seconds (user + system) of a process, from /proc. */
function usage(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line (clock ticks, 100 per second on Linux).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { rssMb: rssKb / 1024, cpuSec: ticks / 100 };
}

/** CPU share of one core and the largest RSS of `pid` over `sec` seconds. */
async function watch(pid, sec) {
  const start = usage(pid);
  const t0 = performance.now();
  let maxRss = start.rssMb;
  while (performance.now() - t0 < sec * 1000) {
    await sleep(250);
    maxRss = Math.max(maxRss, usage(pid).rssMb);
  }
  const end = usage(pid);
  const elapsed = (performance.now() - t0) / 1000;
  return { cpuPercent: (100 * (end.cpuSec - start.cpuSec)) / elapsed, rssMb: end.rssMb, maxRssMb: maxRss };
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
  const t = performance.now();
  const res = await pool.request({
    method,
    path: `${BASE}${p}`,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - t };
}

export async function runIdle({ quick = false, dialect = 'sqlite', out = null } = {}) {
  checkDialect(dialect);
  const plan = quick ? plans.quick : plans.full;
  const loadAtStart = round(os.loadavg()[0], 2);
  const { dataDir, target, drop } = await openTarget(dialect);
  const cleanup = [drop];
  const errors = [];
  const fail = (what) => {
    if (errors.length < 20) errors.push(what);
    errors.count = (errors.count ?? 0) + 1;
  };
  try {
    log(`idle-terminals bench: ${dialect}${quick ? ' (quick)' : ''}, ${plan.terminals} stream terminals`);
    await seed(target, plan.terminals);
    const env = {
      PORT: '0',
      KOPITRA_HOST: '127.0.0.1',
      KOPITRA_DATA_DIR: dataDir,
      KOPITRA_LOG_LEVEL: 'silent',
      KOPITRA_SECRET: SECRET,
      KOPITRA_HEARTBEAT_INTERVAL_SEC: String(plan.heartbeatSec),
      KOPITRA_RECONCILE_INTERVAL_SEC: '86400',
    };
    const gw = await startGateway(env, target);
    cleanup.push(async () => {
      gw.child.removeAllListeners('exit');
      const exited = new Promise((r) => gw.child.once('exit', r));
      gw.child.kill('SIGTERM');
      await Promise.race([exited, timeout(10_000)]);
      gw.child.kill('SIGKILL');
    });
    // The floor: the same gateway process, listening, no terminal connected.
    await sleep(500);
    const floor = await watch(gw.pid, plan.floorSec);
    log(
      `floor (no terminals): RSS ${round(floor.rssMb, 1)} MB, CPU ${round(floor.cpuPercent, 1)} % of one core`,
    );

    // Sessions over a shared pool (the clients' connections are not what is measured), then
    // one WebSocket per terminal, each its own TCP connection, as EAs hold them.
    // WebSockets open their connections through undici's global dispatcher: close it too.
    cleanup.push(() => getGlobalDispatcher().close());
    const pool = new Pool(gw.url, { connections: 64, pipelining: 1 });
    cleanup.push(() => pool.close());
    const ids = Array.from({ length: plan.terminals }, (_, i) => accountOf(i));
    const sessions = new Array(ids.length);
    const connectStarted = performance.now();
    await eachLimited(ids, 32, async (accountId, i) => {
      const res = await send(
        pool,
        'POST',
        '/sessions',
        { 'x-tradeagent-account': accountId, 'idempotency-key': `idle-${accountId}` },
        {
          authMethod: 'account_session_key',
          authKey: keyOf(accountId),
          platform: 'MT5',
          role: 'follower',
          eaVersion: '1.0.0',
          terminalBuild: 4410,
        },
      );
      if (res.status !== 201)
        throw new Error(`${accountId}: session ${res.status} ${res.text.slice(0, 200)}`);
      const body = JSON.parse(res.text);
      sessions[i] = { accountId, token: body.token, cursor: body.lastSequence };
    });
    const sockets = [];
    cleanup.push(async () => {
      await Promise.all(
        sockets.map((s) => {
          s.closing = true;
          if (s.ws.readyState === WebSocket.CLOSED) return undefined;
          const closed = new Promise((r) => s.ws.addEventListener('close', r, { once: true }));
          s.ws.close();
          return Promise.race([closed, timeout(5000)]);
        }),
      );
    });
    let unexpectedCloses = 0;
    await eachLimited(sessions, 64, async (s) => {
      const ws = new WebSocket(
        `${gw.url.replace(/^http/, 'ws')}${BASE}/sessions/current/stream?cursor=${s.cursor}`,
        { headers: { 'x-tradeagent-account': s.accountId, authorization: `Bearer ${s.token}` } },
      );
      const entry = { ws, hello: null, closing: false };
      await new Promise((resolve, reject) => {
        ws.addEventListener('message', (m) => {
          const msg = JSON.parse(String(m.data));
          if (msg.type === 'hello') {
            entry.hello = msg;
            resolve();
          }
        });
        ws.addEventListener('error', () => reject(new Error(`${s.accountId}: stream failed to open`)), {
          once: true,
        });
        ws.addEventListener('close', () => {
          if (!entry.closing) unexpectedCloses++;
        });
      });
      if (entry.hello.status !== 'authenticated') fail(`${s.accountId}: hello says ${entry.hello.status}`);
      sockets.push(entry);
    });
    const connectSec = (performance.now() - connectStarted) / 1000;
    log(`${sockets.length} streams open in ${round(connectSec, 1)} s`);

    // Heartbeats: every terminal every `heartbeatSec`, spread evenly over the interval.
    const heartbeatMs = [];
    let stop = false;
    const perTick = plan.terminals / (plan.heartbeatSec * 20);
    let next = 0;
    let carry = 0;
    const inflight = new Set();
    const ticker = setInterval(() => {
      if (stop) return;
      carry += perTick;
      for (; carry >= 1; carry--) {
        const s = sessions[next++ % sessions.length];
        const p = send(
          pool,
          'POST',
          '/sessions/current/inbox',
          {
            'x-tradeagent-account': s.accountId,
            authorization: `Bearer ${s.token}`,
            'idempotency-key': `idle-hb-${s.accountId}-${next}`,
          },
          {
            events: [
              {
                eventType: 'ea.heartbeat',
                payload: { balance: 10_000, equity: 10_000, margin: 0, openPositions: 0 },
              },
            ],
          },
        )
          .then((r) => {
            heartbeatMs.push(r.ms);
            if (r.status !== 202) fail(`heartbeat ${s.accountId}: ${r.status} ${r.text.slice(0, 200)}`);
          })
          .catch((err) => fail(`heartbeat ${s.accountId}: ${err.message}`))
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
    }, 50);
    // One interval first, so every terminal has heartbeated once before the window opens.
    await sleep(plan.heartbeatSec * 1000);
    const loaded = await watch(gw.pid, plan.measureSec);
    stop = true;
    clearInterval(ticker);
    await Promise.all(inflight);
    if (unexpectedCloses) fail(`${unexpectedCloses} streams closed by the gateway`);
    const open = sockets.filter((s) => s.ws.readyState === WebSocket.OPEN).length;
    if (open !== plan.terminals)
      fail(`${plan.terminals - open} of ${plan.terminals} streams not open at the end`);

    const hb = summarize(heartbeatMs);
    const result = {
      name: 'idle-terminals',
      dialect,
      when: new Date().toISOString(),
      node: process.version,
      machine: machine(),
      quick,
      terminals: plan.terminals,
      heartbeatSec: plan.heartbeatSec,
      connectSec: round(connectSec, 1),
      floor: { rssMb: round(floor.rssMb, 1), cpuPercentOfOneCore: round(floor.cpuPercent, 1) },
      connected: {
        rssMb: round(loaded.rssMb, 1),
        maxRssMb: round(loaded.maxRssMb, 1),
        cpuPercentOfOneCore: round(loaded.cpuPercent, 1),
        heartbeatsPerSec: round(plan.terminals / plan.heartbeatSec, 0),
        heartbeatMs: { p50: hb.p50, p99: hb.p99, max: hb.max, n: hb.n },
      },
      perTerminal: {
        rssKb: round(((loaded.maxRssMb - floor.rssMb) * 1024) / plan.terminals, 1),
        cpuPercentPer1000: round(((loaded.cpuPercent - floor.cpuPercent) * 1000) / plan.terminals, 2),
      },
      errors: errors.count ?? 0,
      errorSamples: errors,
      setup: {
        gateway: 'startPlatform alone in a child process (its RSS and CPU are read from /proc)',
        clients:
          'one undici WebSocket per terminal; sessions and heartbeats over a shared pool of 64 connections',
        loadAverage: { start: loadAtStart, end: round(os.loadavg()[0], 2) },
      },
    };
    log();
    log(`Idle terminals held by one gateway process — ${dialect}${quick ? ' (quick)' : ''}`);
    log(
      table(
        ['', 'terminals', 'RSS MB (max)', 'CPU % of one core', 'heartbeats/s', 'heartbeat ms p50 / p99'],
        [
          [
            'floor: the same process, nothing connected',
            0,
            result.floor.rssMb,
            result.floor.cpuPercentOfOneCore,
            0,
            '–',
          ],
          [
            'streams open, heartbeat every 10 s',
            plan.terminals,
            result.connected.maxRssMb,
            result.connected.cpuPercentOfOneCore,
            result.connected.heartbeatsPerSec,
            `${hb.p50} / ${hb.p99}`,
          ],
        ],
      ),
    );
    log(
      `per terminal: ${result.perTerminal.rssKb} KB of RSS, ${result.perTerminal.cpuPercentPer1000} % of a core per 1000 terminals`,
    );
    if (result.errors) log(`ERROR: ${result.errors} wrong answers: ${errors.join('; ')}`);
    log(
      `(1-min load average ${result.setup.loadAverage.start} at the start, ${result.setup.loadAverage.end} at the end)`,
    );
    return reportResult(result, { out, log, failed: Boolean(result.errors) });
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch((err) => console.error('cleanup step failed:', err));
  }
}
