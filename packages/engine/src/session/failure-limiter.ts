/**
 * Sliding-window limit on failed authentication attempts. Pure: the state is a list of
 * failure times that callers keep per (account, client address).
 */
export interface FailureWindow {
  readonly limit: number;
  readonly windowMs: number;
}

export const defaultFailureWindow: FailureWindow = { limit: 10, windowMs: 60_000 };

export function pruneFailures(failures: readonly number[], now: number, window: FailureWindow): number[] {
  return failures.filter((t) => t > now - window.windowMs);
}

/** Seconds until another attempt is allowed, or 0 when the caller is under the limit. */
export function retryAfterSec(failures: readonly number[], now: number, window: FailureWindow): number {
  const recent = pruneFailures(failures, now, window);
  if (recent.length < window.limit) return 0;
  const oldestCounted = recent[recent.length - window.limit] ?? now;
  return Math.max(1, Math.ceil((oldestCounted + window.windowMs - now) / 1000));
}
