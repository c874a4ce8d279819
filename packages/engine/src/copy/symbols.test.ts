import { describe, expect, it } from 'vitest';
import {
  filterOpen,
  magicAllowed,
  mapSymbol,
  reverseDirection,
  symbolAllowed,
  wildcardMatch,
} from './symbols.js';
import { withDefaults } from './subscription.js';

describe('symbol map', () => {
  it('uses the explicit map first, else the same name', () => {
    expect(mapSymbol('EURUSD', { EURUSD: 'EURUSD.m' })).toEqual({ symbol: 'EURUSD.m', mapped: true });
    expect(mapSymbol('GBPUSD', { EURUSD: 'EURUSD.m' })).toEqual({ symbol: 'GBPUSD', mapped: false });
    expect(mapSymbol('constructor', {})).toEqual({ symbol: 'constructor', mapped: false });
  });
});

describe('filters', () => {
  it('matches * wildcards literally otherwise, ignoring case', () => {
    expect(wildcardMatch('EUR*', 'EURUSD')).toBe(true);
    expect(wildcardMatch('*.m', 'eurusd.m')).toBe(true);
    expect(wildcardMatch('*.m', 'EURUSDxm')).toBe(false); // the dot is not a regex dot
    expect(wildcardMatch('XAUUSD', 'XAUUSD.pro')).toBe(false);
    expect(wildcardMatch('*', 'anything')).toBe(true);
  });

  it('lets exclude win over include, and treats an empty include as everything', () => {
    expect(symbolAllowed('EURUSD', { include: ['EUR*'], exclude: ['EURUSD'] })).toBe(false);
    expect(symbolAllowed('EURGBP', { include: ['EUR*'], exclude: ['EURUSD'] })).toBe(true);
    expect(symbolAllowed('GBPUSD', { include: ['EUR*'] })).toBe(false);
    expect(symbolAllowed('GBPUSD', { include: [] })).toBe(true);
  });

  it('reads a missing magic as 0, the magic of a manual MetaTrader trade', () => {
    expect(magicAllowed(undefined, { exclude: ['0'] })).toBe(false);
    expect(magicAllowed('42', { include: ['42'] })).toBe(true);
    expect(magicAllowed('7', { include: ['42'] })).toBe(false);
  });

  it('compares 64-bit magic numbers exactly, and settings saved as JSON numbers', () => {
    expect(magicAllowed('18446744073709551615', { include: ['18446744073709551615'] })).toBe(true);
    expect(magicAllowed('18446744073709551614', { include: ['18446744073709551615'] })).toBe(false);
    expect(magicAllowed('7191', { exclude: [7191] })).toBe(false);
  });

  it('reports the first filter that refuses an open', () => {
    const s = withDefaults({
      symbolFilter: { exclude: ['XAU*'] },
      magicFilter: { exclude: ['99'] },
      allowedSides: ['buy'],
    });
    expect(filterOpen({ symbol: 'XAUUSD', side: 'buy' }, s)?.reason).toBe('symbol_excluded');
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy', magic: '99' }, s)?.reason).toBe('magic_excluded');
    expect(filterOpen({ symbol: 'EURUSD', side: 'sell' }, s)?.reason).toBe('side_not_allowed');
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy' }, s)).toBeNull();
  });
});

describe("the master's volume", () => {
  it('filters opens on the master lots, not the follower lots, and says which bound applied', () => {
    const s = withDefaults({ masterVolume: { min: 0.05, max: 0.4 } });
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy', volume: 0.8 }, s)).toEqual({
      reason: 'master_volume_above_maximum',
      detail: 'the master opened 0.8 lots, maximum 0.4',
    });
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy', volume: 0.01 }, s)?.reason).toBe(
      'master_volume_below_minimum',
    );
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy', volume: 0.4 }, s)).toBeNull();
    expect(filterOpen({ symbol: 'EURUSD', side: 'buy', volume: 100 }, withDefaults())).toBeNull();
  });
});

describe('reverse', () => {
  it('flips the side and swaps stop loss and take profit', () => {
    expect(reverseDirection({ side: 'buy', sl: 1.095, tp: 1.11 })).toEqual({
      side: 'sell',
      sl: 1.11,
      tp: 1.095,
    });
    expect(reverseDirection({ side: 'sell', sl: null, tp: 1.09 })).toEqual({
      side: 'buy',
      sl: 1.09,
      tp: null,
    });
  });
});
