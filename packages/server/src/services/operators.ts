/**
 * Operators: argon2id password hashes, signed expiring tokens (HS256 JWT with a token id
 * that logout revokes), and the role each route requires.
 */
import { createHmac } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { AppError, Role, isoTime } from '@kopitra/contracts';
import { OPERATOR_ACCESS_CHANNEL } from '../notify/notifier.js';
import { headlineCounts } from '../store/counts.js';
import { isUniqueViolation } from '../store/transaction.js';
import { newId } from '../store/ids.js';
import type { Db } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import {
  activeAdminCount,
  findUserByEmail,
  getUser,
  insertToken,
  insertUserRow,
  listUsers,
  revokeToken,
  revokeTokensOf,
  tokenWithUser,
  updateUser,
  type UserRow,
} from '../store/users.js';
import { appendAudit } from './audit.js';
import { randomAlphanumeric } from './secrets.js';
import { assertStrongPassword } from './password-strength.js';
import type { ManagementDeps } from './management-deps.js';
import { userView } from './views.js';

const ARGON2ID = 2;
const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** A random password for a first admin, an invited operator or a reset: 16 letters and digits. */
export const oneTimePassword = (): string => randomAlphanumeric(16);

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
  const user = await findUserByEmail(deps.db, email);
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
  await insertToken(deps.db, { tokenId, userId: user.user_id, issuedAt: now, expiresAt });
  await updateUser(deps.db, user.user_id, { last_login_at: now });
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
  return operatorFromToken(deps, claims.jti ?? '', claims.sub);
}

/**
 * The operator a token id stands for, as they are now: refused when the token is unknown,
 * revoked or expired, or the operator disabled.
 */
export async function operatorFromToken(
  deps: Pick<ManagementDeps, 'db' | 'clock'>,
  tokenId: string,
  userId: string | undefined,
): Promise<Operator> {
  const row = await tokenWithUser(deps.db, tokenId);
  if (!row || row.user_id !== userId) throw new AppError('unauthorized');
  if (row.revoked_at !== null) throw new AppError('token_revoked');
  if (row.expires_at <= deps.clock.now()) throw new AppError('token_expired');
  if (row.status !== 'active') throw new AppError('token_revoked', 'The operator is disabled.');
  const role = Role.safeParse(row.role);
  if (!role.success) throw new AppError('unauthorized', 'The operator has no known role.');
  return { userId: row.user_id, email: row.email, role: role.data, tokenId };
}

/** True when `role` (as stored) is at least `required`. */
export const roleAtLeast = (role: string, required: Role): boolean =>
  Object.hasOwn(rank, role) && rank[role as Role] >= rank[required];

export function requireRole(operator: Operator, role: Role): void {
  if (!roleAtLeast(operator.role, role))
    throw new AppError('role_forbidden', `This needs the ${role} role; you are ${operator.role}.`);
}

/** Signs in and records it; the token is signed, expiring and revocable. */
export async function signIn(deps: ManagementDeps, email: string, password: string, clientIp: string) {
  const { token, expiresAt, user } = await login(deps, email, password, clientIp);
  await appendAudit(
    deps.db,
    { actor: user.email, action: 'auth.login', targetType: 'user', targetId: user.user_id },
    deps.clock.now(),
  );
  return { token, expiresAt: isoTime(expiresAt), user: userView(user) };
}

/** Signs out: the token is revoked at once, and the sign-out recorded. */
export async function signOut(deps: Pick<ManagementDeps, 'db' | 'clock' | 'notifier'>, operator: Operator) {
  await inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    await revokeToken(trx, operator.tokenId, now);
    await appendAudit(
      trx,
      { actor: operator.email, action: 'auth.logout', targetType: 'user', targetId: operator.userId },
      now,
    );
    // Streams opened under this token close, on every replica.
    await deps.notifier.notify(trx, OPERATOR_ACCESS_CHANNEL);
  });
  return { signedOut: true as const };
}

export async function operatorProfile(deps: Pick<ManagementDeps, 'db'>, userId: string) {
  const user = await getUser(deps.db, userId);
  if (!user) throw new AppError('user_not_found');
  return userView(user);
}

