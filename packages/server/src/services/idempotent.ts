import { createHmac } from 'node:crypto';
import { AppError } from '@kopitra/contracts';
import type { Db } from '../store/schema.js';
import { findIdempotent, saveIdempotent } from '../store/idempotency.js';

export interface Reply<T = unknown> {
  statusCode: number;
  body: T;
}

/** One idempotent call: who made it (account, or a namespaced operator scope), its key, route and body hash. */
export interface IdempotentCall {
  scope: string;
  key: string;
  route: string;
  requestHash: string;
}

/** JSON with object keys sorted, so the same request hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A keyed hash of the parsed request body, kept with its Idempotency-Key. Keyed with the
 * instance secret because a body may carry a secret (a session create's authKey).
 */
export const requestHash = (secret: string, body: unknown): string =>
  createHmac('sha256', secret)
    .update(`idempotent-request\n${canonical(body)}`)
    .digest('hex');

/**
 * The stored response for this call's key, or undefined. A key reused on another route, or
 * with a different body, is refused with 422 `idempotency_key_reused`.
 */
export async function replayFor(db: Db, call: IdempotentCall): Promise<Reply | undefined> {
  const row = await findIdempotent(db, call.scope, call.key);
  if (!row) return undefined;
  if (row.route !== call.route)
    throw new AppError('idempotency_key_reused', undefined, { originalRoute: row.route });
  // Keys stored before body hashes were kept have none; they replay as they always did.
  if (row.request_hash !== null && row.request_hash !== call.requestHash)
    throw new AppError(
      'idempotency_key_reused',
      'This Idempotency-Key was already used with a different request body.',
    );
  return { statusCode: row.status_code, body: JSON.parse(row.body) as unknown };
}

export async function remember(db: Db, call: IdempotentCall, reply: Reply, now: number): Promise<void> {
  await saveIdempotent(
    db,
    {
      accountId: call.scope,
      key: call.key,
      route: call.route,
      requestHash: call.requestHash,
      statusCode: reply.statusCode,
      body: reply.body,
    },
    now,
  );
}
