/**
 * Two gateway replicas on one PostgreSQL database with the NATS bus: a fan-out committed on A
 * carries its outbox rows in the wake-up, and a follower parked on B takes them from memory
 * (no read of its outbox there), marked delivered as a read would have. The wake-ups are only
 * an offer: relayed by hand from A to B, a duplicated, overtaken or lost one still gives every
 * event exactly once and in order — the lost one through B's periodic re-check.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { resolveBus } from '../config.js';
import type { Metrics } from '../metrics.js';
import { startPlatform, type Platform } from '../runtime.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { NATS_URL, natsOrSkip } from '../testing/databases.js';
import {
  BASE,
  ManualTicker,
  eventually,
  startReplica,
  startTestPlatform,
  type TestPlatform,
} from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

const namespace = () => `xr${randomBytes(4).toString('hex')}`;
const silent = pino({ level: process.env['KOPITRA_TEST_LOG'] ?? 'silent' });

const opened = (id: string) => ({
  signalId: `s${id}`,
  type: 'position.opened',
  masterPositionId: id,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  price: 1.1,
});

/** Reads of follower outboxes by this replica's polls and streams. */
const reads = async (m: Metrics | undefined) =>
  (await m!.outboxReads.get()).values.reduce((n, v) => n + v.value, 0);
const taken = async (m: Metrics | undefined) =>
  (await m!.outboxHandoffs.get()).values.find((v) => v.labels['outcome'] === 'taken')?.value ?? 0;

