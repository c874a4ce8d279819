/**
 * Pending orders in the simulator without a gateway: the master's orders are placed on the
 * proper side of its market, move, are cancelled, expire and fill when its price walk reaches
 * them; a follower places its copies (or refuses them with the broker's code), moves and
 * deletes them by ticket or tag, and tells each fill its walk makes as `order_filled` of the
 * copy order that placed it.
 */
import { describe, expect, it } from 'vitest';
import { OrderSignalRequest, type OutboxEvent, type TradeOrderPayload } from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import { SimAccount } from './account.js';
import { SimBroker } from './broker.js';
import { positionTag as groupTag } from '@kopitra/contracts';
import { FollowerExecutor } from './executor.js';

const positionTag = (masterOrderId: string) => groupTag('g1', masterOrderId);
import { MasterScript } from './master-script.js';
import { crossed, RETCODE_INVALID_ORDER, RETCODE_INVALID_PRICE, RETCODE_INVALID_STOPS } from './orders.js';
import { PriceFeed } from './price-feed.js';
import { Prng } from './prng.js';
import { symbolCatalogue } from './symbols.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');

function manualClock(): Clock & { at: number } {
  const c = { at: T0, now: () => c.at, sleep: async () => undefined };
  return c;
}

describe('MasterScript with pending orders', () => {
  const run = (seed: string, steps: number) => {
    const prng = new Prng(seed);
    const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue());
    const account = new SimAccount({ balance: 100_000 });
    const s = new MasterScript(prng.fork('trades'), account, feed, {
      pendingRate: 0.5,
      orderLifetimeMs: [5_000, 30_000],
    });
    const steps_ = Array.from({ length: steps }, (_, i) => s.next(T0 + i * 1000).request);
    return { steps: steps_, account, feed };
  };

  it('places, moves, cancels, expires and fills orders it holds, each a valid order signal', () => {
    const { steps, account } = run('pending-book', 600);
    const live = new Map<string, OrderSignalRequest>();
    const seen = new Set<string>();
    let expired = 0;
    for (const req of steps) {
      if (!req.type.startsWith('order.')) continue;
      const o = OrderSignalRequest.parse(req);
      seen.add(o.type);
      const at = Date.parse(o.occurredAt);
      switch (o.type) {
        case 'order.placed':
          expect(live.has(o.masterOrderId)).toBe(false);
          live.set(o.masterOrderId, o);
          break;
        case 'order.modified':
          expect(live.has(o.masterOrderId)).toBe(true);
          live.set(o.masterOrderId, o);
          break;
        case 'order.cancelled': {
          const before = live.get(o.masterOrderId);
          expect(before).toBeDefined();
          if (before!.expiresAt && Date.parse(before!.expiresAt) <= at) expired++;
          live.delete(o.masterOrderId);
          break;
        }
        case 'order.filled': {
          const before = live.get(o.masterOrderId)!;
          expect(before).toBeDefined();
          // The position takes the order's ticket; a limit fills at its price or better.
          expect(o.masterPositionId).toBe(o.masterOrderId);
          expect(o.dealTicket).toBeDefined();
          if (before.orderType === 'limit')
            expect(o.side === 'buy' ? o.price <= before.price : o.price >= before.price).toBe(true);
          else expect(o.side === 'buy' ? o.price >= before.price : o.price <= before.price).toBe(true);
          live.delete(o.masterOrderId);
          break;
        }
      }
    }
    expect([...seen].sort()).toEqual(['order.cancelled', 'order.filled', 'order.modified', 'order.placed']);
    expect(expired).toBeGreaterThan(0);
    // The book holds exactly the orders still live.
    expect([...account.orders.keys()].sort()).toEqual([...live.keys()].sort());
  });

  it('places every order on its proper side of the market, never already reached', () => {
    const prng = new Prng('sides');
    const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue());
    const account = new SimAccount({ balance: 100_000 });
    const s = new MasterScript(prng.fork('trades'), account, feed, { pendingRate: 1, maxPendingOrders: 50 });
    for (let i = 0; i < 300; i++) {
      const req = s.next(T0 + i * 1000).request;
      if (req.type !== 'order.placed') continue;
      const o = OrderSignalRequest.parse(req);
      expect(
        crossed(
          o as { side: 'buy' | 'sell'; orderType: 'limit' | 'stop'; price: number },
          feed.quote(o.symbol),
        ),
      ).toBe(false);
    }
  });

  it('keeps a netting account to one position per symbol: orders go only where nothing is held or waiting', () => {
    const prng = new Prng('netting-orders');
    const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue());
    const account = new SimAccount({ balance: 100_000, netting: true });
    const s = new MasterScript(prng.fork('trades'), account, feed, {
      pendingRate: 0.4,
      addRate: 0.1,
      orderLifetimeMs: [5_000, 30_000],
    });
    let fills = 0;
    for (let i = 0; i < 500; i++) {
      const req = s.next(T0 + i * 1000).request;
      if (req.type === 'order.filled') fills++;
      const symbols = [...account.positions.values(), ...account.orders.values()].map((x) => x.symbol);
      expect(new Set(symbols).size, `step ${i}: ${req.type}`).toBe(symbols.length);
    }
    expect(fills).toBeGreaterThan(0);
  });

  it("leaves a seed's market trades as they were when pending orders are off", () => {
    const plain = (opts: { pendingRate?: number }) => {
      const prng = new Prng(9);
      const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue());
      const s = new MasterScript(prng.fork('trades'), new SimAccount({ balance: 100_000 }), feed, opts);
      return Array.from({ length: 100 }, (_, i) => s.next(T0 + i * 1000).request);
    };
    expect(plain({ pendingRate: 0 })).toEqual(plain({}));
    expect(plain({}).every((r) => r.type.startsWith('position.'))).toBe(true);
  });
});

