/**
 * External signal sources, as admins manage them: creating an account's signal secret makes
 * it a virtual master whose signals arrive on `POST /api/signals/{accountId}`; rotating
 * replaces the secret at once; revoking stops its signals.
 */
import { AppError, isoTime, type SignalSecretIssued } from '@kopitra/contracts';
import { getAccount } from '../store/accounts.js';
import { deleteSignalSource, getSignalSource, putSignalSource } from '../store/signal-sources.js';
import { inTransaction } from '../store/transaction.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { newSignalSecret, seal, signalSecretKey } from './secrets.js';

type Deps = Pick<ManagementDeps, 'db' | 'clock' | 'gateway'>;

/** Creates or rotates the account's signal secret; the answer is the only time it is shown. */
export async function rotateSignalSecret(
  deps: Deps,
  actor: string,
  accountId: string,
): Promise<SignalSecretIssued> {
  return inTransaction(deps.db, async ({ trx }) => {
    if (!(await getAccount(trx, accountId))) throw new AppError('account_not_found');
    const before = await getSignalSource(trx, accountId);
    const now = deps.clock.now();
    const secret = newSignalSecret();
    await putSignalSource(trx, {
      account_id: accountId,
      secret_enc: seal(signalSecretKey(deps.gateway.secret), secret),
      rotated_by: actor,
      rotated_at: now,
      created_at: now,
    });
    await appendAudit(
      trx,
      {
        actor,
        action: before ? 'signal_secret.rotate' : 'signal_secret.create',
        targetType: 'account',
        targetId: accountId,
        before: before ? { rotatedAt: isoTime(before.rotated_at) } : null,
        after: { rotatedAt: isoTime(now) },
      },
      now,
    );
    return {
      accountId,
      secret,
      rotatedAt: isoTime(now),
      signalPath: `/api/signals/${encodeURIComponent(accountId)}`,
    };
  });
}

/** Removes the account's signal secret: its external signals are refused from now on. */
export async function revokeSignalSecret(deps: Deps, actor: string, accountId: string) {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await getSignalSource(trx, accountId);
    if (!before || !(await deleteSignalSource(trx, accountId))) throw new AppError('signal_source_not_found');
    const now = deps.clock.now();
    await appendAudit(
      trx,
      {
        actor,
        action: 'signal_secret.revoke',
        targetType: 'account',
        targetId: accountId,
        before: { rotatedAt: isoTime(before.rotated_at) },
      },
      now,
    );
    return { accountId, revoked: true as const };
  });
}
