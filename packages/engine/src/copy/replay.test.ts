import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eurusd, followerContext, T0 } from './fixtures.js';
import { planCopy, type SignalType } from './plan.js';
import { equityCurve, replayOrders, type RecordedSignal, type ReplayContext } from './replay.js';
import type { SubscriptionInput } from './subscription.js';

const contextOf = (settings: SubscriptionInput): ReplayContext => {
  const {
    link: _l,
    openPositions: _p,
    openLots: _o,
    recentOpenTimes: _r,
    now: _n,
    activeStopOut: _a,
    quote: _q,
    masterSymbol: _m,
    ...rest
  } = followerContext(settings);
  return { ...rest, masterSymbols: new Map([['EURUSD', eurusd]]) };
};

const signal = (
  i: number,
  type: SignalType,
  masterPositionId: string,
  volume: number,
  price: number,
  extra: Partial<RecordedSignal> = {},
): RecordedSignal => ({
  signalId: `s${i}`,
  type,
  masterPositionId,
  symbol: 'EURUSD',
  side: 'buy',
  volume,
  price,
  sl: null,
  tp: null,
  occurredAt: T0 + i * 1000,
  receivedAt: T0 + i * 1000 + 50,
  ...extra,
});

/** A random master history: opens of new positions, and closes of positions it holds. */
const history = fc
  .array(fc.record({ open: fc.boolean(), lots: fc.integer({ min: 1, max: 300 }), pick: fc.nat() }), {
    maxLength: 40,
  })
  .map((steps) => {
    const held: string[] = [];
    const out: RecordedSignal[] = [];
    steps.forEach((s, i) => {
      if (s.open || held.length === 0) {
        held.push(`p${i}`);
        out.push(signal(i, 'position.opened', `p${i}`, s.lots / 100, 1.1 + i / 10_000));
      } else {
        const [id] = held.splice(s.pick % held.length, 1);
        out.push(signal(i, 'position.closed', id!, 0.01, 1.1 + i / 10_000));
      }
    });
    return out;
  });

describe('what-if replay', () => {
  it('decides each signal as planCopy does with the book the earlier decisions left', () => {
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 5 }), (signals, maxOpenPositions) => {
        const ctx = contextOf({ sizing: { mode: 'multiplier', multiplier: 2 }, maxOpenPositions });
        const orders = replayOrders(signals, ctx);
        expect(orders).toHaveLength(signals.length);
        // Walk the same history by hand: the book is the opens not yet closed.
        const book = new Map<string, number>();
        signals.forEach((s, i) => {
          const o = orders[i]!;
          const { masterSymbols: _m, ...rest } = ctx;
          const held = book.get(s.masterPositionId);
          const d = planCopy(s, {
            ...rest,
            masterSymbol: eurusd,
            link:
              held === undefined
                ? null
                : { ticket: null, openVolume: held, symbol: 'EURUSD', side: 'buy', masterVolume: s.volume },
            openPositions: book.size,
            openLots: [...book.values()].reduce((a, b) => a + b, 0),
            recentOpenTimes: [],
            activeStopOut: null,
            now: s.receivedAt,
          });
          expect(o.action).toBe(d.action);
          if (d.action === 'open') book.set(s.masterPositionId, d.volume);
          if (d.action === 'close') book.delete(s.masterPositionId);
          if (d.action === 'skip') expect(o.reason).toBe(d.reason);
          expect(book.size).toBeLessThanOrEqual(maxOpenPositions);
        });
      }),
    );
  });

  it('values open positions at the latest recorded price and books realised profit on closes', () => {
    const signals = [
      signal(0, 'position.opened', 'a', 1, 1.1),
      signal(1, 'position.opened', 'b', 0.5, 1.1005, { side: 'sell' }),
      signal(2, 'position.partially_closed', 'a', 0.4, 1.101, { remainingVolume: 0.6 }),
      signal(3, 'position.closed', 'b', 0.5, 1.1),
    ];
    const orders = replayOrders(signals, contextOf({ sizing: { mode: 'mirror' } }));
    expect(orders.map((o) => [o.action, o.volume])).toEqual([
      ['open', 1],
      ['open', 0.5],
      ['partial_close', 0.4],
      ['close', 0.5],
    ]);
    const curve = equityCurve(signals, orders, new Map([['EURUSD', eurusd]]), 1_000);
    // One point of 0.00001 is worth 1 per lot (tick value 1, tick size 0.00001).
    expect(curve.map((c) => [c.equity, c.openPositions, c.openLots])).toEqual([
      [1_000, 1, 1],
      [1_000 + 50, 2, 1.5], // a: +50 points on 1 lot; b: just opened
      [1_000 + 100 - 25, 2, 1.1], // a: 40 realised + 60 floating; b: −25 at 1.101
      [1_000 + 40 + 25, 1, 0.6], // b closed at 1.1: +25 realised; a back at its entry price
    ]);
  });
});
