/**
 * `POST /trade-agent/v1/sessions/{sessionId}/orders` — the management plane: an operator
 * queues a manual `order.command` for one live session, with an operator token (role operator
 * or admin). EA session tokens are refused (403).
 */
import {
  AppError,
  topics,
  type ManualOrderRequest,
  type ManualOrderResponse,
  isoTime,
} from '@kopitra/contracts';
import { accountChannel } from '../notify/notifier.js';
import { appendAudit } from './audit.js';
import { newId } from '../store/ids.js';
import { executionNoticesSince } from '../store/inbox.js';
import { enqueueOutbox, manualCommands } from '../store/outbox.js';
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
        occurredAt: isoTime(now),
      },
      { db: tx.trx },
    );
    await appendAudit(
      tx.trx,
      {
        actor: r.operator,
        action: 'order.manual',
        targetType: 'session',
        targetId: current.session_id,
        after: { commandId, accountId: current.account_id, ...r.request },
      },
      now,
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

/** What became of a manual order: queued, delivered to the terminal, acknowledged, then its outcome. */
type ManualOrderStatus = 'queued' | 'delivered' | 'acknowledged' | 'filled' | 'rejected' | 'failed';

/**
 * Manual orders, newest first: each queued `order.command` with its delivery, acknowledgement
 * and the outcome the terminal reported (`ea.execution_notice` carrying the command id).
 */
export async function listManualOrders(
  deps: Pick<ManagementDeps, 'db'>,
  filter: { accountId?: string | undefined; limit: number },
) {
  const commands = await manualCommands(deps.db, filter);
  if (commands.length === 0) return [];
  const notices = await executionNoticesSince(
    deps.db,
    [...new Set(commands.map((c) => c.account_id))],
    Math.min(...commands.map((c) => Number(c.occurred_at))),
  );
  const outcomes = new Map<string, { payload: Record<string, unknown>; receivedAt: number }>();
  for (const n of notices) {
    const payload = JSON.parse(n.payload) as Record<string, unknown>;
    if (typeof payload['commandId'] === 'string')
      outcomes.set(payload['commandId'], { payload, receivedAt: Number(n.received_at) });
  }
  return commands.map((c) => {
    const p = JSON.parse(c.payload) as Record<string, unknown>;
    const commandId = String(p['commandId'] ?? c.event_id);
    const outcome = outcomes.get(commandId);
    const reported = outcome?.payload['status'];
    const status: ManualOrderStatus =
      reported === 'filled' || reported === 'rejected' || reported === 'failed'
        ? reported
        : c.acked_at !== null
          ? 'acknowledged'
          : c.delivered_at !== null
            ? 'delivered'
            : 'queued';
    const field = <T>(k: string) => (p[k] ?? null) as T | null;
    return {
      commandId,
      accountId: c.account_id,
      sessionId: c.target_session_id,
      sequence: Number(c.sequence),
      requestedBy: field<string>('requestedBy'),
      action: field<string>('action'),
      symbol: field<string>('symbol'),
      side: field<string>('side'),
      volume: field<number>('volume'),
      sl: field<number>('sl'),
      tp: field<number>('tp'),
      ticket: (outcome?.payload['ticket'] as string | undefined) ?? field<string>('ticket'),
      status,
      message: (outcome?.payload['message'] as string | undefined) ?? null,
      queuedAt: isoTime(Number(c.occurred_at)),
      deliveredAt: c.delivered_at === null ? null : isoTime(Number(c.delivered_at)),
      acknowledgedAt: c.acked_at === null ? null : isoTime(Number(c.acked_at)),
      reportedAt: outcome ? isoTime(outcome.receivedAt) : null,
    };
  });
}
