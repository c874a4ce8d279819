/**
 * The one back-off formula of the codebase: after the n-th consecutive failure, wait
 * `baseMs · 2^(n-1)`, never more than `maxMs`. Deterministic, so retries are tested with an
 * injected clock; callers that need spreading across many clients add their own jitter.
 */
export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly baseMs: number;
  /** Ceiling of every delay. */
  readonly maxMs: number;
}

/** Delay before the next attempt after `failures` consecutive failures (1 → `baseMs`). */
export function backoffMs(policy: BackoffPolicy, failures: number): number {
  const exponent = Math.min(Math.max(0, failures - 1), 52);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
}
