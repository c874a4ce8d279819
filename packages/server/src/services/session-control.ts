/**
 * Operator decisions on terminal sessions: approve or reject a terminal's key, end a live
 * session. Decisions travel on `ea-auth-approvals`, so every running gateway applies them.
 */
import { AppError, topics, type AuthApproval, type AuthReject } from '@kopitra/contracts';
import type { PageInput } from '../store/pagination.js';
import { getSession, pageSessions, transitionSession } from '../store/sessions.js';
import { inTransaction, type Tx } from '../store/transaction.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { publishStateChange, queueShutdown } from './session-events.js';
import { sweepExpiredSessions } from './sessions.js';
import { sessionView } from './views.js';

type SessionDeps = Pick<ManagementDeps, 'db' | 'clock' | 'bus' | 'gateway'>;

/** Sessions newest first; lapsed leases are expired first, so a stale session never shows as live. */
export async function listSessions(
  deps: SessionDeps,
  input: PageInput & { status?: string | undefined; accountId?: string | undefined },
) {
  await sweepExpiredSessions(deps.gateway);
  return pageSessions(deps.db, input, sessionView);
}

/** Ends a pending or live session and queues the `session.shutdown` its EA collects. */
export async function endSession(
  deps: Pick<ManagementDeps, 'clock' | 'gateway'>,
  tx: Tx,
  sessionId: string,
  reason: string,
  actor: string,
  why: 'terminated' | 'disabled',
): Promise<boolean> {
  const before = await getSession(tx.trx, sessionId);
  const s = await transitionSession(
    tx.trx,
    sessionId,
    ['pending', 'authenticated'],
    'terminated',
    reason,
    deps.clock.now(),
  );
  if (!s || !before) return false;
  await queueShutdown(deps.gateway, tx, s.account_id, sessionId, {
    reason: why,
    message: reason,
    reconnectAfterSec: null,
  });
  await publishStateChange(deps.gateway, tx, {
    accountId: s.account_id,
    sessionId,
    from: before.status,
    to: 'terminated',
    reason,
    actor,
  });
  return true;
}

export async function terminateSession(deps: SessionDeps, actor: string, sessionId: string, reason: string) {
  return inTransaction(deps.db, async (tx) => {
    const session = await getSession(tx.trx, sessionId);
    if (!session) throw new AppError('session_not_found');
    if (!(await endSession(deps, tx, session.session_id, reason, actor, 'terminated')))
      throw new AppError('session_not_live', undefined, { sessionStatus: session.status });
    await appendAudit(
      tx.trx,
      {
        actor,
        action: 'session.terminate',
        targetType: 'session',
        targetId: session.session_id,
        before: sessionView(session),
        after: { status: 'terminated', reason },
      },
      deps.clock.now(),
    );
    return sessionView((await getSession(tx.trx, session.session_id))!);
  });
}

/** Approves (AuthApproval) or rejects (AuthReject) the key a session presented. */
export async function decideSession(
  deps: SessionDeps,
  actor: string,
  sessionId: string,
  d: { approve: true; expiresAt: string | null } | { approve: false; reason: string },
) {
  return inTransaction(deps.db, async ({ trx }) => {
    const session = await getSession(trx, sessionId);
    if (!session) throw new AppError('session_not_found');
    const message: AuthApproval | AuthReject = d.approve
      ? {
          type: 'AuthApproval',
          accountId: session.account_id,
          authKeyFingerprint: session.key_fingerprint,
          approvedBy: actor,
          expiresAt: d.expiresAt,
        }
      : {
          type: 'AuthReject',
          accountId: session.account_id,
          authKeyFingerprint: session.key_fingerprint,
          reason: d.reason,
          rejectedBy: actor,
        };
    const messageId = await deps.bus.publish(topics.authApprovals, message, { db: trx });
    await appendAudit(
      trx,
      {
        actor,
        action: d.approve ? 'session.approve' : 'session.reject',
        targetType: 'session',
        targetId: sessionId,
        before: sessionView(session),
        after: message,
      },
      deps.clock.now(),
    );
    return {
      sessionId,
      accountId: session.account_id,
      keyFingerprint: session.key_fingerprint,
      decision: message.type,
      messageId,
    };
  });
}
