import { describe, expect, it } from 'vitest';
import {
  ceilToStep,
  floorToStep,
  isOnStep,
  lookupSymbol,
  stepDecimals,
  subtractVolumes,
} from './symbol-spec.js';
import { eurusd } from './fixtures.js';

describe('volume steps', () => {
  it('knows how many decimals a step is written with', () => {
    expect([1, 0.1, 0.01, 0.05, 0.001, 1e-7, 2.5].map(stepDecimals)).toEqual([0, 1, 2, 2, 3, 7, 1]);
  });

  it('floors without falling through float error', () => {
    expect(floorToStep(0.3, 0.1)).toBe(0.3); // 0.3 / 0.1 = 2.9999999999999996
    expect(floorToStep(0.07, 0.01)).toBe(0.07);
    expect(floorToStep(0.079999, 0.01)).toBe(0.07);
    expect(floorToStep(1.23456, 0.05)).toBe(1.2);
    expect(floorToStep(0.1 + 0.2, 0.01)).toBe(0.3); // 0.30000000000000004 stays off the wire
    expect(floorToStep(0.009, 0.01)).toBe(0);
  });

  it('ceils without climbing over float error', () => {
    expect(ceilToStep(0.3, 0.1)).toBe(0.3);
    expect(ceilToStep(0.07, 0.01)).toBe(0.07);
    expect(ceilToStep(0.071, 0.01)).toBe(0.08);
    expect(ceilToStep(0.05, 0.1)).toBe(0.1);
  });

  it('checks steps and subtracts volumes cleanly', () => {
    expect(isOnStep(0.3, 0.1)).toBe(true);
    expect(isOnStep(0.35, 0.1)).toBe(false);
    expect(subtractVolumes(1.1, 1, 0.01)).toBe(0.1);
  });
});

describe('catalog lookup', () => {
  it('reads Maps and plain objects, and ignores inherited keys', () => {
    expect(lookupSymbol(new Map([['EURUSD', eurusd]]), 'EURUSD')).toBe(eurusd);
    expect(lookupSymbol({ EURUSD: eurusd }, 'EURUSD')).toBe(eurusd);
    expect(lookupSymbol({ EURUSD: eurusd }, 'toString')).toBeNull();
  });
});
