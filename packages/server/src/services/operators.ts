/**
 * Operators: argon2id password hashes, signed expiring tokens (HS256 JWT with a token id
 * that logout revokes), and the role each route requires.
 */
import { createHmac } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError, type Role } from '@kopitra/contracts';
import { newId } from '../store/ids.js';
import type { Db, UsersTable } from '../store/schema.js';
import type { ManagementDeps } from './management-deps.js';

export type UserRow = UsersTable;
const ARGON2ID = 2;
const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export const hashPassword = (password: string): Promise<string> => hash(password, { algorithm: ARGON2ID });
export const verifyPassword = (stored: string, password: string): Promise<boolean> =>
  verify(stored, password).catch(() => false);

export const tokenKeyFrom = (instanceSecret: string): Uint8Array =>
  createHmac('sha256', instanceSecret).update('operator-tokens').digest();

export interface Operator {
  userId: string;
  email: string;
  role: Role;
  tokenId: string;
}

// A fixed hash to verify against when the email is unknown, so timing does not reveal which emails exist.
let decoyHash: Promise<string> | undefined;

export async function login(
  deps: ManagementDeps,
  email: string,
  password: string,
  clientIp: string,
): Promise<{ token: string; expiresAt: number; user: UserRow }> {
  deps.loginFailures.check(`email:${email.toLowerCase()}`, clientIp);
  const user = await deps.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  decoyHash ??= hashPassword('decoy-password-for-timing');
  const ok = user
    ? await verifyPassword(user.password_hash, password)
    : (await verifyPassword(await decoyHash, password), false);
  if (!user || !ok || user.status !== 'active') {
    deps.loginFailures.record(`email:${email.toLowerCase()}`, clientIp);
    deps.logger.warn({ email, clientIp }, 'operator login failed');
    throw new AppError('invalid_credentials');
  }
  const now = deps.clock.now();
  const tokenId = newId('tok');
  const expiresAt = now + deps.tokenTtlSec * 1000;
  await deps.db
    .insertInto('operator_tokens')
    .values({
      token_id: tokenId,
      user_id: user.user_id,
      issued_at: now,
      expires_at: expiresAt,
      revoked_at: null,
    })
    .execute();
  await deps.db
    .updateTable('users')
    .set({ last_login_at: now })
    .where('user_id', '=', user.user_id)
    .execute();
  const token = await new SignJWT({ role: user.role, email: user.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(user.user_id)
    .setJti(tokenId)
    .setIssuer('kopitra')
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(deps.tokenKey);
  return { token, expiresAt, user };
}

/** Verifies a bearer token against its signature, expiry, revocation and the user's current role and status. */
export async function authenticateOperator(
  deps: ManagementDeps,
  authorization: string | undefined,
): Promise<Operator> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!token) throw new AppError('unauthorized', 'Sign in and send Authorization: Bearer <token>.');
  let claims: { sub?: string; jti?: string };
  try {
    ({ payload: claims } = await jwtVerify(token, deps.tokenKey, {
      issuer: 'kopitra',
      algorithms: ['HS256'],
      currentDate: new Date(deps.clock.now()),
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new AppError('token_expired');
    throw new AppError('unauthorized', 'The token is not an operator token of this instance.');
  }
  const row = await deps.db
    .selectFrom('operator_tokens as t')
    .innerJoin('users as u', 'u.user_id', 't.user_id')
    .select(['t.revoked_at', 't.expires_at', 'u.user_id', 'u.email', 'u.role', 'u.status'])
    .where('t.token_id', '=', claims.jti ?? '')
    .executeTakeFirst();
  if (!row || row.user_id !== claims.sub) throw new AppError('unauthorized');
  if (row.revoked_at !== null) throw new AppError('token_revoked');
  if (row.expires_at <= deps.clock.now()) throw new AppError('token_expired');
  if (row.status !== 'active') throw new AppError('token_revoked', 'The operator is disabled.');
  return { userId: row.user_id, email: row.email, role: row.role as Role, tokenId: claims.jti! };
}

export function requireRole(operator: Operator, role: Role): void {
  if (rank[operator.role] < rank[role])
    throw new AppError('role_forbidden', `This needs the ${role} role; you are ${operator.role}.`);
}

export async function revoke(deps: ManagementDeps, tokenId: string): Promise<void> {
  await deps.db
    .updateTable('operator_tokens')
    .set({ revoked_at: deps.clock.now() })
    .where('token_id', '=', tokenId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function insertUser(
  db: Db,
  u: { email: string; displayName?: string | undefined; role: Role; password: string },
  now: number,
): Promise<UserRow> {
  return db
    .insertInto('users')
    .values({
      user_id: newId('usr'),
      email: u.email,
      display_name: u.displayName ?? u.email.split('@')[0]!,
      role: u.role,
      status: 'active',
      password_hash: await hashPassword(u.password),
      created_at: now,
      updated_at: now,
      last_login_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
