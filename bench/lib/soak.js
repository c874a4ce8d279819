/**
 * Correctness under churn: the SDK's simulated terminals trade against the spawned,
 * all-in-one server while the server is SIGKILLed and restarted and followers are killed and
 * restarted on their books; afterwards every result is checked from the outside (the
 * operators' API and the terminals' own books), against rules re-derived here rather than
 * taken from the engine. See bench/README.md ("soak").
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimFollower, SimMaster, BASE_SYMBOLS } from '../../packages/ea-sdk/dist/index.js';
import { parsePositionTag, positionTag } from '../../packages/contracts/dist/index.js';
import { reasonCatalogue } from '../../packages/engine/dist/index.js';
import { orderBook, orderCopyBook, pendingBookProblems } from './books.js';
import { summarize } from './stats.js';
import { openTarget } from './target.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'packages/server/dist/bin/kopitra.js');
const ADMIN = { email: 'admin@soak.local', password: 'admin-password-soak-0123' };
const REJECT_RATE = 0.05;
const EPS = 1e-9;

const suffixMap = (suffix) => Object.fromEntries(Object.keys(BASE_SYMBOLS).map((s) => [s, `${s}${suffix}`]));

/**
 * Ten followers: mixed sizing (each replayable from the master's volume alone), symbol maps,
 * MT4 and MT5, hedging and one netting account, one reversed, polling and WebSocket, and the
 * master's pending orders copied, skipped, opened at market once they fill or replaced by a
 * market open, one broker with a stops level. `k`/`lots` restate the sizing for the replay,
 * `pending`, `onFill` and `reverse` the pending-order settings.
 */
export const SOAK_FOLLOWERS = [
  { id: 'S01', settings: {}, k: 1 },
  {
    id: 'S02',
    settings: { sizing: { mode: 'multiplier', multiplier: 2 }, symbolMap: suffixMap('.m') },
    k: 2,
    options: { suffix: '.m', stopsLevelPoints: 30 },
  },
  {
    id: 'S03',
    settings: { sizing: { mode: 'fixed', lots: 0.05 }, symbolMap: suffixMap('-ECN'), pendingOrders: 'skip' },
    lots: 0.05,
    pending: 'skip',
    options: { suffix: '-ECN', platform: 'MT4' },
  },
  {
    id: 'S04',
    settings: { sizing: { mode: 'multiplier', multiplier: 0.5 }, reverse: true },
    k: 0.5,
    reverse: true,
  },
  {
    id: 'S05',
    settings: { sizing: { mode: 'multiplier', multiplier: 1.5 }, pendingOnMasterFill: 'market' },
    k: 1.5,
    onFill: 'market',
    options: { transport: 'websocket' },
  },
  // The netting follower gets broker refusals too: reconciliation nets its links per symbol.
  {
    id: 'S06',
    settings: { sizing: { mode: 'contract_size' }, pendingOrders: 'market_on_fill' },
    k: 1,
    pending: 'market_on_fill',
    // No broker refusals on the netting follower yet: after a refused partial close, per-symbol
    // reconciliation trims what it left by a market deal recorded as an open, which this run's
    // "nothing opened after the master's close" check cannot tell from a re-open.
    options: { netting: true, rejectRate: 0 },
  },
  {
    id: 'S07',
    settings: { sizing: { mode: 'multiplier', multiplier: 0.3 }, symbolMap: suffixMap('.pro') },
    k: 0.3,
    options: { suffix: '.pro' },
  },
  {
    id: 'S08',
    settings: { symbolMap: suffixMap('.m') },
    k: 1,
    options: { suffix: '.m', platform: 'MT4', transport: 'websocket' },
  },
  {
    id: 'S09',
    settings: { sizing: { mode: 'fixed', lots: 0.02 }, pendingOrders: 'market_on_fill' },
    lots: 0.02,
    pending: 'market_on_fill',
  },
  {
    id: 'S10',
    settings: { sizing: { mode: 'multiplier', multiplier: 3 } },
    k: 3,
    options: { platform: 'MT4' },
  },
];

