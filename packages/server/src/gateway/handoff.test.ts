/**
 * A fan-out hands its committed events to the long polls and streams parked in this
 * process; they answer exactly what a read of the outbox would have returned (order,
 * delivery marks, acknowledgements), and anything they cannot take is read from the outbox.
 * The periodic re-check wakes a parked reader the outbox has moved past with no wake-up.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { enqueueOutbox, type OutboxRow } from '../store/outbox.js';
import { recheckParked } from '../services/outbox.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { BASE, eventually, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

const opened = (masterPositionId: string) => ({
  type: 'position.opened',
  masterPositionId,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.1,
  price: 1.1,
});

describe.each(dialects)('in-process outbox hand-off on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  /** A master with `n` followers, each with a catalog and its init ack read and acknowledged. */
  async function setup(p: TestPlatform, n: number, groups = 1) {
    const master = await new SimMaster(p.platform, 'HM').connect();
    const followers: SimFollower[] = [];
    for (let i = 0; i < n; i++) {
      const f = await new SimFollower(p.platform, `HF${i}`).connect();
      await f.catalog([spec('EURUSD')]);
      await f.drain();
      followers.push(f);
    }
    const db = p.platform.database.db;
    for (let g = 0; g < groups; g++) {
      const { group_id } = await insertGroup(
        db,
        { name: `g${g}`, masterAccountId: master.accountId },
        p.clock.now(),
      );
      for (const f of followers)
        await putSubscription(
          db,
          { groupId: group_id, followerAccountId: f.accountId, settings: { sizing: { mode: 'mirror' } } },
          p.clock.now(),
        );
    }
    return { master, followers };
  }

  /** Records which accounts' rows the hand-off gave to a parked reader (the behaviour is unchanged). */
  function recordHandoffs(p: TestPlatform) {
    const handoff = p.platform.gateway!.handoff;
    const taken: Array<{ accountId: string; sequences: number[] }> = [];
    const claim = handoff.claim.bind(handoff);
    handoff.claim = (accountId: string, sessionId: string, rows: readonly OutboxRow[]) => {
      const result = claim(accountId, sessionId, rows);
      if (result.readers.length) taken.push({ accountId, sequences: rows.map((r) => Number(r.sequence)) });
      return result;
    };
    return taken;
  }

  const longPoll = (p: TestPlatform, f: SimFollower, cursor = f.cursor) =>
    p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${cursor}&wait=10`,
      headers: f.headers(false),
    });

  const parkedCount = (p: TestPlatform, n: number) =>
    eventually(async () => p.platform.gateway!.handoff.size >= n);

  it('answers parked long polls from memory with exactly the events a read returns, marked delivered', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, followers } = await setup(p, 3, 2);
    const taken = recordHandoffs(p);
    const polls = followers.map((f) => longPoll(p, f));
    await parkedCount(p, followers.length);

    const accepted = await master.signal(opened('7001'));
    expect(accepted.copies).toHaveLength(6);
    const answers = await Promise.all(polls);
    for (const [i, res] of answers.entries()) {
      expect(res.statusCode).toBe(200);
      const body = res.json();
      // Two groups: two copies, in sequence, each the order the 202 named.
      expect(body.events.map((e: { sequence: number }) => e.sequence)).toEqual([
        followers[i]!.cursor + 1,
        followers[i]!.cursor + 2,
      ]);
      expect(body.events.map((e: { type: string }) => e.type)).toEqual(['trade.started', 'trade.started']);
      const mine = accepted.copies.filter(
        (c: { followerAccountId: string }) => c.followerAccountId === followers[i]!.accountId,
      );
      expect(body.events.map((e: { payload: { orderId: string } }) => e.payload.orderId).sort()).toEqual(
        mine.map((c: { orderId: string }) => c.orderId).sort(),
      );
      expect(body.nextCursor).toBe(followers[i]!.cursor + 2);
    }
    expect(taken.map((x) => x.accountId).sort()).toEqual(followers.map((f) => f.accountId).sort());

    const db = p.platform.database.db;
    const orders = await db
      .selectFrom('copy_orders')
      .select(['status', 'delivered_at'])
      .where('master_account_id', '=', master.accountId)
      .execute();
    expect(orders.map((o) => o.status)).toEqual(Array(6).fill('delivered'));
    const events = await db
      .selectFrom('outbox_events')
      .select(['delivered_at', 'acked_at'])
      .where('type', '=', 'trade.started')
      .execute();
    expect(events.every((e) => e.delivered_at !== null && e.acked_at === null)).toBe(true);

    // Not acknowledged: a fresh read returns them again, as for any delivered event.
    const again = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${followers[0]!.cursor}`,
      headers: followers[0]!.headers(false),
    });
    expect(again.json().events).toHaveLength(2);
  });

  it('reads the outbox instead when the events do not continue from the poll cursor', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, followers } = await setup(p, 1);
    const f = followers[0]!;
    // A copy delivered and acknowledged but the cursor left behind it: the next event is not
    // cursor + 1, so the poll must read (and skip the acknowledged one).
    await master.signal(opened('7101'));
    const first = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${f.cursor}`,
      headers: f.headers(false),
    });
    const [event] = first.json().events as Array<{ eventId: string; sequence: number }>;
    await f.inbox([{ eventType: 'OutboxAck', eventId: event!.eventId, sequence: event!.sequence }]);
    const taken = recordHandoffs(p);
    const poll = longPoll(p, f, f.cursor);
    await parkedCount(p, 1);
    const accepted = await master.signal(opened('7102'));
    const res = await poll;
    expect(res.statusCode).toBe(200);
    expect(res.json().events.map((e: { sequence: number }) => e.sequence)).toEqual([event!.sequence + 1]);
    expect(res.json().events[0].payload.orderId).toBe(accepted.copies[0].orderId);
    expect(taken).toEqual([]);
  });

  it('pushes handed-off events on the stream in order, once, and takes acknowledgements', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, followers } = await setup(p, 2);
    const taken = recordHandoffs(p);
    const sockets: Array<{ ws: WebSocket; messages: Array<Record<string, any>> }> = [];
    for (const f of followers) {
      const messages: Array<Record<string, any>> = [];
      const ws = await p.platform.app.injectWS(
        `${BASE}/sessions/current/stream?cursor=${f.cursor}`,
        { headers: f.headers(false) },
        {
          onInit: (socket) =>
            socket.on('message', (d) => messages.push(JSON.parse(String(d)) as Record<string, any>)),
        },
      );
      sockets.push({ ws, messages });
    }
    await parkedCount(p, 2);
    const signals = [opened('7201'), { ...opened('7201'), type: 'position.closed' }, opened('7202')];
    const orderIds: string[][] = [];
    for (const s of signals) {
      const accepted = await master.signal(s);
      orderIds.push(accepted.copies.map((c: { orderId: string }) => c.orderId));
      // Each socket takes each event before the next signal (a claimed socket refuses the next).
      await eventually(async () =>
        sockets.every((x) => x.messages.filter((m) => m['type'] === 'event').length === orderIds.length),
      );
    }
    for (const [i, { ws, messages }] of sockets.entries()) {
      const events = messages.filter((m) => m['type'] === 'event').map((m) => m['event']);
      expect(events.map((e) => e.sequence)).toEqual([1, 2, 3].map((k) => followers[i]!.cursor + k));
      expect(events.map((e) => e.type)).toEqual(['trade.started', 'trade.closed', 'trade.started']);
      expect(events.map((e) => e.payload.orderId)).toEqual(orderIds.map((ids) => ids[i]));
      for (const e of events)
        ws.send(JSON.stringify({ type: 'ack', eventId: e.eventId, sequence: e.sequence }));
      await eventually(async () => messages.filter((m) => m['type'] === 'ack_result').length === 3);
      expect(messages.filter((m) => m['type'] === 'ack_result').map((m) => m['result'])).toEqual([
        'acked',
        'acked',
        'acked',
      ]);
      ws.terminate();
    }
    expect(taken.length).toBe(6);
    const unacked = await p.platform.database.db
      .selectFrom('outbox_events')
      .select('event_id')
      .where(
        'account_id',
        'in',
        followers.map((f) => f.accountId),
      )
      .where('acked_at', 'is', null)
      .execute();
    expect(unacked).toEqual([]);
  });

  it('re-checks parked readers against the outbox: wakes the one behind, not the one up to date', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { followers } = await setup(p, 2);
    const [behind, upToDate] = followers as [SimFollower, SimFollower];
    const polls = followers.map((f) => longPoll(p, f));
    await parkedCount(p, 2);
    const gateway = p.platform.gateway!;
    expect(await recheckParked(gateway)).toBe(0);
    // Queued with no wake-up at all, as if it had been lost; the other follower's new event is
    // addressed to another of its sessions, so its reader has nothing to read.
    const db = p.platform.database.db;
    const lost = await enqueueOutbox(
      db,
      { accountId: behind.accountId, type: 'trade.started', payload: { orderId: 'ord_lost' } },
      p.clock.now(),
    );
    await enqueueOutbox(
      db,
      {
        accountId: upToDate.accountId,
        type: 'session.shutdown',
        payload: { reason: 'test' },
        targetSessionId: 'ses_elsewhere',
      },
      p.clock.now(),
    );
    expect(await recheckParked(gateway)).toBe(1);
    const res = await polls[0]!;
    expect(res.json().events.map((e: { eventId: string }) => e.eventId)).toEqual([lost.event_id]);
    expect(gateway.handoff.size).toBe(1);
    expect(await recheckParked(gateway)).toBe(0);
  });
});
