/** Operators (users) and their tokens. */
import type { Role } from '@kopitra/contracts';
import { newId } from './ids.js';
import type { Db, UsersTable } from './schema.js';

export type UserRow = UsersTable;

export const getUser = (db: Db, userId: string): Promise<UserRow | undefined> =>
  db.selectFrom('users').selectAll().where('user_id', '=', userId).executeTakeFirst();

export const findUserByEmail = (db: Db, email: string): Promise<UserRow | undefined> =>
  db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();

export const listUsers = (db: Db): Promise<UserRow[]> =>
  db.selectFrom('users').selectAll().orderBy('created_at').execute();

export async function anyUser(db: Db): Promise<boolean> {
  return (await db.selectFrom('users').select('user_id').limit(1).executeTakeFirst()) !== undefined;
}

/** The longest-standing active admin's email. */
export async function firstActiveAdminEmail(db: Db): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('email')
    .where('role', '=', 'admin')
    .where('status', '=', 'active')
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.email;
}

export async function activeAdminCount(db: Db): Promise<number> {
  const rows = await db
    .selectFrom('users')
    .select('user_id')
    .where('role', '=', 'admin')
    .where('status', '=', 'active')
    .execute();
  return rows.length;
}

export async function insertUserRow(
  db: Db,
  u: { email: string; displayName: string; role: Role; passwordHash: string },
  now: number,
): Promise<UserRow> {
  return db
    .insertInto('users')
    .values({
      user_id: newId('usr'),
      email: u.email,
      display_name: u.displayName,
      role: u.role,
      status: 'active',
      password_hash: u.passwordHash,
      created_at: now,
      updated_at: now,
      last_login_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateUser(
  db: Db,
  userId: string,
  patch: Partial<Omit<UserRow, 'user_id' | 'email' | 'created_at'>>,
): Promise<UserRow> {
  return db
    .updateTable('users')
    .set(patch)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertToken(
  db: Db,
  t: { tokenId: string; userId: string; issuedAt: number; expiresAt: number },
): Promise<void> {
  await db
    .insertInto('operator_tokens')
    .values({
      token_id: t.tokenId,
      user_id: t.userId,
      issued_at: t.issuedAt,
      expires_at: t.expiresAt,
      revoked_at: null,
    })
    .execute();
}

/** A token with its operator's current role and status. */
export const tokenWithUser = (db: Db, tokenId: string) =>
  db
    .selectFrom('operator_tokens as t')
    .innerJoin('users as u', 'u.user_id', 't.user_id')
    .select(['t.revoked_at', 't.expires_at', 'u.user_id', 'u.email', 'u.role', 'u.status'])
    .where('t.token_id', '=', tokenId)
    .executeTakeFirst();

export async function revokeToken(db: Db, tokenId: string, now: number): Promise<void> {
  await db
    .updateTable('operator_tokens')
    .set({ revoked_at: now })
    .where('token_id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Revokes every token of an operator but `keepTokenId`: signs them out everywhere (else). */
export async function revokeTokensOf(
  db: Db,
  userId: string,
  now: number,
  keepTokenId?: string,
): Promise<void> {
  let revoke = db
    .updateTable('operator_tokens')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null);
  if (keepTokenId) revoke = revoke.where('token_id', '!=', keepTokenId);
  await revoke.execute();
}

/** Several tokens at once, each with its operator's current role and status (for open streams). */
export const tokensWithUsers = (db: Db, tokenIds: readonly string[]) =>
  tokenIds.length === 0
    ? Promise.resolve([])
    : db
        .selectFrom('operator_tokens as t')
        .innerJoin('users as u', 'u.user_id', 't.user_id')
        .select(['t.token_id', 't.revoked_at', 't.expires_at', 'u.user_id', 'u.role', 'u.status'])
        .where('t.token_id', 'in', tokenIds)
        .execute();
