import { describe, expect, it } from 'vitest';
import {
  activeStopOut,
  decideRiskLimits,
  isBreached,
  limitKey,
  measureDrawdown,
  riskWindows,
  type CopiedPosition,
  type StoredStopOut,
} from './risk-limits.js';
import { T0 } from './fixtures.js';
import type { RiskLimit } from './subscription.js';

const dayStart = Date.UTC(2025, 2, 12);
const dailyHalt: RiskLimit = {
  period: 'day',
  metric: 'equity_drawdown',
  maxPercent: 5,
  action: 'halt_opens',
};
const weeklyClose: RiskLimit = {
  period: 'week',
  metric: 'balance_drawdown',
  maxAmount: 1_000,
  action: 'close_all',
};

const positions: CopiedPosition[] = [
  { masterPositionId: 'm1', ticket: 't1', symbol: 'EURUSD', side: 'buy', volume: 0.5 },
  { masterPositionId: 'm2', ticket: null, symbol: 'XAUUSD', side: 'sell', volume: 0.1 },
  { masterPositionId: 'm3', ticket: 't3', symbol: 'EURUSD', side: 'buy', volume: 0.2, detached: true },
  { masterPositionId: 'm4', ticket: 't4', symbol: 'EURUSD', side: 'buy', volume: 0.2, closing: true },
];

describe('drawdown', () => {
  it('is measured from the period start, or from the peak when one is given', () => {
    expect(measureDrawdown({ start: 10_000, current: 9_400 })).toEqual({
      reference: 10_000,
      amount: 600,
      percent: 6,
    });
    expect(measureDrawdown({ start: 10_000, current: 9_450, peak: 10_500 })).toMatchObject({
      reference: 10_500,
      amount: 1_050,
      percent: 10,
    });
    expect(measureDrawdown({ start: 10_000, current: 10_200 })).toMatchObject({ amount: 0, percent: 0 });
  });

  it('breaches on reaching either threshold', () => {
    expect(isBreached(dailyHalt, { reference: 10_000, amount: 500, percent: 5 })).toBe(true);
    expect(isBreached(dailyHalt, { reference: 10_000, amount: 499, percent: 4.99 })).toBe(false);
    expect(isBreached({ ...dailyHalt, maxAmount: 300 }, { reference: 10_000, amount: 300, percent: 3 })).toBe(
      true,
    );
    expect(isBreached({ ...dailyHalt, maxPercent: 0 }, { reference: 1, amount: 1, percent: 100 })).toBe(
      false,
    );
  });
});

describe('risk windows', () => {
  it('start at the period start, or at the last reset of that limit when later', () => {
    const key = limitKey(dailyHalt);
    expect(riskWindows([dailyHalt], T0, [])).toEqual([
      { limitKey: key, metric: 'equity_drawdown', from: dayStart },
    ]);
    const resetToday: StoredStopOut = {
      limitKey: key,
      period: 'day',
      metric: 'equity_drawdown',
      action: 'halt_opens',
      at: T0 - 7_200_000,
      resetAt: T0 - 3_600_000,
    };
    expect(riskWindows([dailyHalt], T0, [resetToday])[0]!.from).toBe(T0 - 3_600_000);
    const resetYesterday = { ...resetToday, resetAt: dayStart - 1 };
    expect(riskWindows([dailyHalt], T0, [resetYesterday])[0]!.from).toBe(dayStart);
  });
});

describe('decideRiskLimits', () => {
  const windows = new Map([
    [limitKey(dailyHalt), { start: 10_000, current: 9_400 }],
    [limitKey(weeklyClose), { start: 10_000, current: 8_900 }],
  ]);

  it('halt_opens: records a stop-out and halts opens, closes nothing', () => {
    const d = decideRiskLimits({
      limits: [dailyHalt],
      now: T0,
      stopOuts: [],
      windows,
      copiedPositions: positions,
    });
    expect(d.haltOpens).toBe(true);
    expect(d.closes).toEqual([]);
    expect(d.newStopOuts).toEqual([
      {
        limitKey: limitKey(dailyHalt),
        period: 'day',
        metric: 'equity_drawdown',
        action: 'halt_opens',
        maxPercent: 5,
        maxAmount: null,
        windowFrom: dayStart,
        reference: 10_000,
        observed: 9_400,
        drawdownAmount: 600,
        drawdownPercent: 6,
        at: T0,
      },
    ]);
  });

  it('close_all: also closes every managed copied position, not detached or already closing ones', () => {
    const d = decideRiskLimits({
      limits: [weeklyClose],
      now: T0,
      stopOuts: [],
      windows: Object.fromEntries(windows),
      copiedPositions: positions,
    });
    expect(d.newStopOuts).toHaveLength(1);
    expect(d.closes.map((c) => [c.masterPositionId, c.ticket, c.volume, c.action])).toEqual([
      ['m1', 't1', 0.5, 'close'],
      ['m2', null, 0.1, 'close'],
    ]);
  });

  it('does not record a second stop-out while one is active, but keeps closing under close_all', () => {
    const active: StoredStopOut = {
      limitKey: limitKey(weeklyClose),
      period: 'week',
      metric: 'balance_drawdown',
      action: 'close_all',
      at: T0 - 1000,
      resetAt: null,
    };
    const d = decideRiskLimits({
      limits: [weeklyClose],
      now: T0,
      stopOuts: [active],
      windows,
      copiedPositions: positions,
    });
    expect(d.newStopOuts).toEqual([]);
    expect(d.haltOpens).toBe(true);
    expect(d.closes).toHaveLength(2);
  });

  it('keeps halting on a stop-out whose limit was since removed, until reset', () => {
    const orphan: StoredStopOut = {
      limitKey: 'old',
      period: 'month',
      metric: 'equity_drawdown',
      action: 'halt_opens',
      at: T0 - 1000,
      resetAt: null,
    };
    expect(
      decideRiskLimits({ limits: [], now: T0, stopOuts: [orphan], windows, copiedPositions: [] }).haltOpens,
    ).toBe(true);
    expect(
      decideRiskLimits({
        limits: [],
        now: T0,
        stopOuts: [{ ...orphan, resetAt: T0 }],
        windows,
        copiedPositions: [],
      }).haltOpens,
    ).toBe(false);
  });

  it('does nothing within limits or without a history summary', () => {
    const calm = new Map([[limitKey(dailyHalt), { start: 10_000, current: 9_800 }]]);
    expect(
      decideRiskLimits({
        limits: [dailyHalt],
        now: T0,
        stopOuts: [],
        windows: calm,
        copiedPositions: positions,
      }),
    ).toEqual({ newStopOuts: [], haltOpens: false, closes: [] });
    expect(
      decideRiskLimits({
        limits: [dailyHalt],
        now: T0,
        stopOuts: [],
        windows: new Map(),
        copiedPositions: positions,
      }).newStopOuts,
    ).toEqual([]);
  });

  it('activeStopOut prefers the stronger close_all', () => {
    const a: StoredStopOut = {
      limitKey: 'a',
      period: 'day',
      metric: 'equity_drawdown',
      action: 'halt_opens',
      at: 1,
      resetAt: null,
    };
    const b: StoredStopOut = { ...a, limitKey: 'b', action: 'close_all' };
    expect(activeStopOut([a, b])).toBe(b);
    expect(activeStopOut([{ ...b, resetAt: 2 }])).toBeNull();
  });
});
