import type { Db, IdempotencyKeysTable } from './schema.js';

export type IdempotencyRow = IdempotencyKeysTable;

export async function findIdempotent(
  db: Db,
  accountId: string,
  key: string,
): Promise<IdempotencyRow | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** Records a successful response in the same transaction as its effects. */
export async function saveIdempotent(
  db: Db,
  r: {
    accountId: string;
    key: string;
    route: string;
    requestHash: string;
    statusCode: number;
    body: unknown;
  },
  now: number,
): Promise<void> {
  await db
    .insertInto('idempotency_keys')
    .values({
      account_id: r.accountId,
      idempotency_key: r.key,
      route: r.route,
      request_hash: r.requestHash,
      status_code: r.statusCode,
      body: JSON.stringify(r.body),
      created_at: now,
    })
    .execute();
}
