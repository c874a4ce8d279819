import { describe, expect, it } from 'vitest';
import { Magic, SignalRequest } from './index.js';

describe('Magic', () => {
  it('carries a 64-bit magic number exactly as a decimal string', () => {
    expect(Magic.parse('18446744073709551615')).toBe('18446744073709551615');
    expect(Magic.parse('9007199254740993')).toBe('9007199254740993');
  });

  it('accepts the JSON integer older EAs send, and MT4 negative magic numbers', () => {
    expect(Magic.parse(7191)).toBe('7191');
    expect(Magic.parse(-5)).toBe('-5');
    expect(Magic.parse('-2147483648')).toBe('-2147483648');
  });

  it('writes one canonical form, so filters compare equal', () => {
    expect(Magic.parse('007191')).toBe('7191');
    expect(Magic.parse('-0')).toBe('0');
  });

  it('refuses what is not a 64-bit integer', () => {
    for (const bad of ['18446744073709551616', '-9223372036854775809', '1.5', '0x10', '', ' 7', 1.5, 2 ** 60])
      expect(Magic.safeParse(bad).success, String(bad)).toBe(false);
  });

  it('is how a signal carries it', () => {
    const signal = SignalRequest.parse({
      type: 'position.opened',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
      magic: '18446744073709551557',
      occurredAt: '2026-01-05T09:00:01.250Z',
    });
    expect(signal.magic).toBe('18446744073709551557');
  });
});
