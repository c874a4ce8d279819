/**
 * Trading accounts and their pre-shared keys, as operators manage them. The API, the console
 * (through the API) and the CLI all call these, so each action writes the same audit row.
 */
import {
  AppError,
  isoTime,
  topics,
  type AccountPatchRequest,
  type AccountRequest,
  type AuthReject,
} from '@kopitra/contracts';
import { getAccount, insertAccount, pageAccounts, updateAccount } from '../store/accounts.js';
import { isUniqueViolation } from '../store/transaction.js';
import { getTelemetry } from '../store/inbox.js';
import { decideKey, findKey, insertKey, listKeys } from '../store/keys.js';
import type { PageInput } from '../store/pagination.js';
import { latestSession, liveSessionsOf } from '../store/sessions.js';
import { getSignalSource } from '../store/signal-sources.js';
import { inTransaction } from '../store/transaction.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { keyFingerprint, keyHash, newAccountKey } from './secrets.js';
import { endSession } from './session-control.js';
import { accountView, keyView, sessionView, telemetryView } from './views.js';

type AccountDeps = Pick<ManagementDeps, 'db' | 'clock' | 'bus' | 'gateway'>;

export const listAccounts = (deps: Pick<ManagementDeps, 'db'>, input: PageInput) =>
  pageAccounts(deps.db, input, accountView);

export async function createAccount(deps: AccountDeps, actor: string, req: AccountRequest) {
  try {
    return await inTransaction(
      deps.db,
      async ({ trx }) => {
        const now = deps.clock.now();
        const row = await insertAccount(trx, { ...req, registeredBy: actor }, now);
        await appendAudit(
          trx,
          {
            actor,
            action: 'account.create',
            targetType: 'account',
            targetId: row.account_id,
            after: accountView(row),
          },
          now,
        );
        return accountView(row);
      },
      0,
    );
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError('account_exists');
    throw err;
  }
}

/** One account with its latest telemetry, its keys (fingerprints only) and its latest session. */
export async function accountDetail(deps: Pick<ManagementDeps, 'db'>, accountId: string) {
  const account = await getAccount(deps.db, accountId);
  if (!account) throw new AppError('account_not_found');
  const [telemetry, keys, latest, source] = await Promise.all([
    getTelemetry(deps.db, account.account_id),
    listKeys(deps.db, account.account_id),
    latestSession(deps.db, account.account_id),
    getSignalSource(deps.db, account.account_id),
  ]);
  return {
    ...accountView(account),
    telemetry: telemetry ? telemetryView(telemetry) : null,
    signalSource: source ? { rotatedAt: isoTime(source.rotated_at), rotatedBy: source.rotated_by } : null,
    keys: keys.map(keyView),
    latestSession: latest ? sessionView(latest) : null,
  };
}

/** Changes an account; disabling it ends its live sessions at once. */
export async function changeAccount(
  deps: AccountDeps,
  actor: string,
  accountId: string,
  patch: AccountPatchRequest,
) {
  return inTransaction(deps.db, async (tx) => {
    const now = deps.clock.now();
    const before = await getAccount(tx.trx, accountId);
    if (!before) throw new AppError('account_not_found');
    const after = await updateAccount(
      tx.trx,
      before.account_id,
      {
        ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
        ...(patch.platform !== undefined ? { platform: patch.platform } : {}),
        ...(patch.broker !== undefined ? { broker: patch.broker } : {}),
        ...(patch.server !== undefined ? { server: patch.server } : {}),
        ...(patch.currency !== undefined ? { currency: patch.currency } : {}),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...(patch.sessionPolicy !== undefined ? { session_policy: patch.sessionPolicy } : {}),
      },
      now,
    );
    if (patch.status === 'disabled' && before.status !== 'disabled') {
      for (const s of await liveSessionsOf(tx.trx, before.account_id))
        await endSession(deps, tx, s.session_id, 'account disabled', actor, 'disabled');
    }
    await appendAudit(
      tx.trx,
      {
        actor,
        action: 'account.update',
        targetType: 'account',
        targetId: before.account_id,
        before: accountView(before),
        after: accountView(after!),
      },
      now,
    );
    return accountView(after!);
  });
}

export async function accountKeys(deps: Pick<ManagementDeps, 'db'>, accountId: string) {
  if (!(await getAccount(deps.db, accountId))) throw new AppError('account_not_found');
  return (await listKeys(deps.db, accountId)).map(keyView);
}

/** Issues an approved pre-shared key; the key itself is returned this once and stored only as a hash. */
export async function issueKey(
  deps: AccountDeps,
  actor: string,
  accountId: string,
  req: { expiresAt?: string | null | undefined },
) {
  return inTransaction(deps.db, async ({ trx }) => {
    if (!(await getAccount(trx, accountId))) throw new AppError('account_not_found');
    const key = newAccountKey();
    const now = deps.clock.now();
    const row = await insertKey(
      trx,
      {
        accountId,
        fingerprint: keyFingerprint(accountId, key),
        keyHash: keyHash(deps.gateway.secret, accountId, key),
        status: 'approved',
        origin: 'operator',
        expiresAt: req.expiresAt ? Date.parse(req.expiresAt) : null,
        decidedBy: actor,
      },
      now,
    );
    await appendAudit(
      trx,
      { actor, action: 'key.issue', targetType: 'account', targetId: accountId, after: keyView(row) },
      now,
    );
    return { key, fingerprint: row.fingerprint, expiresAt: req.expiresAt ?? null };
  });
}

/** Revokes a key; every gateway ends the sessions that use it (AuthReject on the bus). */
export async function revokeKey(deps: AccountDeps, actor: string, accountId: string, fingerprint: string) {
  return inTransaction(deps.db, async ({ trx }) => {
    const key = await findKey(trx, accountId, fingerprint);
    if (!key) throw new AppError('key_not_found');
    const now = deps.clock.now();
    const after = await decideKey(
      trx,
      key.account_id,
      key.fingerprint,
      { status: 'rejected', by: actor, reason: 'revoked' },
      now,
    );
    const message: AuthReject = {
      type: 'AuthReject',
      accountId: key.account_id,
      authKeyFingerprint: key.fingerprint,
      reason: 'key revoked',
      rejectedBy: actor,
    };
    await deps.bus.publish(topics.authApprovals, message, { db: trx });
    await appendAudit(
      trx,
      {
        actor,
        action: 'key.revoke',
        targetType: 'account',
        targetId: key.account_id,
        before: keyView(key),
        after: keyView(after!),
      },
      now,
    );
    return keyView(after!);
  });
}