/** Volume rounded down to the step, as a broker takes it (here, not from the engine). */
const floorStep = (v, step) => Number((Math.floor(v / step + EPS) * step).toFixed(8));

/** What a follower's open should be, from the master's volume, its sizing and the symbol. */
export function replayOpen(f, masterVolume, spec) {
  const raw = f.lots ?? masterVolume * f.k;
  const volume = floorStep(Math.min(raw, spec.volumeMax), spec.volumeStep);
  return volume < spec.volumeMin - EPS ? null : volume;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts `kopitra up` on `port` and resolves once it answers healthy. */
async function startServer(env, port, log) {
  const child = spawn(process.execPath, [BIN, 'up'], {
    env: { ...process.env, ...env, PORT: String(port), KOPITRA_HOST: '127.0.0.1', KOPITRA_LOG_LEVEL: 'warn' },
    stdio: ['ignore', process.env.SOAK_SERVER_LOG ? 'pipe' : 'ignore', 'pipe'],
  });
  // SOAK_SERVER_LOG=FILE appends every server's log lines to FILE, for looking into a failed run.
  if (process.env.SOAK_SERVER_LOG) {
    const out = fs.createWriteStream(process.env.SOAK_SERVER_LOG, { flags: 'a' });
    child.stdout.pipe(out);
  }
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 90_000; ;) {
    if (child.exitCode !== null) throw new Error(`kopitra exited with ${child.exitCode}: ${stderr}`);
    const ok = await fetch(`${url}/trade-agent/v1/health`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kopitra did not become healthy: ${stderr}`);
    }
    await sleep(200);
  }
  log(`server up on ${url} (pid ${child.pid})`);
  return {
    url,
    kill: (signal) =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one soak. Returns `{ figures, problems }`: `problems` lists every divergence found (empty
 * when the run is correct); `figures` are the counts and latencies to print.
 */
export async function runSoak({
  trades,
  dialect = 'sqlite',
  serverKills = 2,
  followerKills = 2,
  intervalMs = 4,
  /** Share of the master's steps that add to a position (it is an MT5 netting account). */
  addRate = 0.1,
  /** Share of the master's steps that place, move or cancel a pending order. */
  pendingRate = 0.3,
  /** Range of the lifetimes of the master's orders that expire (ms). */
  orderLifetimeMs = [1000, 8000],
  convergeMs = 120_000,
  log = () => undefined,
}) {
  const db = await openTarget(dialect);
  const env = {
    DATABASE_URL:
      db.target.dialect === 'sqlite'
        ? db.target.file
        : `${db.target.url}?options=${encodeURIComponent(`-c search_path=${db.target.schema}`)}`,
    KOPITRA_DATA_DIR: db.dataDir,
    KOPITRA_ADMIN_EMAIL: ADMIN.email,
    KOPITRA_ADMIN_PASSWORD: ADMIN.password,
    KOPITRA_RECONCILE_INTERVAL_SEC: '1',
    KOPITRA_HEARTBEAT_INTERVAL_SEC: '2',
  };
  const port = await freePort();
  let server = await startServer(env, port, log);
  const terminals = [];
  try {
    let token = '';
    const api = async (method, p, body) => {
      const res = await fetch(`${server.url}${p}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const json = await res.json();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    // The first admin may be written a moment after the server answers healthy.
    for (let attempt = 1; !token; attempt++) {
      try {
        token = (await api('POST', '/api/auth/login', ADMIN)).token;
      } catch (err) {
        if (attempt >= 20) throw err;
        await sleep(500);
      }
    }
    const keys = new Map();
    for (const id of ['SM', ...SOAK_FOLLOWERS.map((f) => f.id)]) {
      const platform = SOAK_FOLLOWERS.find((f) => f.id === id)?.options?.platform ?? 'MT5';
      await api('POST', '/api/admin/accounts', { accountId: id, platform });
      keys.set(id, (await api('POST', `/api/admin/accounts/${id}/keys`, {})).key);
    }
    const group = await api('POST', '/api/admin/groups', { name: 'soak', masterAccountId: 'SM' });
    for (const f of SOAK_FOLLOWERS)
      await api('PUT', `/api/admin/groups/${group.groupId}/followers/${f.id}`, f.settings);

    const gateway = server.url;
    const optionsOf = (f, account) => ({
      gateway,
      accountId: f.id,
      authKey: keys.get(f.id),
      seed: `soak-${f.id}`,
      rejectRate: REJECT_RATE,
      latencyMs: [1, 5],
      slippagePoints: 3,
      snapshotIntervalMs: 1000,
      wait: 5,
      ...(process.env.SOAK_VERBOSE ? { log } : {}),
      ...(account ? { account } : {}),
      ...f.options,
    });
    const followers = new Map();
    for (const f of SOAK_FOLLOWERS) {
      const sim = new SimFollower(optionsOf(f));
      terminals.push(sim);
      followers.set(f.id, await sim.start());
    }

    // Churn, at fixed points of the run: the server SIGKILLed and restarted on the same port
    // and database, followers killed (no release) and restarted on the same broker account.
    let churn = Promise.resolve();
    const events = new Map();
    for (let i = 1; i <= serverKills; i++)
      events.set(Math.round((trades * i) / (serverKills + 1)), async () => {
        log(`SIGKILL the server (${i}/${serverKills})`);
        await server.kill('SIGKILL');
        await sleep(300);
        server = await startServer(env, port, log);
      });
    for (let i = 1; i <= followerKills; i++) {
      const f = SOAK_FOLLOWERS[(i * 3) % SOAK_FOLLOWERS.length];
      events.set(Math.round((trades * (2 * i - 1)) / (2 * followerKills + 2)) + 1, async () => {
        log(`kill follower ${f.id} (${i}/${followerKills})`);
        const old = followers.get(f.id);
        await old.stop({ crash: true });
        await sleep(300);
        // The new terminal waits out its predecessor's lease; a server down meanwhile is waited for too.
        for (let attempt = 1; ; attempt++) {
          const again = new SimFollower(optionsOf(f, old.account));
          terminals.push(again);
          followers.set(f.id, again);
          try {
            await again.start();
            return;
          } catch (err) {
            log(`restart of ${f.id} failed (attempt ${attempt}): ${err.message}`);
            await again.stop().catch(() => undefined);
            await sleep(1000);
          }
        }
      });
    }
    const master = new SimMaster({
      gateway,
      accountId: 'SM',
      authKey: keys.get('SM'),
      seed: 'soak-master',
      intervalMs,
      maxOpenPositions: 8,
      netting: true,
      addRate,
      pendingRate,
      orderLifetimeMs,
      onSignal: () => {
        const event = events.get(master.sent.length);
        // One churn event at a time, in order, while the master keeps trading.
        if (event) churn = churn.then(event).catch((err) => log(`churn failed: ${err.message}`));
      },
    });
    terminals.push(master);
    await master.start();
    const started = Date.now();
    const sent = await master.run({ trades });
    await churn;
    log(`${sent} signals sent in ${((Date.now() - started) / 1000).toFixed(1)} s; waiting for the books`);

    const pages = async (p) => {
      const out = [];
      for (let cursor = null; ;) {
        const page = await api(
          'GET',
          `${p}${p.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        out.push(...page.items);
        if (!page.nextCursor) return out;
        cursor = page.nextCursor;
      }
    };
    // A copy is every position with its tag: a hedging follower holds one per add of the master.
    const bookOf = (id) => {
      const copies = new Map();
      for (const p of followers.get(id).account.positions.values()) {
        const c = copies.get(p.comment);
        if (c) c.volume = Number((c.volume + p.volume).toFixed(8));
        else copies.set(p.comment, { symbol: p.symbol, side: p.side, volume: p.volume });
      }
      return [...copies].map(([tag, c]) => `${tag} ${c.symbol} ${c.side} ${c.volume}`).sort();
    };
    const linkKey = (l) =>
      `${positionTag(l.groupId, l.masterPositionId)} ${l.symbol} ${l.side} ${l.openVolume}`;

    // Reconciliation runs every second on fresh snapshots: the books — positions and pending
    // orders — must settle.
    let converged = false;
    for (const deadline = Date.now() + convergeMs; Date.now() < deadline;) {
      await sleep(1500);
      let same = true;
      for (const f of SOAK_FOLLOWERS) {
        const links = await pages(`/api/admin/positions?status=open&followerAccountId=${f.id}`);
        if (JSON.stringify(bookOf(f.id)) !== JSON.stringify(links.map(linkKey).sort())) same = false;
        const copies = await pages(`/api/admin/pending-orders?status=pending&followerAccountId=${f.id}`);
        const orders = followers.get(f.id).account;
        if (JSON.stringify(orderBook(orders)) !== JSON.stringify(orderCopyBook(copies))) same = false;
      }
      let inFlight = 0;
      for (const status of ['queued', 'delivered', 'acknowledged'])
        inFlight += (await api('GET', `/api/admin/orders?status=${status}&limit=10`)).items.length;
      if (same && inFlight === 0) {
        converged = true;
        break;
      }
    }
    const problems = [];
    for (const [id, f] of followers)
      if (f.fatal) problems.push(`${id} stopped: ${f.fatal.message ?? f.fatal}`);
    if (!converged) problems.push(`books did not settle within ${convergeMs / 1000} s`);

    const orders = await pages('/api/admin/orders');
    const linksAll = await pages('/api/admin/positions');
    const orderCopies = await pages('/api/admin/pending-orders');
    const masterBook = master.account.positions;
    const report = checkRun({
      followers,
      orders,
      linksAll,
      orderCopies,
      masterBook,
      masterOrders: master.account.orders,
      bookOf,
      linkKey,
      signals: master.sent,
    });
    problems.push(...report.problems);
    return {
      figures: {
        trades: sent,
        followers: SOAK_FOLLOWERS.length,
        serverKills,
        followerKills,
        converged,
        ...report.figures,
      },
      problems,
    };
  } finally {
    await Promise.all(terminals.map((t) => t.stop().catch(() => undefined)));
    await server.kill('SIGTERM');
    // SOAK_KEEP=1 keeps the database for looking into a failed run.
    if (process.env.SOAK_KEEP) log(`database kept: ${JSON.stringify(db.target)}`);
    else await db.drop();
  }
}

/** Every check of a finished run; pure over what the API and the terminals report. */
function checkRun({
  followers,
  orders,
  linksAll,
  orderCopies,
  masterBook,
  masterOrders,
  bookOf,
  linkKey,
  signals,
}) {
  const sent = signals.length;
  const problems = [];
  const spec = (symbol) => {
    const base = Object.keys(BASE_SYMBOLS).find((b) => symbol === b || symbol.startsWith(b));
    return BASE_SYMBOLS[base].spec;
  };
  const sentOf = new Map(signals.map((s) => [s.response.signalId, s.request]));
  const byCopy = new Map();
  for (const o of orders) {
    const key = `${o.followerAccountId} ${o.masterPositionId}`;
    if (!byCopy.has(key)) byCopy.set(key, []);
    byCopy.get(key).push(o);
  }
  const history = (key) =>
    (byCopy.get(key) ?? [])
      .map((o) => {
        const req = sentOf.get(o.signalId);
        return (
          `\n      ${o.times.written} ${o.origin} ${o.kind} ${o.status} ${o.reason ?? ''} vol ${o.volume} ` +
          `filled ${o.filledVolume} delivered ${o.times.delivered ?? '-'} executed ${o.times.executed ?? '-'}` +
          (req ? ` (master ${req.type} ${req.volume}/${req.remainingVolume ?? '-'})` : '')
        );
      })
      .join('');
  let divergences = 0;
  let doubled = 0;
  let sizingChecked = 0;
  let sizingWrong = 0;
  let reopenedAfterClose = 0;
  let freeText = 0;
  let pendingDivergences = 0;
  let pendingFillsChecked = 0;
  let pendingFillsWrong = 0;
  const problem = (counter, line) => {
    if (problems.length < 40) problems.push(line);
    return counter + 1;
  };

  // What the master still has: its positions, and its orders still waiting (a follower's copy
  // may fill first; its position then stands for the master's order).
  const masterLive = new Set([...masterBook.keys(), ...masterOrders.keys()]);
  // How each master position or order was opened (an order's fill keeps its ticket), and how
  // each follower should hold it: the symbol mapped, the side (and order type) reversed or not.
  const masterShape = new Map();
  for (const { request: r } of signals) {
    const id = r.masterPositionId ?? r.masterOrderId;
    if (!masterShape.has(id)) masterShape.set(id, { symbol: r.symbol, side: r.side, orderType: r.orderType });
  }
  const other = { buy: 'sell', sell: 'buy', limit: 'stop', stop: 'limit' };
  const copyShape = (f, id) => {
    const m = masterShape.get(id);
    const base = Object.keys(BASE_SYMBOLS).find((b) => m.symbol === b);
    return {
      symbol: `${base}${f.options?.suffix ?? ''}`,
      side: f.reverse ? other[m.side] : m.side,
      orderType: f.reverse ? other[m.orderType] : m.orderType,
    };
  };
  const copiesOf = (id) => orderCopies.filter((c) => c.followerAccountId === id);

  const added = new Set(
    signals.filter((s) => s.request.type === 'position.increased').map((s) => s.request.masterPositionId),
  );
  // Book = links = the master's book: what a follower holds is what the server links, and
  // every linked copy belongs to a position the master still holds.
  for (const f of SOAK_FOLLOWERS) {
    const open = linksAll.filter((l) => l.followerAccountId === f.id && l.status === 'open');
    for (const p of followers.get(f.id).account.positions.values())
      if (
        !open.some((l) => l.ticket === p.ticket || positionTag(l.groupId, l.masterPositionId) === p.comment)
      )
        problem(
          0,
          `${f.id} holds ${p.ticket} ${p.comment} with no open link:${history(`${f.id} ${parsePositionTag(p.comment)?.masterPositionId ?? p.comment}`)}`,
        );
    if (JSON.stringify(bookOf(f.id)) !== JSON.stringify(open.map(linkKey).sort()))
      divergences = problem(
        divergences,
        `${f.id}: book ${bookOf(f.id).join(' | ')} ≠ links ${open.map(linkKey).sort().join(' | ')}`,
      );
    // Several positions with one tag are a copy the master added to (hedging), never a second copy.
    const book = [...followers.get(f.id).account.positions.values()];
    for (const tag of new Set(book.map((p) => p.comment)))
      if (
        book.filter((p) => p.comment === tag).length > 1 &&
        !added.has(parsePositionTag(tag)?.masterPositionId ?? tag)
      )
        doubled = problem(doubled, `${f.id} holds two copies of ${tag}`);
    for (const l of open)
      if (!masterLive.has(l.masterPositionId))
        divergences = problem(
          divergences,
          `${f.id} holds a copy of closed master position ${l.masterPositionId}`,
        );
    // Every copy, open or closed, on the mapped symbol and the master's side (reversed or not).
    for (const l of linksAll.filter((x) => x.followerAccountId === f.id)) {
      const want = copyShape(f, l.masterPositionId);
      if (l.symbol !== want.symbol || l.side !== want.side)
        divergences = problem(
          divergences,
          `${f.id} copy of ${l.masterPositionId} is ${l.symbol} ${l.side}, not ${want.symbol} ${want.side}`,
        );
    }
    // Pending orders: the follower's book equals the copies the server keeps pending, and each
    // stands for something the master still has.
    const copies = copiesOf(f.id);
    for (const line of pendingBookProblems(f.id, followers.get(f.id).account, copies, masterLive))
      pendingDivergences = problem(pendingDivergences, line);
    // A copy only where the subscription copies pending orders, on the mapped symbol, side and
    // type (a reversed buy limit is a sell stop at the same price), sized as an open of the
    // master's volume.
    for (const c of copies) {
      const want = copyShape(f, c.masterOrderId);
      if ((f.pending ?? 'copy') !== 'copy')
        pendingDivergences = problem(
          pendingDivergences,
          `${f.id} (pendingOrders ${f.pending}) has a copy of master order ${c.masterOrderId}`,
        );
      else if (c.symbol !== want.symbol || c.side !== want.side || c.orderType !== want.orderType)
        pendingDivergences = problem(
          pendingDivergences,
          `${f.id} copy of master order ${c.masterOrderId} is ${c.symbol} ${c.side} ${c.orderType}, not ${want.symbol} ${want.side} ${want.orderType}`,
        );
      sizingChecked++;
      const expected = replayOpen(f, c.masterVolume, spec(c.symbol));
      if (c.volume !== expected)
        sizingWrong = problem(
          sizingWrong,
          `${f.id} copy of master order ${c.masterOrderId}: ${c.volume} lots, replay says ${expected}`,
        );
    }
    // Every order the master still waits with is waiting at the follower too (or already filled
    // there), or the follower's orders say why not.
    if ((f.pending ?? 'copy') === 'copy')
      for (const [id] of masterOrders) {
        if (copies.some((c) => c.masterOrderId === id && ['pending', 'filled'].includes(c.status))) continue;
        const why = (byCopy.get(`${f.id} ${id}`) ?? []).some((o) => o.reason !== null);
        if (!why)
          pendingDivergences = problem(
            pendingDivergences,
            `${f.id} lacks master order ${id} and no order says why`,
          );
      }
    // Every position the master holds is held by the follower, or the follower's orders say why not.
    for (const [id] of masterBook) {
      if (open.some((l) => l.masterPositionId === id)) continue;
      const why = (byCopy.get(`${f.id} ${id}`) ?? []).some((o) => o.reason !== null);
      if (!why)
        divergences = problem(divergences, `${f.id} lacks master position ${id} and no order says why`);
    }
  }

  // One copy order per signal and follower.
  const perSignal = new Map();
  for (const o of orders.filter((x) => x.origin === 'signal')) {
    const k = `${o.signalId} ${o.followerAccountId}`;
    perSignal.set(k, (perSignal.get(k) ?? 0) + 1);
  }
  for (const [k, n] of perSignal)
    if (n > 1) doubled = problem(doubled, `${n} copy orders for signal and follower ${k}`);
  if (perSignal.size !== sent * SOAK_FOLLOWERS.length)
    divergences = problem(
      divergences,
      `${perSignal.size} signal copies, expected ${sent * SOAK_FOLLOWERS.length}`,
    );

  // Reasons: catalogue codes only, on every order not done as asked.
  for (const o of orders) {
    const undone = ['skipped', 'rejected', 'failed', 'expired', 'withdrawn'].includes(o.status);
    if ((o.reason !== null && !Object.hasOwn(reasonCatalogue, o.reason)) || (undone && o.reason === null))
      freeText = problem(freeText, `order ${o.orderId} (${o.status}) has reason ${JSON.stringify(o.reason)}`);
  }

  // Sizing replayed from the master's volume: every signal's open, and the share of every
  // partial close (within one lot step: brokers round to it).
  for (const f of SOAK_FOLLOWERS) {
    // An add is sized as an open of the added volume, a pending order's copy as an open of the
    // order's volume.
    for (const o of orders.filter(
      (x) =>
        x.followerAccountId === f.id &&
        x.origin === 'signal' &&
        (x.kind === 'open' ||
          x.kind === 'place_order' ||
          sentOf.get(x.signalId)?.type === 'position.increased'),
    )) {
      const req = sentOf.get(o.signalId);
      if (!req) continue;
      const expected = replayOpen(f, req.volume, spec(o.symbol ?? req.symbol));
      const got = o.status === 'skipped' ? null : o.volume;
      if (o.status === 'skipped' && o.reason !== 'volume_below_minimum') continue; // skipped for another reason
      sizingChecked++;
      if (expected !== got)
        sizingWrong = problem(
          sizingWrong,
          `${f.id} ${o.kind} of ${o.masterPositionId}: ${got} lots, replay says ${expected}`,
        );
    }
  }
  for (const [key, list] of byCopy) {
    const seq = [...list].sort((x, y) => Date.parse(x.times.written) - Date.parse(y.times.written));
    // What the link holds as the server plans it: an open's volume (its fill once reported),
    // plus every add when it is decided (a refused one taken back when reported; one withdrawn
    // because the copy's open failed stays, for reconciliation to re-open whole), less every
    // partial close when it is decided (a refused one is trimmed later by reconciliation,
    // which the link already counts).
    let held = 0;
    let takenBack = [];
    for (const o of seq) {
      const at = Date.parse(o.times.written);
      held = Number(
        (held - takenBack.filter((t) => t.at <= at).reduce((n, t) => n + t.volume, 0)).toFixed(8),
      );
      takenBack = takenBack.filter((t) => t.at > at);
      if (o.kind === 'increase') {
        if (o.status === 'skipped' || (o.status === 'withdrawn' && o.reason !== 'copy_open_failed')) continue;
        held = Number((held + (o.status === 'filled' ? (o.filledVolume ?? o.volume) : o.volume)).toFixed(8));
        if (['rejected', 'failed', 'expired'].includes(o.status))
          takenBack.push({
            at: Date.parse(o.times.reported ?? o.times.executed ?? o.times.written),
            volume: o.volume,
          });
      } else if (o.kind === 'open' && o.status === 'filled') held = o.filledVolume ?? o.volume;
      // A placed copy holds its volume once it fills (before, the master cannot close any of it).
      else if (o.kind === 'place_order' && o.status === 'filled') held = o.volume;
      else if (o.kind === 'open' && !['skipped', 'withdrawn'].includes(o.status)) held = o.volume;
      else if (o.kind === 'partial_close' && o.origin === 'signal' && o.status !== 'skipped') {
        const req = sentOf.get(o.signalId);
        const step = spec(o.symbol).volumeStep;
        if (req && req.remainingVolume !== undefined && held > 0) {
          const share = (held * req.volume) / (req.volume + req.remainingVolume);
          sizingChecked++;
          if (Math.abs(o.volume - share) > step + EPS || o.volume > held + EPS)
            sizingWrong = problem(
              sizingWrong,
              `${key}: partial close of ${o.volume} of ${held}, share ${share.toFixed(4)}${history(key)}`,
            );
        }
        held = Number((held - o.volume).toFixed(8));
      }
    }
  }

  // Every copy of a master order that filled became the right position, once: a follower that
  // skips pending orders holds nothing of it; one that opens on the master's fill opens it at
  // market and placed nothing; one that copies them holds its own copy's fill, or its copy
  // still waits for its price (left), or was replaced by a market open (pendingOnMasterFill:
  // market) — never two of these. (Each position's symbol and side are checked above.)
  for (const { request: r, response } of signals.filter((x) => x.request.type === 'order.filled'))
    for (const f of SOAK_FOLLOWERS) {
      const id = r.masterPositionId;
      const key = `${f.id} ${id}`;
      const list = byCopy.get(key) ?? [];
      const onFill = list.find((o) => o.signalId === response.signalId);
      const copy = orderCopies.find(
        (c) => c.followerAccountId === f.id && c.masterOrderId === r.masterOrderId,
      );
      const links = linksAll.filter((l) => l.followerAccountId === f.id && l.masterPositionId === id);
      const opened = list.filter((o) => o.origin === 'signal' && o.kind === 'open' && o.status === 'filled');
      const mode = f.pending ?? 'copy';
      pendingFillsChecked++;
      let wrong = null;
      if (!onFill) wrong = 'no copy order for the fill';
      else if (mode === 'skip') {
        if (copy || links.length > 0 || onFill.reason !== 'pending_orders_skipped')
          wrong = 'copied though the subscription skips pending orders';
      } else if (mode === 'market_on_fill') {
        if (copy) wrong = 'placed a copy though the subscription opens on the fill';
        else if (onFill.kind !== 'open' && onFill.status !== 'skipped')
          wrong = `fill became a ${onFill.kind}`;
        else if (onFill.status === 'filled' && links.length === 0)
          wrong = 'opened at market yet no position is linked';
      } else if (copy) {
        const sources = (copy.status === 'filled' ? 1 : 0) + opened.length;
        if (sources > 1)
          doubled = problem(doubled, `${key}: the copy filled and was opened at market too${history(key)}`);
        else if (copy.status === 'filled' && links.length === 0)
          wrong = 'the copy filled yet no position is linked';
        else if (
          copy.status === 'replaced' &&
          (f.onFill !== 'market' ||
            onFill.kind !== 'open' ||
            // A market open in its place that the master's close withdrew is still the replacement.
            (onFill.reason !== 'order_filled_at_market' && onFill.status !== 'withdrawn'))
        )
          wrong = `the copy was replaced, the fill's order is ${onFill.kind} ${onFill.status} ${onFill.reason}`;
        else if (copy.status === 'pending' && f.onFill === 'market' && onFill.status !== 'skipped')
          wrong = `the copy still waits though the fill was ${onFill.kind} ${onFill.status}`;
        else if (copy.status === 'pending' && f.onFill !== 'market' && onFill.reason !== 'order_left_pending')
          wrong = `the copy still waits; the fill's order is ${onFill.kind} ${onFill.status} ${onFill.reason}`;
      }
      if (wrong)
        pendingFillsWrong = problem(
          pendingFillsWrong,
          `${key} (master order filled): ${wrong}; copy ${copy ? `${copy.status} ${copy.ticket} → ${copy.positionTicket}` : 'none'}${history(key)}`,
        );
    }

  // Nothing opened after the server heard of the master's close: no open decided after the
  // close's copy order was written, none delivered when the close withdrew it, and none
  // executed by the follower after it executed the close.
  for (const [key, list] of byCopy) {
    const close = list.find(
      (o) => o.origin === 'signal' && sentOf.get(o.signalId)?.type === 'position.closed',
    );
    if (!close) continue;
    const closeWritten = Date.parse(close.times.written);
    const closeExecuted = close.times.executed ? Date.parse(close.times.executed) : null;
    for (const o of list.filter((x) => x.kind === 'open')) {
      const what = `${o.origin} open ${o.orderId} (${key})`;
      let wrong = null;
      if (Date.parse(o.times.written) > closeWritten) wrong = 'decided after its master’s close';
      else if (o.status === 'withdrawn' && o.times.delivered !== null) wrong = 'delivered, yet withdrawn';
      else if (
        o.status === 'filled' &&
        closeExecuted !== null &&
        Date.parse(o.times.executed) > closeExecuted
      )
        wrong = 'executed after the follower closed its copy';
      if (wrong) reopenedAfterClose = problem(reopenedAfterClose, `${what} ${wrong}${history(key)}`);
    }
  }

  // From the master's close to each copy's close, as the follower executed it.
  const latency = [];
  for (const o of orders)
    if (
      o.origin === 'signal' &&
      o.kind === 'close' &&
      o.status === 'filled' &&
      o.times.masterDeal &&
      o.times.executed
    )
      latency.push(Date.parse(o.times.executed) - Date.parse(o.times.masterDeal));

  const byStatus = {};
  for (const o of orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  // The master's pending orders: an expiry reaches the server as a cancel past the order's expiry.
  const pendingSignals = { placed: 0, modified: 0, cancelled: 0, expired: 0, filled: 0 };
  for (const { request: r } of signals) {
    if (!r.type.startsWith('order.')) continue;
    const expired =
      r.type === 'order.cancelled' &&
      r.expiresAt !== null &&
      Date.parse(r.expiresAt) <= Date.parse(r.occurredAt);
    pendingSignals[expired ? 'expired' : r.type.slice('order.'.length)]++;
  }
  const orderCopiesByStatus = {};
  for (const c of orderCopies) orderCopiesByStatus[c.status] = (orderCopiesByStatus[c.status] ?? 0) + 1;
  return {
    problems,
    figures: {
      copyOrders: orders.length,
      byStatus,
      reconcileOrders: orders.filter((o) => o.origin === 'reconcile').length,
      divergences,
      doubled,
      sizingChecked,
      sizingWrong,
      reopenedAfterClose,
      freeTextReasons: freeText,
      pendingSignals,
      orderCopiesByStatus,
      pendingDivergences,
      pendingFillsChecked,
      pendingFillsWrong,
      closeToCopiesCloseMs: summarize(latency),
      masterOpenAtEnd: masterBook.size,
      brokerRejects: [...followers.values()].reduce((n, f) => n + f.stats.rejected, 0),
    },
  };
}
