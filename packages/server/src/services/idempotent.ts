import { AppError } from '@kopitra/contracts';
import type { Db } from '../store/schema.js';
import { findIdempotent, saveIdempotent } from '../store/idempotency.js';

export interface Reply<T = unknown> {
  statusCode: number;
  body: T;
}

/** A stored response for this key, or undefined. A key reused on another route is refused. */
export async function replayFor(
  db: Db,
  accountId: string,
  key: string,
  route: string,
): Promise<Reply | undefined> {
  const row = await findIdempotent(db, accountId, key);
  if (!row) return undefined;
  if (row.route !== route)
    throw new AppError('idempotency_key_reused', undefined, { originalRoute: row.route });
  return { statusCode: row.status_code, body: JSON.parse(row.body) as unknown };
}

export async function remember(
  db: Db,
  accountId: string,
  key: string,
  route: string,
  reply: Reply,
  now: number,
): Promise<void> {
  await saveIdempotent(db, { accountId, key, route, statusCode: reply.statusCode, body: reply.body }, now);
}
