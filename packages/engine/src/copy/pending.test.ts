import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eurusd, followerContext, openSignal, orderContext, orderSignal, T0 } from './fixtures.js';
import { planOpen } from './plan.js';
import {
  planOrder,
  reverseOrder,
  type LinkedOrder,
  type MasterOrderSignal,
  type OrderShape,
  type PendingOrderType,
} from './pending.js';
import { reconcileOrders, type ExpectedOrder, type ReportedOrder } from './pending-reconcile.js';
import { positionTag as groupTag } from '@kopitra/contracts';

/** The tag of group g1, the group these tests reconcile. */
const positionTag = (id: string) => groupTag('g1', id);
import { withDefaults, type SubscriptionInput } from './subscription.js';

const linked: LinkedOrder = {
  ticket: '77',
  symbol: 'EURUSD.m',
  side: 'buy',
  orderType: 'limit',
  volume: 0.5,
};

describe('placing a copy of the master’s pending order', () => {
  it('places the follower’s own order, sized and mapped, with the master’s expiry and the order tag', () => {
    const d = planOrder(
      orderSignal(),
      orderContext({ sizing: { mode: 'multiplier', multiplier: 0.5 }, symbolMap: { EURUSD: 'EURUSD.m' } }),
    );
    expect(d).toMatchObject({
      action: 'place_order',
      masterOrderId: '2001',
      symbol: 'EURUSD.m',
      side: 'buy',
      orderType: 'limit',
      volume: 0.5,
      price: 1.095,
      stopLimitPrice: null,
      sl: 1.09,
      tp: 1.105,
      orderExpiresAt: T0 + 3_600_000,
      expiresAt: T0 - 500 + 60_000,
      comment: positionTag('2001'),
    });
  });

  it('reversed: a buy limit becomes a sell stop at the same price, SL and TP swapped', () => {
    const d = planOrder(orderSignal(), orderContext({ reverse: true }));
    expect(d).toMatchObject({
      action: 'place_order',
      side: 'sell',
      orderType: 'stop',
      price: 1.095,
      sl: 1.105,
      tp: 1.09,
    });
    const stop = planOrder(orderSignal({ orderType: 'stop', price: 1.105 }), orderContext({ reverse: true }));
    expect(stop).toMatchObject({ side: 'sell', orderType: 'limit', price: 1.105 });
  });

  it('filters, risk halts and the signal age apply as to opens', () => {
    const reason = (d: ReturnType<typeof planOrder>) => (d.action === 'skip' ? d.reason : d.action);
    expect(reason(planOrder(orderSignal(), orderContext({ allowedSides: ['sell'] })))).toBe(
      'side_not_allowed',
    );
    expect(reason(planOrder(orderSignal({ occurredAt: T0 - 61_000 }), orderContext()))).toBe(
      'signal_too_old',
    );
    expect(reason(planOrder(orderSignal(), orderContext({ mode: 'close_only' })))).toBe('mode_close_only');
    expect(reason(planOrder(orderSignal({ volume: 2 }), orderContext({ masterVolume: { max: 1 } })))).toBe(
      'master_volume_above_maximum',
    );
    // A pending order counts as the position it may become.
    expect(
      reason(planOrder(orderSignal(), orderContext({ maxOpenPositions: 1 }, { openPositions: 1 }))),
    ).toBe('max_open_positions');
  });

  it("the follower's symbol and its trade mode are checked as for opens, with the same words", () => {
    const asOpen = (signal: MasterOrderSignal, settings: SubscriptionInput = {}) =>
      planOpen(
        openSignal({ symbol: signal.symbol, side: signal.side, volume: signal.volume }),
        followerContext(settings),
      );
    const unlisted = orderSignal({ symbol: 'GBPUSD' });
    expect(planOrder(unlisted, orderContext())).toEqual({
      action: 'skip',
      reason: 'symbol_unknown',
      detail: 'GBPUSD is not listed by the follower and has no symbol map entry',
    });
    expect(planOrder(unlisted, orderContext())).toEqual(asOpen(unlisted));
    const mapped = { symbolMap: { EURUSD: 'EURUSD.pro' } };
    expect(planOrder(orderSignal(), orderContext(mapped))).toEqual(asOpen(orderSignal(), mapped));
    const shortOnly = { symbols: new Map([['EURUSD', { ...eurusd, tradeMode: 'short_only' as const }]]) };
    expect(planOrder(orderSignal(), orderContext({}, shortOnly))).toEqual({
      action: 'skip',
      reason: 'symbol_trade_disabled',
      detail: 'EURUSD trade mode short_only, side buy',
    });
  });

  it('MT4 has no stop-limit orders; MT5 places them with the limit price', () => {
    const sl = orderSignal({ orderType: 'stop_limit', price: 1.105, stopLimitPrice: 1.104 });
    expect(planOrder(sl, orderContext({}, { platform: 'MT4' }))).toMatchObject({
      reason: 'order_type_unsupported',
    });
    expect(planOrder(sl, orderContext({}, { platform: 'MT5' }))).toMatchObject({
      action: 'place_order',
      orderType: 'stop_limit',
      stopLimitPrice: 1.104,
    });
  });

  it('a repeated placement is not copied twice', () => {
    expect(planOrder(orderSignal(), orderContext({}, { order: linked }))).toMatchObject({
      reason: 'already_copied',
    });
  });
});

