import { sql } from 'kysely';
import type { Dialect } from './database.js';
import type { AccountKeysTable, Db } from './schema.js';

export type KeyRow = AccountKeysTable;

export async function findKey(db: Db, accountId: string, fingerprint: string): Promise<KeyRow | undefined> {
  return db
    .selectFrom('account_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirst();
}

export async function listKeys(db: Db, accountId: string): Promise<KeyRow[]> {
  return db
    .selectFrom('account_keys')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at', 'asc')
    .execute();
}

export async function insertKey(
  db: Db,
  k: {
    accountId: string;
    fingerprint: string;
    keyHash: string;
    status: 'pending' | 'approved';
    origin: 'ea' | 'operator';
    expiresAt: number | null;
    decidedBy?: string | null;
    /** Where a terminal registered the key from (an address bucket); operator keys have none. */
    registeredFrom?: string | null;
  },
  now: number,
): Promise<KeyRow> {
  return db
    .insertInto('account_keys')
    .values({
      account_id: k.accountId,
      fingerprint: k.fingerprint,
      key_hash: k.keyHash,
      status: k.status,
      origin: k.origin,
      expires_at: k.expiresAt,
      decided_by: k.decidedBy ?? null,
      decided_at: k.status === 'approved' ? now : null,
      decision_reason: null,
      created_at: now,
      registered_from: k.registeredFrom ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function decideKey(
  db: Db,
  accountId: string,
  fingerprint: string,
  d: { status: 'approved' | 'rejected'; by: string; reason: string | null; expiresAt?: number | null },
  now: number,
): Promise<KeyRow | undefined> {
  return db
    .updateTable('account_keys')
    .set({
      status: d.status,
      decided_by: d.by,
      decided_at: now,
      decision_reason: d.reason,
      ...(d.expiresAt === undefined ? {} : { expires_at: d.expiresAt }),
    })
    .where('account_id', '=', accountId)
    .where('fingerprint', '=', fingerprint)
    .returningAll()
    .executeTakeFirst();
}

/** Keys terminals registered that wait for an operator: in all, and from one address bucket. */
export async function countPendingRegistrations(
  db: Db,
  registeredFrom: string,
): Promise<{ total: number; fromAddress: number }> {
  const row = await db
    .selectFrom('account_keys')
    .select((eb) => [
      eb.fn.countAll<number | string>().as('total'),
      eb.fn
        .sum<number | string | null>(
          eb.case().when('registered_from', '=', registeredFrom).then(1).else(0).end(),
        )
        .as('from_address'),
    ])
    .where('status', '=', 'pending')
    .where('origin', '=', 'ea')
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), fromAddress: Number(row.from_address ?? 0) };
}

/**
 * Serialises registrations for the rest of the transaction, so replicas counting pending keys
 * at the same moment cannot both pass a cap. SQLite's `BEGIN IMMEDIATE` already does.
 */
export async function lockPendingRegistrations(db: Db, dialect: Dialect): Promise<void> {
  if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(7346022)`.execute(db);
}
