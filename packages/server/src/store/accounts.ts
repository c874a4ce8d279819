import type { Platform } from '@kopitra/contracts';
import { listNewestFirst, type PageInput } from './pagination.js';
import type { AccountsTable, Db } from './schema.js';

export type AccountRow = AccountsTable;

/** Accounts newest first, one page at a time. */
export const pageAccounts = <V>(db: Db, input: PageInput, view: (row: AccountRow) => V) =>
  listNewestFirst(
    db.selectFrom('accounts').selectAll(),
    { time: 'created_at', id: 'account_id', key: (r) => ({ t: r.created_at, id: r.account_id }) },
    input,
    view,
  );

export async function getAccount(db: Db, accountId: string): Promise<AccountRow | undefined> {
  return db.selectFrom('accounts').selectAll().where('account_id', '=', accountId).executeTakeFirst();
}

/**
 * Reads the account and, on PostgreSQL, holds its row lock until the transaction ends, so
 * session creation for one account is serialised across replicas. (SQLite transactions are
 * already serialised by BEGIN IMMEDIATE.)
 */
export async function lockAccount(db: Db, accountId: string, now: number): Promise<AccountRow | undefined> {
  return db
    .updateTable('accounts')
    .set({ updated_at: now })
    .where('account_id', '=', accountId)
    .returningAll()
    .executeTakeFirst();
}

export interface NewAccount {
  accountId: string;
  platform?: Platform | null;
  broker?: string | null;
  server?: string | null;
  currency?: string | null;
  displayName?: string | null;
  status?: 'active' | 'disabled';
  sessionPolicy?: 'reject' | 'takeover';
  registeredBy: string;
}

export async function insertAccount(db: Db, a: NewAccount, now: number): Promise<AccountRow> {
  return db
    .insertInto('accounts')
    .values({
      account_id: a.accountId,
      display_name: a.displayName ?? null,
      platform: a.platform ?? null,
      broker: a.broker ?? null,
      server: a.server ?? null,
      currency: a.currency ?? null,
      status: a.status ?? 'active',
      session_policy: a.sessionPolicy ?? 'reject',
      registered_by: a.registeredBy,
      last_sequence: 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateAccount(
  db: Db,
  accountId: string,
  patch: Partial<
    Pick<
      AccountRow,
      'display_name' | 'platform' | 'broker' | 'server' | 'currency' | 'status' | 'session_policy'
    >
  >,
  now: number,
): Promise<AccountRow | undefined> {
  return db
    .updateTable('accounts')
    .set({ ...patch, updated_at: now })
    .where('account_id', '=', accountId)
    .returningAll()
    .executeTakeFirst();
}

/** Allocates the account's next outbox sequence. The row update serialises concurrent writers. */
export async function nextSequence(db: Db, accountId: string): Promise<number> {
  const row = await db
    .updateTable('accounts')
    .set((eb) => ({ last_sequence: eb('last_sequence', '+', 1) }))
    .where('account_id', '=', accountId)
    .returning('last_sequence')
    .executeTakeFirstOrThrow();
  return Number(row.last_sequence);
}

/** Whether any account exists. */
export async function anyAccount(db: Db): Promise<boolean> {
  return (await db.selectFrom('accounts').select('account_id').limit(1).executeTakeFirst()) !== undefined;
}
