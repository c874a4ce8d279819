import { AppError } from '@kopitra/contracts';
import { pruneFailures, retryAfterSec, type FailureWindow } from '@kopitra/engine';
import type { Clock } from '../clock.js';

/**
 * Failed authentication attempts, kept in memory in two sliding windows: per (subject,
 * client address) — a subject is an account or an e-mail — and per client address across
 * every subject, which throttles spraying many accounts from one place. Both are keyed by
 * the caller's address, so someone else's failures never lock out a correct credential
 * presented from elsewhere. A replica limits what reaches it.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly spray: FailureWindow;

  constructor(
    private readonly window: FailureWindow,
    private readonly clock: Clock,
    spray?: FailureWindow,
  ) {
    this.spray = spray ?? { limit: window.limit * 2, windowMs: window.windowMs };
  }

  /**
   * Throws `rate_limited` when this address has failed too often, for this subject or in
   * all. Call before verifying a credential that is costly to check; pass `subject: null`
   * to consult only the address's total.
   */
  check(subject: string | null, clientIp: string): void {
    const now = this.clock.now();
    const wait = Math.max(
      retryAfterSec(this.failures.get(`ip\n${clientIp}`) ?? [], now, this.spray),
      subject === null
        ? 0
        : retryAfterSec(this.failures.get(`subject\n${subject}\n${clientIp}`) ?? [], now, this.window),
    );
    if (wait > 0) throw new AppError('rate_limited', undefined, { retryAfterSec: wait });
  }

  /**
   * Records a failed attempt. `subject` is null when the credential names no subject we can
   * trust (a token that does not verify): it then counts only against the address.
   */
  record(subject: string | null, clientIp: string): void {
    const now = this.clock.now();
    this.push(`ip\n${clientIp}`, now, this.spray);
    if (subject !== null) this.push(`subject\n${subject}\n${clientIp}`, now, this.window);
    if (this.failures.size > 50_000) this.sweep(now);
  }

  private push(key: string, now: number, window: FailureWindow): void {
    const list = pruneFailures(this.failures.get(key) ?? [], now, window);
    list.push(now);
    this.failures.set(key, list);
  }

  private sweep(now: number): void {
    const longest = Math.max(this.window.windowMs, this.spray.windowMs);
    for (const [key, list] of this.failures) {
      const kept = list.filter((t) => t > now - longest);
      if (kept.length === 0) this.failures.delete(key);
      else this.failures.set(key, kept);
    }
  }
}