function follower(opts: { stopsLevelPoints?: number } = {}) {
  const clock = manualClock();
  const prng = new Prng('follower');
  const feed = new PriceFeed(prng.fork('prices'), symbolCatalogue());
  const account = new SimAccount();
  const broker = new SimBroker(prng.fork('broker'), feed, clock, {});
  const executor = new FollowerExecutor(account, feed, broker, clock, opts);
  let seq = 0;
  const event = (
    type: 'trade.order_placed' | 'trade.order_modified' | 'trade.order_cancelled',
    payload: Partial<TradeOrderPayload>,
  ): OutboxEvent => ({
    eventId: `e${++seq}`,
    sequence: seq,
    type,
    occurredAt: new Date(clock.now()).toISOString(),
    payload: {
      orderId: `o${seq}`,
      masterOrderId: '5001',
      symbol: 'EURUSD',
      side: 'buy',
      orderType: 'limit',
      volume: 0.2,
      price: 1.08,
      sl: null,
      tp: null,
      comment: positionTag('5001'),
      ...payload,
    },
  });
  return { clock, feed, account, executor, event };
}

describe('FollowerExecutor with pending orders', () => {
  it('places a copy, moves and deletes it by its tag, and reports each', async () => {
    const f = follower();
    const ask = f.feed.quote('EURUSD').ask;
    const placement = f.event('trade.order_placed', { price: ask - 0.002 });
    const placed = await f.executor.execute(placement);
    expect(placed!.report).toMatchObject({ status: 'placed', price: ask - 0.002, volume: 0.2 });
    const ticket = placed!.report.ticket!;
    expect(f.account.orders.get(ticket)).toMatchObject({ side: 'buy', orderType: 'limit' });
    // Redelivered: the same report, not a second order.
    const again = await f.executor.execute(placement);
    expect(again!.replayed).toBe(true);
    expect(f.account.orders.size).toBe(1);

    const moved = await f.executor.execute(
      f.event('trade.order_modified', { ticket: null, price: ask - 0.003, sl: ask - 0.006 }),
    );
    expect(moved!.report).toMatchObject({ status: 'filled', ticket });
    expect(f.account.orders.get(ticket)).toMatchObject({ price: ask - 0.003, sl: ask - 0.006 });

    const gone = await f.executor.execute(f.event('trade.order_cancelled', { ticket }));
    expect(gone!.report).toMatchObject({ status: 'filled', ticket });
    expect(f.account.orders.size).toBe(0);
    const missing = await f.executor.execute(f.event('trade.order_cancelled', { ticket }));
    expect(missing!.report).toMatchObject({ status: 'failed', errorCode: RETCODE_INVALID_ORDER });
  });

  it('refuses an order on the wrong side of the market or inside the stops level, with the broker code', async () => {
    const f = follower({ stopsLevelPoints: 30 });
    const { ask, bid } = f.feed.quote('EURUSD');
    const wrongSide = await f.executor.execute(f.event('trade.order_placed', { price: ask + 0.001 }));
    expect(wrongSide!.report).toMatchObject({ status: 'rejected', errorCode: RETCODE_INVALID_PRICE });
    const tooNear = await f.executor.execute(
      f.event('trade.order_placed', { side: 'sell', orderType: 'stop', price: bid - 0.0002 }),
    );
    expect(tooNear!.report).toMatchObject({ status: 'rejected', errorCode: RETCODE_INVALID_STOPS });
    const farEnough = await f.executor.execute(
      f.event('trade.order_placed', { side: 'sell', orderType: 'stop', price: bid - 0.0004 }),
    );
    expect(farEnough!.report.status).toBe('placed');
    // Moving it inside the stops level is refused too, and leaves it where it was.
    const near = await f.executor.execute(
      f.event('trade.order_modified', { side: 'sell', orderType: 'stop', price: bid - 0.0001 }),
    );
    expect(near!.report).toMatchObject({ status: 'rejected', errorCode: RETCODE_INVALID_STOPS });
    expect([...f.account.orders.values()][0]!.price).toBe(bid - 0.0004);
  });

  it('fills an order when its price walk reaches it, with the order ticket, and names the placement', async () => {
    const f = follower();
    const { ask } = f.feed.quote('EURUSD');
    const placed = await f.executor.execute(f.event('trade.order_placed', { price: ask - 0.0005, sl: 1.0 }));
    const ticket = placed!.report.ticket!;
    expect(f.executor.fillReached()).toEqual([]);
    f.feed.anchor('EURUSD', ask - 0.001);
    const [fill, ...more] = f.executor.fillReached();
    expect(more).toEqual([]);
    expect(fill!.position).toMatchObject({
      ticket,
      side: 'buy',
      volume: 0.2,
      sl: 1.0,
      comment: positionTag('5001'),
    });
    expect(fill!.position.openPrice).toBeLessThanOrEqual(ask - 0.0005);
    expect(fill!.notice).toEqual({
      orderId: placed!.report.orderId,
      action: 'order_filled',
      ticket,
      symbol: 'EURUSD',
      volume: 0.2,
    });
    expect(f.account.orders.size).toBe(0);
    expect(f.account.positions.has(ticket)).toBe(true);
    // A placement arriving again once filled is not placed twice.
    const late = await f.executor.execute(f.event('trade.order_placed', { price: ask - 0.002 }));
    expect(late!.report).toMatchObject({ status: 'failed', errorCode: 'order_filled' });
  });

  it('deletes an order past its own expiry without filling it', async () => {
    const f = follower();
    const { ask } = f.feed.quote('EURUSD');
    await f.executor.execute(
      f.event('trade.order_placed', { price: ask - 0.0005, expiresAt: new Date(T0 + 60_000).toISOString() }),
    );
    f.clock.at = T0 + 60_000;
    f.feed.anchor('EURUSD', ask - 0.001);
    expect(f.executor.fillReached()).toEqual([]);
    expect(f.account.orders.size).toBe(0);
    expect(f.account.positions.size).toBe(0);
  });

  it('replaces its unfilled copy with a market open: the order is deleted first, the open made once', async () => {
    const f = follower();
    const { ask } = f.feed.quote('EURUSD');
    const placed = await f.executor.execute(f.event('trade.order_placed', { price: ask - 0.002 }));
    const open = await f.executor.execute({
      eventId: 'open',
      sequence: 99,
      type: 'trade.started',
      occurredAt: new Date(T0).toISOString(),
      payload: {
        orderId: 'open-1',
        masterAccountId: 'M',
        masterPositionId: '5001',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.2,
        sl: null,
        tp: null,
        masterPrice: ask,
        maxSlippage: null,
        expiresAt: new Date(T0 + 60_000).toISOString(),
        comment: positionTag('5001'),
        replacesOrder: { masterOrderId: '5001', ticket: placed!.report.ticket! },
      },
    });
    expect(open!.report.status).toBe('filled');
    expect(f.account.orders.size).toBe(0);
    expect(f.account.positions.size).toBe(1);
  });

  it('keeps pending orders across a restart through toJSON / fromJSON', async () => {
    const f = follower();
    const { ask } = f.feed.quote('EURUSD');
    await f.executor.execute(f.event('trade.order_placed', { price: ask - 0.002 }));
    const restored = SimAccount.fromJSON(JSON.parse(JSON.stringify(f.account.toJSON())));
    expect([...restored.orders.values()]).toEqual([...f.account.orders.values()]);
    expect(restored.snapshotOrders()).toEqual([
      expect.objectContaining({ side: 'buy', orderType: 'limit', volume: 0.2, comment: positionTag('5001') }),
    ]);
  });
});
