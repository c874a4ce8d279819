import { describe, expect, it } from 'vitest';
import { fitVolume, rawVolume, sizeOpen, volumeBounds, type SizingInput } from './sizing.js';
import { eurusd, goldBig, xauusd } from './fixtures.js';
import { withDefaults, type SubscriptionInput } from './subscription.js';

const base: SizingInput = {
  sizing: { mode: 'mirror' },
  masterVolume: 1,
  entryPrice: 1.1,
  stopLoss: 1.095,
  follower: { balance: 5_000, equity: 4_000 },
  master: { balance: 10_000, equity: 10_000 },
  followerSpec: eurusd,
  masterSpec: eurusd,
};

const size = (over: Partial<SizingInput>, settings: SubscriptionInput = {}) =>
  sizeOpen({ ...base, ...over }, withDefaults(settings));
const volumeOf = (over: Partial<SizingInput>, settings: SubscriptionInput = {}) => {
  const r = size(over, settings);
  return r.ok ? r.volume : r.reason;
};

describe('sizing modes', () => {
  it('mirror copies the master volume', () => {
    expect(volumeOf({ masterVolume: 0.37 })).toBe(0.37);
  });

  it('multiplier scales it and rounds down to the step', () => {
    expect(volumeOf({ sizing: { mode: 'multiplier', multiplier: 0.5 } })).toBe(0.5);
    expect(volumeOf({ sizing: { mode: 'multiplier', multiplier: 0.333 } })).toBe(0.33);
    expect(volumeOf({ sizing: { mode: 'multiplier', multiplier: 3 }, masterVolume: 0.1 })).toBe(0.3);
  });

  it('fixed ignores the master volume', () => {
    expect(volumeOf({ sizing: { mode: 'fixed', lots: 0.2 }, masterVolume: 7 })).toBe(0.2);
  });

  it('balance_ratio and equity_ratio scale by follower/master, times k (default 1)', () => {
    expect(volumeOf({ sizing: { mode: 'balance_ratio' } })).toBe(0.5);
    expect(volumeOf({ sizing: { mode: 'balance_ratio', multiplier: 2 } })).toBe(1);
    expect(volumeOf({ sizing: { mode: 'equity_ratio' } })).toBe(0.4);
    expect(volumeOf({ sizing: { mode: 'equity_ratio' }, master: { equity: 0 } })).toBe(
      'missing_account_metrics',
    );
    expect(volumeOf({ sizing: { mode: 'balance_ratio' }, follower: null })).toBe('missing_account_metrics');
  });

  it('contract_size keeps the master notional across contract sizes', () => {
    const gold = { followerSpec: goldBig, masterSpec: xauusd, sizing: { mode: 'contract_size' } as const };
    expect(volumeOf({ ...gold, masterVolume: 1 })).toBe(0.1); // 1 × 100 oz = 0.1 × 1000 oz
    expect(volumeOf({ ...gold, masterVolume: 3, sizing: { mode: 'contract_size', multiplier: 2 } })).toBe(
      0.6,
    );
    expect(volumeOf({ ...gold, masterSpec: null })).toBe('master_symbol_spec_missing');
  });

  it('risk_percent risks p % of follower equity between entry and stop', () => {
    // 1 % of 4 000 = 40; 50 pips × 1 USD per point-tick = 500 per lot → 0.08 lots.
    expect(volumeOf({ sizing: { mode: 'risk_percent', percent: 1 } })).toBe(0.08);
    expect(volumeOf({ sizing: { mode: 'risk_percent', percent: 1 }, entryPrice: 1.1, stopLoss: 1.105 })).toBe(
      0.08,
    );
  });

  it('risk_percent skips without a usable stop loss or spec', () => {
    const risk = { sizing: { mode: 'risk_percent', percent: 1 } } as const;
    expect(volumeOf({ ...risk, stopLoss: null })).toBe('no_stop_loss_for_risk_sizing');
    expect(volumeOf({ ...risk, stopLoss: 1.1 })).toBe('no_stop_loss_for_risk_sizing');
    expect(volumeOf({ ...risk, followerSpec: { ...eurusd, tickValue: 0 } })).toBe('symbol_spec_invalid');
    expect(volumeOf({ ...risk, follower: { balance: 1 } })).toBe('missing_account_metrics');
  });

  it('rawVolume reports the unrounded volume', () => {
    expect(rawVolume({ ...base, sizing: { mode: 'multiplier', multiplier: 0.333 } })).toEqual({
      ok: true,
      raw: 0.333,
    });
  });
});

describe('limits and rounding', () => {
  const limits = withDefaults();

  it('caps at the subscription and symbol maximum', () => {
    expect(size({ masterVolume: 5 }, { maxVolume: 0.3 })).toMatchObject({
      ok: true,
      volume: 0.3,
      raw: 5,
      capped: true,
    });
    expect(size({ masterVolume: 150 })).toMatchObject({ ok: true, volume: 100, capped: true });
    expect(size({ masterVolume: 1.234 }, { maxVolume: 1.24 })).toMatchObject({ volume: 1.23, capped: false });
  });

  it('skips under the minimum rather than taking more risk', () => {
    expect(size({ masterVolume: 0.4 }, { minVolume: 0.5 })).toMatchObject({
      ok: false,
      reason: 'volume_below_minimum',
    });
    expect(size({ masterVolume: 0.004 })).toMatchObject({ ok: false, reason: 'volume_below_minimum' });
  });

  it('forces the minimum only while the extra risk stays under the factor', () => {
    expect(size({ masterVolume: 0.4 }, { minVolume: 0.5, forceMinimum: true })).toMatchObject({
      ok: true,
      volume: 0.5,
      forced: true,
    });
    expect(size({ masterVolume: 0.006 }, { forceMinimum: true })).toMatchObject({
      ok: true,
      volume: 0.01,
      forced: true,
    });
    const tooMuch = size({ masterVolume: 0.004 }, { forceMinimum: true });
    expect(tooMuch).toMatchObject({ ok: false, reason: 'volume_below_minimum' });
    expect(!tooMuch.ok && tooMuch.detail).toContain('2.50×');
    expect(size({ masterVolume: 0.004 }, { forceMinimum: true, forceMinimumMaxRiskFactor: 3 })).toMatchObject(
      { ok: true, volume: 0.01 },
    );
  });

  it('applies the coarser of the two minimums on the step', () => {
    expect(volumeBounds({ minVolume: 0.05, maxVolume: null }, goldBig)).toEqual({ min: 0.1, max: 50 });
    expect(volumeBounds({ minVolume: 0.123, maxVolume: 9.99 }, eurusd)).toEqual({ min: 0.13, max: 9.99 });
  });

  it('refuses limits that cannot be met and inputs that are not numbers', () => {
    expect(fitVolume(1, withDefaults({ maxVolume: 0.005 }), eurusd)).toMatchObject({
      ok: false,
      reason: 'volume_limits_conflict',
    });
    expect(fitVolume(Number.NaN, limits, eurusd)).toMatchObject({ ok: false, reason: 'sizing_invalid' });
    expect(fitVolume(1, limits, { ...eurusd, volumeStep: 0 })).toMatchObject({
      ok: false,
      reason: 'symbol_spec_invalid',
    });
  });
});