describe('follow-ups of a copied order', () => {
  it('a modification moves the follower’s order, keeping its symbol, side, type and volume', () => {
    const d = planOrder(
      orderSignal({ type: 'order.modified', price: 1.094, sl: 1.089, tp: null, expiresAt: null }),
      orderContext({}, { order: linked }),
    );
    expect(d).toEqual({
      action: 'modify_order',
      masterOrderId: '2001',
      ticket: '77',
      symbol: 'EURUSD.m',
      side: 'buy',
      orderType: 'limit',
      volume: 0.5,
      price: 1.094,
      stopLimitPrice: null,
      sl: 1.089,
      tp: null,
      orderExpiresAt: null,
      comment: positionTag('2001'),
    });
  });

  it('a reversed copy stays reversed on modification, whatever today’s setting', () => {
    const d = planOrder(
      orderSignal({ type: 'order.modified', price: 1.094 }),
      orderContext({ reverse: false }, { order: { ...linked, side: 'sell', orderType: 'stop' } }),
    );
    expect(d).toMatchObject({ side: 'sell', orderType: 'stop', price: 1.094, sl: 1.105, tp: 1.09 });
  });

  it('cancelled on the master: deleted on the follower, or withdrawn when undelivered', () => {
    const cancel = orderSignal({ type: 'order.cancelled' });
    expect(planOrder(cancel, orderContext({}, { order: linked }))).toMatchObject({
      action: 'cancel_order',
      ticket: '77',
      symbol: 'EURUSD.m',
    });
    expect(
      planOrder(cancel, orderContext({}, { order: { ...linked, ticket: null, undelivered: true } })),
    ).toMatchObject({
      action: 'skip',
      reason: 'master_order_cancelled',
    });
  });

  it("cancelled on the master after the follower's copy filled: the position it became is closed", () => {
    const cancel = orderSignal({ type: 'order.cancelled' });
    const filled = { ...linked, filled: true };
    const position = { ticket: '91', openVolume: 0.4, symbol: 'EURUSD.m', side: 'buy' as const };
    expect(planOrder(cancel, orderContext({}, { order: filled, link: position }))).toMatchObject({
      action: 'close',
      masterPositionId: cancel.masterOrderId,
      ticket: '91',
      symbol: 'EURUSD.m',
      side: 'buy',
      volume: 0.4,
      reason: 'order_fill_unmatched',
    });
    // Closed by hand (detached) or not linked: nothing to close, nothing to delete.
    expect(
      planOrder(cancel, orderContext({}, { order: filled, link: { ...position, detached: true } })),
    ).toMatchObject({ action: 'skip', reason: 'order_already_filled' });
    expect(planOrder(cancel, orderContext({}, { order: filled }))).toMatchObject({
      action: 'skip',
      reason: 'order_already_filled',
    });
  });

  it('filled on the master: market_on_fill opens the position like any open', () => {
    const fill = orderSignal({ type: 'order.filled', masterPositionId: '2001', price: 1.0951 });
    expect(planOrder(fill, orderContext({ pendingOrders: 'market_on_fill' }))).toMatchObject({
      action: 'open',
      masterPositionId: '2001',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      masterPrice: 1.0951,
      comment: positionTag('2001'),
    });
  });

  it('filled on the master, not on the follower: left pending, or replaced by a market open within the slippage', () => {
    const fill = orderSignal({ type: 'order.filled', masterPositionId: '2001', price: 1.0951 });
    expect(planOrder(fill, orderContext({}, { order: linked }))).toMatchObject({
      reason: 'order_left_pending',
    });
    const market = orderContext({ pendingOnMasterFill: 'market', maxSlippagePoints: 20 }, { order: linked });
    expect(planOrder(fill, market)).toMatchObject({
      action: 'open',
      masterPositionId: '2001',
      symbol: 'EURUSD.m',
      volume: 0.5,
      replacesOrder: { masterOrderId: '2001', ticket: '77' },
      reason: 'order_filled_at_market',
      maxSlippagePoints: 20,
    });
    const far = { ...market, quote: { bid: 1.098, ask: 1.0981 } };
    expect(planOrder(fill, far)).toMatchObject({ reason: 'slippage_exceeded' });
    expect(planOrder(fill, orderContext({}, { order: { ...linked, filled: true } }))).toMatchObject({
      reason: 'order_already_filled',
    });
  });
});

