/**
 * What a terminal nobody approved yet may take. Anyone who can reach the gateway can register
 * an account id and a key with `POST /sessions`; each such registration waits for an operator,
 * so their number is capped per client address and in all, and what a pending session may
 * store is capped per account.
 */
import { AppError, type TelemetryEvent } from '@kopitra/contracts';
import ipaddr from 'ipaddr.js';
import { lockAccountTelemetry, unapprovedTelemetryBytes } from '../store/inbox.js';
import { countPendingRegistrations, lockPendingRegistrations } from '../store/keys.js';
import type { Tx } from '../store/transaction.js';
import type { GatewayDeps } from './deps.js';

export interface PendingLimits {
  /** Keys waiting for approval that terminals registered from one address bucket. */
  readonly maxPerAddress: number;
  /** Keys waiting for approval in all. */
  readonly maxTotal: number;
  /** Telemetry payload bytes an account may store through sessions that were never approved. */
  readonly inboxBytes: number;
}

/** Waiting does not help until an operator decides; this paces a terminal's retries. */
const RETRY_AFTER_SEC = 60;

/**
 * The unit a per-address cap counts: an IPv4 address, or an IPv6 address's /64 (one host
 * commonly holds a whole /64, so single IPv6 addresses cost an attacker nothing).
 */
export function addressBucket(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const addr = ipaddr.process(ip);
  if (addr.kind() === 'ipv4') return addr.toString();
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

/**
 * Refuses a registration (a new account, or a new key waiting for approval) over either cap.
 * Runs inside the creating transaction, after registrations are serialised, so replicas
 * cannot both take the last place.
 */
export async function assertRegistrationAllowed(
  deps: Pick<GatewayDeps, 'dialect' | 'pendingLimits'>,
  tx: Tx,
  clientIp: string,
): Promise<string> {
  const bucket = addressBucket(clientIp);
  await lockPendingRegistrations(tx.trx, deps.dialect);
  const { total, fromAddress } = await countPendingRegistrations(tx.trx, bucket);
  const limits = deps.pendingLimits;
  if (fromAddress >= limits.maxPerAddress)
    throw new AppError(
      'pending_limit_reached',
      `${fromAddress} terminals registered from this address are waiting for approval (at most ${limits.maxPerAddress}).`,
      { retryAfterSec: RETRY_AFTER_SEC },
    );
  if (total >= limits.maxTotal)
    throw new AppError(
      'pending_limit_reached',
      `${total} terminals are waiting for approval (at most ${limits.maxTotal}).`,
      { retryAfterSec: RETRY_AFTER_SEC },
    );
  return bucket;
}

/** Bytes the inbox stores for these events (their payloads as JSON). */
export const telemetryBytes = (events: readonly TelemetryEvent[]): number =>
  events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e.payload)), 0);

/** Refuses telemetry from a pending session that would take its account past the quota. */
export async function assertPendingQuota(
  deps: Pick<GatewayDeps, 'dialect' | 'pendingLimits'>,
  tx: Tx,
  accountId: string,
  events: readonly TelemetryEvent[],
): Promise<void> {
  const adding = telemetryBytes(events);
  if (adding === 0) return;
  await lockAccountTelemetry(tx.trx, deps.dialect, accountId);
  const stored = await unapprovedTelemetryBytes(tx.trx, deps.dialect, accountId);
  const quota = deps.pendingLimits.inboxBytes;
  if (stored + adding > quota)
    throw new AppError(
      'pending_quota_exceeded',
      `A terminal waiting for approval may store ${quota} bytes of telemetry; this account holds ${stored} and the request adds ${adding}.`,
      { retryAfterSec: RETRY_AFTER_SEC },
    );
}
