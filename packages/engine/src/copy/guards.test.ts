import { describe, expect, it } from 'vitest';
import {
  bookGuards,
  HOUR_MS,
  maxOpenPositionsGuard,
  maxTotalLotsGuard,
  modeGuard,
  preSizingGuards,
  riskHaltGuard,
  signalAgeGuard,
  slippageGuard,
  tradesPerHourGuard,
} from './guards.js';
import { T0 } from './fixtures.js';
import { withDefaults } from './subscription.js';

describe('open guards', () => {
  it('copy mode: frozen and close_only stop opens, active does not', () => {
    expect(modeGuard('frozen')?.reason).toBe('mode_frozen');
    expect(modeGuard('close_only')?.reason).toBe('mode_close_only');
    expect(modeGuard('active')).toBeNull();
  });

  it('an active stop-out halts opens', () => {
    expect(
      riskHaltGuard({ period: 'day', metric: 'equity_drawdown', action: 'halt_opens', at: T0 })?.reason,
    ).toBe('risk_limit_halted');
    expect(riskHaltGuard(null)).toBeNull();
  });

  it('signal age: older than the maximum is refused, exactly at it is not', () => {
    expect(signalAgeGuard(T0 - 60_000, T0, 60)).toBeNull();
    expect(signalAgeGuard(T0 - 60_001, T0, 60)?.reason).toBe('signal_too_old');
    expect(signalAgeGuard(T0 + 5_000, T0, 60)).toBeNull(); // master clock ahead
  });

  it('max open positions counts what is open', () => {
    expect(maxOpenPositionsGuard(4, 5)).toBeNull();
    expect(maxOpenPositionsGuard(5, 5)?.reason).toBe('max_open_positions');
    expect(maxOpenPositionsGuard(500, null)).toBeNull();
  });

  it('max total lots includes the new volume, tolerating float error', () => {
    expect(maxTotalLotsGuard(0.7, 0.3, 1)).toBeNull();
    expect(maxTotalLotsGuard(0.1 + 0.2, 0.7, 1)).toBeNull();
    expect(maxTotalLotsGuard(0.71, 0.3, 1)?.reason).toBe('max_total_lots');
  });

  it('max trades per hour looks at the last hour only', () => {
    const times = [T0 - HOUR_MS, T0 - HOUR_MS + 1, T0 - 10];
    expect(tradesPerHourGuard(times, T0, 3)).toBeNull(); // the first is exactly an hour old
    expect(tradesPerHourGuard(times, T0, 2)?.reason).toBe('max_trades_per_hour');
  });

  it('slippage uses the side the follower fills on, in points, and needs a quote', () => {
    const quote = { bid: 1.1003, ask: 1.1005 };
    expect(slippageGuard('buy', 1.1, quote, 0.00001, 50)).toBeNull(); // 50 points, at the limit
    expect(slippageGuard('buy', 1.1, quote, 0.00001, 49)?.reason).toBe('slippage_exceeded');
    expect(slippageGuard('sell', 1.1, quote, 0.00001, 30)).toBeNull();
    expect(slippageGuard('sell', 1.1009, quote, 0.00001, 50)?.reason).toBe('slippage_exceeded'); // 60 points worse
    expect(slippageGuard('sell', 1.0998, quote, 0.00001, 40)?.reason).toBe('slippage_exceeded'); // 50 points better still counts
    expect(slippageGuard('buy', 1.1, null, 0.00001, 1)).toBeNull();
    expect(slippageGuard('buy', 1.1, quote, 0.00001, null)).toBeNull();
  });

  it('runs cheap guards before sizing and book guards after, mode first', () => {
    const settings = withDefaults({ mode: 'frozen', maxOpenPositions: 1 });
    const stopOut = { period: 'day', metric: 'equity_drawdown', action: 'halt_opens', at: T0 } as const;
    expect(preSizingGuards({ settings, now: T0, occurredAt: 0, activeStopOut: stopOut })?.reason).toBe(
      'mode_frozen',
    );
    expect(
      preSizingGuards({ settings: withDefaults(), now: T0, occurredAt: T0, activeStopOut: null }),
    ).toBeNull();
    const book = {
      settings,
      now: T0,
      side: 'buy',
      volume: 1,
      masterPrice: 1.1,
      point: 0.00001,
      openPositions: 1,
      openLots: 1,
      recentOpenTimes: [],
    } as const;
    expect(bookGuards(book)?.reason).toBe('max_open_positions');
    expect(bookGuards({ ...book, openPositions: 0 })).toBeNull();
  });
});