// Two platforms on PostgreSQL and NATS each: slow to start on a busy machine.
describe('cross-replica hand-off over NATS on PostgreSQL', { timeout: 60_000 }, () => {
  let tp: TestPlatform | null = null;
  let replica: Platform | undefined;
  let relay: NatsConnection | undefined;
  afterEach(async () => {
    await relay?.close();
    await replica?.stop();
    await tp?.close();
    relay = replica = undefined;
    tp = null;
  });

  /** A master on A and one follower (its init ack drained) subscribed to it. */
  async function setup(p: TestPlatform) {
    const master = await new SimMaster(p.platform, 'XM').connect();
    await master.heartbeat(10_000);
    const follower = await new SimFollower(p.platform, 'XF').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    await follower.drain();
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'x', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      {
        groupId: g.group_id,
        followerAccountId: follower.accountId,
        settings: { sizing: { mode: 'mirror' } },
      },
      p.clock.now(),
    );
    return { master, follower };
  }

  /** A stream on `on` for the follower, collecting what it is sent. */
  async function stream(on: Platform, f: SimFollower) {
    const messages: Array<Record<string, any>> = [];
    const ws: WebSocket = await on.app.injectWS(
      `${BASE}/sessions/current/stream?cursor=${f.cursor}`,
      { headers: f.headers(false) },
      {
        onInit: (socket) =>
          socket.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, any>)),
      },
    );
    const events = () => messages.filter((m) => m['type'] === 'event').map((m) => m['event']);
    return { ws, messages, events };
  }

  it('answers a follower parked on B from the rows A carried, without reading its outbox', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    tp = await startTestPlatform('postgres', {
      KOPITRA_BUS_URL: NATS_URL,
      KOPITRA_BUS_NAMESPACE: namespace(),
    });
    if (!tp) return t.skip();
    const p = tp;
    replica = (await startReplica(p, { gateway: true, management: false })).platform;
    const b = replica;
    const { master, follower } = await setup(p);

    // A long poll parked on B: one read finds nothing, then the signal accepted on A answers it.
    const poll = b.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${follower.cursor}&wait=20`,
      headers: follower.headers(false),
    });
    await eventually(async () => b.gateway.handoff.size === 1);
    expect(await reads(b.gateway.metrics)).toBe(1);
    const accepted = await master.signal(opened('x1'));
    const res = await poll;
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.events.map((e: { sequence: number }) => e.sequence)).toEqual([follower.cursor + 1]);
    expect(body.events[0].payload.orderId).toBe(accepted.copies[0].orderId);
    expect(await reads(b.gateway.metrics)).toBe(1);
    expect(await taken(b.gateway.metrics)).toBe(1);
    const db = p.platform.database.db;
    const order = await db
      .selectFrom('copy_orders')
      .select(['status', 'delivered_at'])
      .where('order_id', '=', accepted.copies[0].orderId)
      .executeTakeFirstOrThrow();
    expect(order.status).toBe('delivered');
    expect(order.delivered_at).not.toBeNull();

    // A stream on B: three signals on A, each pushed in order from memory, after one read.
    follower.cursor = body.nextCursor;
    const before = await reads(b.gateway.metrics);
    const s = await stream(b, follower);
    await eventually(async () => b.gateway.handoff.size === 1);
    const orderIds: string[] = [];
    for (const id of ['x2', 'x3', 'x4']) {
      orderIds.push((await master.signal(opened(id))).copies[0].orderId);
      await eventually(async () => s.events().length === orderIds.length);
    }
    expect(s.events().map((e) => e.sequence)).toEqual([1, 2, 3].map((k) => follower.cursor + k));
    expect(s.events().map((e) => e.payload.orderId)).toEqual(orderIds);
    expect(await reads(b.gateway.metrics)).toBe(before + 1);
    expect(await taken(b.gateway.metrics)).toBe(4);
    for (const e of s.events())
      s.ws.send(JSON.stringify({ type: 'ack', eventId: e.eventId, sequence: e.sequence }));
    await eventually(async () => s.messages.filter((m) => m['type'] === 'ack_result').length === 3);
    expect(s.messages.filter((m) => m['type'] === 'ack_result').map((m) => m['result'])).toEqual([
      'acked',
      'acked',
      'acked',
    ]);
    s.ws.terminate();
  });

  /**
   * A and B on separate wake-up subjects, the test relaying A's messages to B: plain wake-ups
   * at once (unless `holdHints.on`), the ones carrying rows when and as often as the test says.
   */
  async function relayed() {
    const nsA = namespace();
    const nsB = namespace();
    const p = await startTestPlatform('postgres', { KOPITRA_BUS_URL: NATS_URL, KOPITRA_BUS_NAMESPACE: nsA });
    if (!p) return null;
    tp = p;
    const ticker = new ManualTicker();
    replica = await startPlatform(
      { ...p.config, bus: resolveBus(NATS_URL, nsB) },
      {
        clock: p.clock,
        databaseTarget: p.target,
        listen: false,
        sweeper: false,
        serve: { gateway: true, management: false },
        ticker: ticker.ticker,
        logger: silent,
      },
    );
    const nc = await connect({ servers: [NATS_URL.replace(/^nats:\/\//, '')] });
    relay = nc;
    const carried: Msg[] = [];
    const holdHints = { on: false };
    nc.subscribe(`${nsA}.wake`, {
      callback: (err, msg) => {
        if (err) return;
        if ('e' in (msg.json() as object)) carried.push(msg);
        else if (!holdHints.on) nc.publish(`${nsB}.wake`, msg.data);
      },
    });
    await nc.flush();
    const pass = async (msg: Msg) => {
      nc.publish(`${nsB}.wake`, msg.data);
      await nc.flush();
    };
    return { p, b: replica, ticker, carried, pass, holdHints };
  }

  it('delivers exactly once and in order when wake-ups are repeated, overtaken or lost', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    const r = await relayed();
    if (!r) return t.skip();
    const { p, b, ticker, carried, pass } = r;
    const { master, follower } = await setup(p);
    const s = await stream(b, follower);
    await eventually(async () => b.gateway.handoff.size === 1);
    let expectedReads = await reads(b.gateway.metrics);
    const orderIds: string[] = [];
    const signal = async (id: string) => {
      orderIds.push((await master.signal(opened(id))).copies[0].orderId);
      await eventually(async () => carried.length === orderIds.length);
    };

    // Passed on: taken from memory.
    await signal('r1');
    await pass(carried[0]!);
    await eventually(async () => s.events().length === 1);
    expect(await reads(b.gateway.metrics)).toBe(expectedReads);

    // Repeated: not the next sequence, so the stream reads instead, and finds nothing new.
    await pass(carried[0]!);
    await eventually(async () => (await reads(b.gateway.metrics)) === expectedReads + 1);
    expectedReads++;

    // Overtaken: the third event arrives first, so the stream reads both; the second, late, reads nothing.
    await signal('r2');
    await signal('r3');
    await pass(carried[2]!);
    await eventually(async () => s.events().length === 3);
    await pass(carried[1]!);
    await eventually(async () => (await reads(b.gateway.metrics)) === expectedReads + 2);
    expectedReads += 2;

    // Lost: r4's wake-up is never passed on, and nothing else reaches B (a stale message would
    // make the stream read, which finds r4 at once): only B's periodic re-check finds the
    // outbox ahead of the stream.
    await signal('r4');
    expect(s.events()).toHaveLength(3);
    ticker.tick();
    await eventually(async () => s.events().length === 4);
    expect((await b.gateway.metrics!.outboxRecheckWakeups.get()).values[0]!.value).toBe(1);
    // Nothing behind any more: the next re-check wakes nobody.
    ticker.tick();

    expect(s.events().map((e) => e.sequence)).toEqual([1, 2, 3, 4].map((k) => follower.cursor + k));
    expect(s.events().map((e) => e.payload.orderId)).toEqual(orderIds);
    expect(await taken(b.gateway.metrics)).toBe(1);
    await eventually(
      async () => (await b.gateway.metrics!.outboxRecheckWakeups.get()).values[0]!.value === 1,
    );
    const orders = await p.platform.database.db
      .selectFrom('copy_orders')
      .select('status')
      .where('order_id', 'in', orderIds)
      .execute();
    expect(orders.map((o) => o.status)).toEqual(Array(4).fill('delivered'));
    s.ws.terminate();
  });

  it('answers a long poll stranded by a lost wake-up at the next re-check', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    const r = await relayed();
    if (!r) return t.skip();
    const { p, b, ticker, carried } = r;
    const { master, follower } = await setup(p);
    const poll = b.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${follower.cursor}&wait=30`,
      headers: follower.headers(false),
    });
    await eventually(async () => b.gateway.handoff.size === 1);
    // Nothing parked is behind yet: a re-check wakes nobody.
    ticker.tick();
    const accepted = await master.signal(opened('p1'));
    await eventually(async () => carried.length === 1);
    ticker.tick();
    const res = await poll;
    expect(res.statusCode).toBe(200);
    expect(res.json().events.map((e: { payload: { orderId: string } }) => e.payload.orderId)).toEqual([
      accepted.copies[0].orderId,
    ]);
    expect((await b.gateway.metrics!.outboxRecheckWakeups.get()).values[0]!.value).toBe(1);
  });

  it('does not hand carried rows to a reader whose session ended before they arrived', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    const r = await relayed();
    if (!r) return t.skip();
    const { p, b, carried, pass, holdHints } = r;
    const { master, follower } = await setup(p);
    const s = await stream(b, follower);
    let closedWith: number | undefined;
    s.ws.on('close', (code) => (closedWith = code));
    await eventually(async () => b.gateway.handoff.size === 1);
    // The session ends on A, and B does not hear of it before the next fan-out's rows.
    holdHints.on = true;
    const released = await p.platform.app.inject({
      method: 'DELETE',
      url: `${BASE}/sessions/current`,
      headers: follower.headers(),
    });
    expect(released.statusCode).toBeLessThan(300);
    const accepted = await master.signal(opened('e1'));
    await eventually(async () => carried.length === 1);
    await pass(carried[0]!);
    await eventually(async () => closedWith !== undefined);
    expect(closedWith).toBe(4001);
    expect(s.events().filter((e) => e.type === 'trade.started')).toEqual([]);
    expect(await taken(b.gateway.metrics)).toBe(0);
    const order = await p.platform.database.db
      .selectFrom('copy_orders')
      .select(['status', 'delivered_at'])
      .where('order_id', '=', accepted.copies[0].orderId)
      .executeTakeFirstOrThrow();
    expect(order).toEqual({ status: 'queued', delivered_at: null });
  });
});
