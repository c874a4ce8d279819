import { describe, expect, it } from 'vitest';
import { nextPeriodStart, periodStart } from './periods.js';

const at = (iso: string): number => Date.parse(iso);

describe('period starts (UTC unless an offset is given)', () => {
  const now = at('2025-03-12T10:15:00Z'); // Wednesday

  it('day, week (Monday) and month', () => {
    expect(periodStart('day', now)).toBe(at('2025-03-12T00:00:00Z'));
    expect(periodStart('week', now)).toBe(at('2025-03-10T00:00:00Z'));
    expect(periodStart('month', now)).toBe(at('2025-03-01T00:00:00Z'));
    expect(periodStart('lifetime', now)).toBe(0);
  });

  it('a Sunday belongs to the week that began the Monday before', () => {
    expect(periodStart('week', at('2025-03-16T23:59:59Z'))).toBe(at('2025-03-10T00:00:00Z'));
    expect(periodStart('week', at('2025-03-17T00:00:00Z'))).toBe(at('2025-03-17T00:00:00Z'));
  });

  it('follows a broker server offset', () => {
    // 22:30 UTC is already the next day at UTC+2.
    expect(periodStart('day', at('2025-03-12T22:30:00Z'), 120)).toBe(at('2025-03-12T22:00:00Z'));
    expect(periodStart('month', at('2025-03-31T22:30:00Z'), 120)).toBe(at('2025-03-31T22:00:00Z'));
  });

  it('knows where each period ends', () => {
    expect(nextPeriodStart('day', now)).toBe(at('2025-03-13T00:00:00Z'));
    expect(nextPeriodStart('week', now)).toBe(at('2025-03-17T00:00:00Z'));
    expect(nextPeriodStart('month', at('2025-12-31T23:00:00Z'))).toBe(at('2026-01-01T00:00:00Z'));
    expect(nextPeriodStart('lifetime', now)).toBeNull();
  });
});
