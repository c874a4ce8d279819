import { AppError } from '@kopitra/contracts';
import { pruneFailures, retryAfterSec, type FailureWindow } from '@kopitra/engine';
import type { Clock } from '../clock.js';

/**
 * Failed authentication attempts per (account, client address), kept in memory: a replica
 * limits what reaches it, which is what stops a terminal hammering a rejected key.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly window: FailureWindow,
    private readonly clock: Clock,
  ) {}

  /** Throws `rate_limited` when the caller has failed too often recently. */
  check(accountId: string, clientIp: string): void {
    const key = `${accountId}\n${clientIp}`;
    const list = this.failures.get(key);
    if (!list) return;
    const wait = retryAfterSec(list, this.clock.now(), this.window);
    if (wait > 0) throw new AppError('rate_limited', undefined, { retryAfterSec: wait });
  }

  record(accountId: string, clientIp: string): void {
    const key = `${accountId}\n${clientIp}`;
    const now = this.clock.now();
    const list = pruneFailures(this.failures.get(key) ?? [], now, this.window);
    list.push(now);
    this.failures.set(key, list);
    if (this.failures.size > 50_000) this.sweep(now);
  }

  private sweep(now: number): void {
    for (const [key, list] of this.failures) {
      const kept = pruneFailures(list, now, this.window);
      if (kept.length === 0) this.failures.delete(key);
      else this.failures.set(key, kept);
    }
  }
}