const priceArb = fc.integer({ min: 50_000, max: 200_000 }).map((n) => n / 100_000);
const levelArb = fc.option(priceArb, { nil: null });
const shapeArb: fc.Arbitrary<OrderShape> = fc.record({
  side: fc.constantFrom('buy' as const, 'sell' as const),
  orderType: fc.constantFrom<PendingOrderType>('limit', 'stop'),
  price: priceArb,
  stopLimitPrice: fc.constant(null),
  sl: levelArb,
  tp: levelArb,
});

describe('properties', () => {
  it('reversing twice gives the order back; once keeps the prices and swaps SL and TP', () => {
    fc.assert(
      fc.property(shapeArb, (o) => {
        const r = reverseOrder(o)!;
        expect(reverseOrder(r)).toEqual(o);
        expect(r.price).toBe(o.price);
        expect(r.side).not.toBe(o.side);
        expect(r.orderType).not.toBe(o.orderType);
        expect([r.sl, r.tp]).toEqual([o.tp, o.sl]);
      }),
    );
  });

  it('a reversed order waits on the same side of the market as the master’s', () => {
    // A buy limit and a sell stop both lie below the market; a buy stop and a sell limit above.
    const below = (o: OrderShape) => (o.side === 'buy') === (o.orderType === 'limit');
    fc.assert(
      fc.property(shapeArb, (o) => {
        expect(below(reverseOrder(o)!)).toBe(below(o));
      }),
    );
  });

  it('placements carry a volume on the symbol’s step within its bounds, and the master’s prices', () => {
    fc.assert(
      fc.property(
        shapeArb,
        fc.integer({ min: 1, max: 100_000 }).map((n) => n / 1000),
        fc.boolean(),
        fc.double({ min: 0.01, max: 10, noNaN: true }),
        (shape, volume, reverse, multiplier) => {
          const signal: MasterOrderSignal = { ...orderSignal(), ...shape, volume };
          const d = planOrder(signal, orderContext({ reverse, sizing: { mode: 'multiplier', multiplier } }));
          if (d.action === 'skip') {
            expect(['volume_below_minimum']).toContain(d.reason);
            return;
          }
          expect(d.action).toBe('place_order');
          if (d.action !== 'place_order') return;
          expect(d.volume).toBeGreaterThanOrEqual(eurusd.volumeMin);
          expect(d.volume).toBeLessThanOrEqual(eurusd.volumeMax);
          expect(
            Math.abs(d.volume / eurusd.volumeStep - Math.round(d.volume / eurusd.volumeStep)),
          ).toBeLessThan(1e-9);
          expect(d.price).toBe(shape.price);
          expect(d.side === shape.side).toBe(!reverse);
          expect(d.sl).toBe(reverse ? shape.tp : shape.sl);
        },
      ),
    );
  });
});

