/**
 * Password changes: an operator changing their own (knowing the current one) and an admin at
 * the machine resetting anyone's from the command line. A new password signs the operator out
 * everywhere else.
 */
import { AppError } from '@kopitra/contracts';
import { OPERATOR_ACCESS_CHANNEL } from '../notify/notifier.js';
import type { Db } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { findUserByEmail, getUser, revokeTokensOf, updateUser } from '../store/users.js';
import { appendAudit } from './audit.js';
import { assertStrongPassword } from './password-strength.js';
import { hashPassword, oneTimePassword, verifyPassword, type Operator } from './operators.js';
import type { ManagementDeps } from './management-deps.js';

async function storePassword(
  deps: Pick<ManagementDeps, 'notifier'>,
  trx: Db,
  userId: string,
  password: string,
  now: number,
  keepTokenId?: string,
): Promise<void> {
  await updateUser(trx, userId, { password_hash: await hashPassword(password), updated_at: now });
  await revokeTokensOf(trx, userId, now, keepTokenId);
  // Streams opened under the revoked tokens close, on every replica.
  await deps.notifier.notify(trx, OPERATOR_ACCESS_CHANNEL);
}

/** The signed-in operator's own change; the token used for it stays valid. */
export async function changeOwnPassword(
  deps: ManagementDeps,
  operator: Operator,
  current: string,
  next: string,
  clientIp: string,
): Promise<void> {
  deps.loginFailures.check(operator.email, clientIp);
  const user = await getUser(deps.db, operator.userId);
  if (!user) throw new AppError('user_not_found');
  if (!(await verifyPassword(user.password_hash, current))) {
    deps.loginFailures.record(operator.email, clientIp);
    throw new AppError('current_password_wrong');
  }
  if (current === next) throw new AppError('password_unchanged');
  assertStrongPassword(next, [operator.email]);
  await inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    await storePassword(deps, trx, operator.userId, next, now, operator.tokenId);
    await appendAudit(
      trx,
      {
        actor: operator.email,
        action: 'user.password_change',
        targetType: 'user',
        targetId: operator.userId,
      },
      now,
    );
  });
}

/** `kopitra admin reset-password EMAIL`: sets a new password and signs the operator out everywhere. */
export async function resetPassword(
  deps: Pick<ManagementDeps, 'db' | 'clock' | 'notifier'>,
  actor: string,
  email: string,
  password: string,
): Promise<{ userId: string; email: string }> {
  return inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const user = await findUserByEmail(trx, email.trim().toLowerCase());
    if (!user) throw new AppError('user_not_found', `No operator with email ${email}.`);
    await storePassword(deps, trx, user.user_id, password, now);
    await appendAudit(
      trx,
      { actor, action: 'user.password_reset', targetType: 'user', targetId: user.user_id },
      now,
    );
    return { userId: user.user_id, email: user.email };
  });
}

/**
 * An admin resets another operator's password from the console: a one-time password is
 * generated, answered once and never stored in clear; the operator is signed out everywhere
 * (the admin's own token survives a reset of their own password).
 */
export async function resetOperatorPassword(
  deps: Pick<ManagementDeps, 'db' | 'clock' | 'notifier'>,
  actor: Operator,
  userId: string,
): Promise<{ userId: string; email: string; oneTimePassword: string }> {
  const password = oneTimePassword();
  return inTransaction(deps.db, async ({ trx }) => {
    const user = await getUser(trx, userId);
    if (!user) throw new AppError('user_not_found');
    const now = deps.clock.now();
    await storePassword(
      deps,
      trx,
      user.user_id,
      password,
      now,
      actor.userId === user.user_id ? actor.tokenId : undefined,
    );
    await appendAudit(
      trx,
      { actor: actor.email, action: 'user.password_reset', targetType: 'user', targetId: user.user_id },
      now,
    );
    return { userId: user.user_id, email: user.email, oneTimePassword: password };
  });
}
