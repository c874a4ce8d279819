/**
 * `POST /trade-agent/v1/sessions/{sessionId}/orders` — the management plane: an operator
 * queues a manual `order.command` for one live session, with an operator token (role operator
 * or admin). EA session tokens are refused (403).
 */
import { AppError, topics, type ManualOrderRequest, type ManualOrderResponse } from '@kopitra/contracts';
import { iso } from '../clock.js';
import { accountChannel } from '../notify/notifier.js';
import { newId } from '../store/ids.js';
import { enqueueOutbox } from '../store/outbox.js';
import { getSession } from '../store/sessions.js';
import { inTransaction } from '../store/transaction.js';
import type { GatewayDeps } from './deps.js';
import { remember, replayFor, requestHash, type Reply } from './idempotent.js';
import { verifySessionToken } from './secrets.js';
import { authenticateOperator, requireRole } from './operators.js';
import type { ManagementDeps } from './management-deps.js';

const ROUTE = 'POST /sessions/{sessionId}/orders';

/**
 * Resolves the caller to an operator allowed to trade (role operator or admin). EA session
 * tokens are refused with 403; anything that is not a valid operator token gets 401.
 */
export async function operatorOf(
  deps: GatewayDeps,
  operators: Pick<ManagementDeps, 'db' | 'clock' | 'tokenKey'>,
  authorization: string | undefined,
): Promise<string> {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!token) throw new AppError('unauthorized', 'An operator token is required.');
  if (verifySessionToken(deps.secret, token))
    throw new AppError('role_forbidden', 'EA session tokens may not queue manual orders.');
  const operator = await authenticateOperator(operators as ManagementDeps, authorization);
  requireRole(operator, 'operator');
  return operator.email;
}

export async function queueManualOrder(
  deps: GatewayDeps,
  r: { sessionId: string; operator: string; idempotencyKey: string; request: ManualOrderRequest },
): Promise<Reply<ManualOrderResponse>> {
  const session = await getSession(deps.db, r.sessionId);
  if (!session) throw new AppError('session_not_found', undefined, { sessionId: r.sessionId });
  return inTransaction(deps.db, async (tx) => {
    // Operator idempotency keys live beside the account's, namespaced so they never collide.
    const call = {
      scope: `operator:${session.account_id}`,
      key: r.idempotencyKey,
      route: ROUTE,
      requestHash: requestHash(deps.secret, { sessionId: r.sessionId, ...r.request }),
    };
    const replay = await replayFor(tx.trx, call);
    if (replay) return replay as Reply<ManualOrderResponse>;
    const now = deps.clock.now();
    const current = await getSession(tx.trx, r.sessionId);
    if (!current || current.status !== 'authenticated' || current.lease_expires_at <= now) {
      throw new AppError('session_not_live', undefined, {
        sessionId: r.sessionId,
        sessionStatus: current?.status,
      });
    }
    const commandId = newId('cmd');
    const event = await enqueueOutbox(
      tx.trx,
      {
        accountId: current.account_id,
        type: 'order.command',
        payload: { commandId, requestedBy: r.operator, ...r.request },
        targetSessionId: current.session_id,
      },
      now,
    );
    await deps.bus.publish(
      topics.tradeAgentEvents,
      {
        type: 'order.command_queued',
        commandId,
        accountId: current.account_id,
        sessionId: current.session_id,
        requestedBy: r.operator,
        command: r.request,
        occurredAt: iso(now),
      },
      { db: tx.trx },
    );
    await deps.notifier.notify(tx.trx, accountChannel(current.account_id));
    const reply: Reply<ManualOrderResponse> = {
      statusCode: 202,
      body: {
        commandId,
        sessionId: current.session_id,
        accountId: current.account_id,
        eventId: event.event_id,
        sequence: Number(event.sequence),
      },
    };
    await remember(tx.trx, call, reply, now);
    return reply;
  });
}
