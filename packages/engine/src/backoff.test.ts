import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.js';

describe('backoffMs', () => {
  it('doubles from the base after each failure and stops at the ceiling', () => {
    const policy = { baseMs: 5_000, maxMs: 3_600_000 };
    expect([0, 1, 2, 3, 10, 20, 5000].map((n) => backoffMs(policy, n))).toEqual([
      5_000, 5_000, 10_000, 20_000, 2_560_000, 3_600_000, 3_600_000,
    ]);
  });

  it('never decreases with more failures and stays within [base, max]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 2_000 }),
        (baseMs, extra, n) => {
          const policy = { baseMs, maxMs: baseMs + extra };
          const d = backoffMs(policy, n);
          expect(d).toBeGreaterThanOrEqual(baseMs);
          expect(d).toBeLessThanOrEqual(policy.maxMs);
          expect(backoffMs(policy, n + 1)).toBeGreaterThanOrEqual(d);
        },
      ),
    );
  });
});