describe('reconciling pending orders', () => {
  const expected: ExpectedOrder = {
    masterOrderId: '2001',
    symbol: 'EURUSD',
    side: 'buy',
    orderType: 'limit',
    volume: 0.5,
    price: 1.095,
    ticket: '77',
    signalAt: T0 - 10_000,
    expiresAt: null,
  };
  const reported: ReportedOrder = {
    ticket: '77',
    symbol: 'EURUSD',
    side: 'buy',
    orderType: 'limit',
    volume: 0.5,
    price: 1.095,
    comment: positionTag('2001'),
  };
  const run = (over: Partial<Parameters<typeof reconcileOrders>[0]>) =>
    reconcileOrders({
      groupId: 'g1',
      expected: [],
      reported: [],
      positions: [],
      settings: withDefaults(),
      snapshotAt: T0,
      now: T0,
      ...over,
    });

  it('a book that matches needs nothing; a tagged order found by tag gets its ticket', () => {
    expect(run({ expected: [expected], reported: [reported] })).toEqual([]);
    expect(run({ expected: [{ ...expected, ticket: null }], reported: [reported] })).toEqual([
      { kind: 'link_order_ticket', masterOrderId: '2001', ticket: '77' },
    ]);
  });

  it('orphans are cancelled (alerted when frozen); the follower’s own orders are left alone', () => {
    const orphan = { ...reported, ticket: '80', comment: positionTag('9999') };
    const own = { ...reported, ticket: '81', comment: 'manual' };
    expect(run({ reported: [orphan, own] })).toMatchObject([{ kind: 'cancel_orphan_order', ticket: '80' }]);
    expect(run({ reported: [orphan], settings: withDefaults({ mode: 'frozen' }) })).toMatchObject([
      { kind: 'order_alert', reason: 'orphan_order' },
    ]);
  });

  it('a missing order that filled, expired, is young or is old', () => {
    const position = { ticket: '501', comment: positionTag('2001') };
    expect(run({ expected: [expected], positions: [position] })).toEqual([
      { kind: 'order_filled', masterOrderId: '2001', ticket: '501' },
    ]);
    expect(run({ expected: [{ ...expected, expiresAt: T0 - 1 }] })).toEqual([
      { kind: 'order_expired', masterOrderId: '2001' },
    ]);
    expect(run({ expected: [expected] })).toMatchObject([{ kind: 'replace_order', masterOrderId: '2001' }]);
    expect(run({ expected: [{ ...expected, signalAt: T0 - 61_000 }] })).toMatchObject([
      { kind: 'order_alert', reason: 'order_missing' },
    ]);
    expect(run({ expected: [expected], settings: withDefaults({ mode: 'close_only' }) })).toMatchObject([
      { kind: 'order_alert', reason: 'order_missing' },
    ]);
  });

  it('an order in flight or linked after the snapshot is not judged', () => {
    expect(run({ expected: [{ ...expected, changing: true }] })).toEqual([]);
    expect(run({ expected: [{ ...expected, linkedAt: T0 + 1 }] })).toEqual([]);
  });
});
