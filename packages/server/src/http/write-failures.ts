/**
 * Storage and connection failures on the request path. A full disk (SQLITE_FULL) or a failing
 * one (SQLITE_IOERR) makes every write fail while a read-only ping still succeeds, so `/health`
 * also reports the `storage` check as failed for WINDOW_MS after a write failed; a lost
 * database connection is a coded 503, never a 500.
 */
import type { Clock } from '../clock.js';
import type { ErrorCode } from '@kopitra/contracts';

const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006']);
const NET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** The coded answer for a database error that is the storage's fault, not the request's. */
export function storageErrorCode(
  err: unknown,
): Extract<ErrorCode, 'storage_full' | 'database_unavailable'> | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('SQLITE_FULL') || code.startsWith('SQLITE_IOERR')) return 'storage_full';
  if (PG_UNAVAILABLE.has(code) || NET_UNAVAILABLE.has(code)) return 'database_unavailable';
  const message = typeof e?.message === 'string' ? e.message : '';
  if (
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
      message,
    )
  )
    return 'database_unavailable';
  return undefined;
}

export class WriteFailures {
  static readonly WINDOW_MS = 30_000;
  private last: { at: number; code: string } | null = null;
  constructor(private readonly clock: Clock) {}

  record(err: unknown): void {
    const code = (err as { code?: unknown } | null)?.code;
    this.last = { at: this.clock.now(), code: typeof code === 'string' ? code : 'unknown' };
  }

  /** The `storage` health check: fails while a write failed within the last WINDOW_MS. */
  async check(): Promise<void> {
    if (this.last && this.clock.now() - this.last.at < WriteFailures.WINDOW_MS)
      throw new Error(`writes are failing (${this.last.code}); free disk space where the database lives`);
  }
}