export const listOperators = async (deps: Pick<ManagementDeps, 'db'>) =>
  (await listUsers(deps.db)).map(userView);

/**
 * Creates an operator with an argon2id password hash; the email must be new. Without a password
 * one is generated and answered once (`oneTimePassword`), for the admin to hand over.
 */
export async function createOperator(
  deps: Pick<ManagementDeps, 'db' | 'clock'>,
  actor: string,
  req: { email: string; displayName?: string | undefined; role: Role; password?: string | undefined },
): Promise<ReturnType<typeof userView> & { oneTimePassword?: string }> {
  const generated = req.password === undefined ? oneTimePassword() : undefined;
  const password = req.password ?? generated!;
  try {
    return await inTransaction(
      deps.db,
      async ({ trx }) => {
        if (req.password !== undefined)
          assertStrongPassword(req.password, [req.email, req.displayName ?? '']);
        const now = deps.clock.now();
        const user = await insertUser(trx, { ...req, password }, now);
        await appendAudit(
          trx,
          { actor, action: 'user.create', targetType: 'user', targetId: user.user_id, after: userView(user) },
          now,
        );
        return generated === undefined ? userView(user) : { ...userView(user), oneTimePassword: generated };
      },
      0,
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('email_taken');
    throw err;
  }
}

/**
 * Changes an operator. The last active admin cannot be demoted or disabled; a disabled
 * operator or a changed password signs out everywhere.
 */
export async function changeOperator(
  deps: Pick<ManagementDeps, 'db' | 'clock' | 'notifier'>,
  actor: string,
  userId: string,
  patch: {
    displayName?: string | undefined;
    role?: Role | undefined;
    status?: 'active' | 'disabled' | undefined;
    password?: string | undefined;
  },
) {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await getUser(trx, userId);
    if (!before) throw new AppError('user_not_found');
    const demotes = (patch.role !== undefined && patch.role !== 'admin') || patch.status === 'disabled';
    if (before.role === 'admin' && demotes && (await activeAdminCount(trx)) <= 1)
      throw new AppError('last_admin');
    if (patch.password !== undefined)
      assertStrongPassword(patch.password, [before.email, patch.displayName ?? before.display_name]);
    const now = deps.clock.now();
    const after = await updateUser(trx, before.user_id, {
      ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
      ...(patch.role !== undefined ? { role: patch.role } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.password !== undefined ? { password_hash: await hashPassword(patch.password) } : {}),
      updated_at: now,
    });
    if (patch.status === 'disabled' || patch.password !== undefined)
      await revokeTokensOf(trx, before.user_id, now);
    // Their open streams are re-checked on every replica: closed unless still allowed as they were.
    if (after.role !== before.role || after.status !== before.status || patch.password !== undefined)
      await deps.notifier.notify(trx, OPERATOR_ACCESS_CHANNEL);
    await appendAudit(
      trx,
      {
        actor,
        action: 'user.update',
        targetType: 'user',
        targetId: before.user_id,
        before: userView(before),
        after: userView(after),
      },
      now,
    );
    return userView(after);
  });
}

/** Inserts an operator row with a hashed password (no audit: callers record why). */
export async function insertUser(
  db: Db,
  u: { email: string; displayName?: string | undefined; role: Role; password: string },
  now: number,
): Promise<UserRow> {
  return insertUserRow(
    db,
    {
      email: u.email,
      displayName: u.displayName ?? u.email.split('@')[0]!,
      role: u.role,
      passwordHash: await hashPassword(u.password),
    },
    now,
  );
}

/** The signed-in operator, the operator directory (details for admins only) and headline counts. */
export async function snapshot(deps: Pick<ManagementDeps, 'db' | 'clock'>, operator: Operator) {
  const now = deps.clock.now();
  const [me, users, counts] = await Promise.all([
    getUser(deps.db, operator.userId),
    listUsers(deps.db),
    headlineCounts(deps.db, now, now - 86_400_000),
  ]);
  if (!me) throw new AppError('unauthorized');
  return {
    user: userView(me),
    operators:
      operator.role === 'admin'
        ? users.map(userView)
        : users.map((u) => ({ userId: u.user_id, displayName: u.display_name, role: u.role })),
    counts,
  };
}
