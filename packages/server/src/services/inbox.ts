/** Receiving EA inbox batches: acknowledgements and telemetry, stored and published before the 202. */
import { followerOrderFilled, ORDER_FILLED } from './copy/order-fills.js';
import {
  AppError,
  pendingAllowedTelemetry,
  topics,
  type EaInboxForwarded,
  type InboxRequest,
  type InboxResponse,
  type SessionForbiddenAttempt,
  type TelemetryEvent,
  isoTime,
} from '@kopitra/contracts';
import { relinkTicket } from '../store/copy.js';
import { ackOutbox } from '../store/outbox.js';
import { storeTelemetry } from '../store/inbox.js';
import { inTransaction } from '../store/transaction.js';
import type { GatewayDeps } from './deps.js';
import { evaluateRisk } from './copy/risk.js';
import { traceAck } from './outbox.js';
import { assertPendingQuota } from './pending-limits.js';
import { remember, replayFor, requestHash, type Reply } from './idempotent.js';
import type { SessionContext } from './sessions.js';

const INBOX_ROUTE = 'POST /sessions/current/inbox';

export async function receiveInbox(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
  request: InboxRequest,
): Promise<Reply<InboxResponse>> {
  const { session } = ctx;
  const accountId = session.account_id;
  if (session.status === 'pending') {
    const forbidden = request.events.find(
      (e) => e.eventType !== 'OutboxAck' && !pendingAllowedTelemetry.includes(e.eventType),
    );
    if (forbidden) {
      await logForbiddenAttempt(deps, ctx, forbidden.eventType, 'session pending approval');
      throw new AppError(
        'session_pending',
        `A pending session may only send ${pendingAllowedTelemetry.join(', ')}; ${forbidden.eventType} was refused.`,
      );
    }
  }
  if (ctx.ended && request.events.some((e) => e.eventType !== 'OutboxAck')) {
    throw new AppError('session_terminated', 'An ended session may only acknowledge its shutdown.');
  }
  const call = {
    scope: accountId,
    key: idempotencyKey,
    route: INBOX_ROUTE,
    requestHash: requestHash(deps.secret, request),
  };
  return inTransaction(deps.db, async (tx) => {
    const replay = await replayFor(tx.trx, call);
    if (replay) return replay as Reply<InboxResponse>;
    if (session.status === 'pending')
      await assertPendingQuota(
        deps,
        tx,
        accountId,
        request.events.filter((e): e is TelemetryEvent => e.eventType !== 'OutboxAck'),
      );
    const now = deps.clock.now();
    let accepted = 0;
    let acked = 0;
    const refused: InboxResponse['refused'] = [];
    for (const [index, event] of request.events.entries()) {
      if (event.eventType === 'OutboxAck') {
        const result = await ackOutbox(
          tx.trx,
          {
            accountId,
            sessionId: session.session_id,
            eventId: event.eventId,
            sequence: event.sequence,
            onlyTargeted: ctx.ended,
          },
          now,
        );
        if (result === 'acked')
          await traceAck(deps, tx, { accountId, eventId: event.eventId, channel: 'inbox' });
        if (result === 'acked' || result === 'already_acked') acked++;
        else refused.push({ index, eventType: event.eventType, reason: result });
        continue;
      }
      const stored = await storeTelemetry(tx.trx, { accountId, sessionId: session.session_id, event }, now);
      if (event.eventType === 'ea.heartbeat') {
        await evaluateRisk(
          deps,
          tx.trx,
          accountId,
          { balance: event.payload.balance, equity: event.payload.equity },
          stored.serverUtcOffsetSec,
          now,
        );
      }
      if (event.eventType === 'ea.execution_notice' && event.payload.action === ORDER_FILLED)
        await followerOrderFilled(deps, tx.trx, accountId, event.payload, now);
      if (event.eventType === 'ea.execution_notice' && event.payload.previousTicket && event.payload.ticket) {
        // MT4 gives the rest of a partially closed position a new ticket; links follow it.
        await relinkTicket(tx.trx, accountId, event.payload.previousTicket, event.payload.ticket, now);
      }
      const forwarded: EaInboxForwarded = {
        type: 'ea.inbox',
        accountId,
        sessionId: session.session_id,
        inboxEventId: stored.inboxEventId,
        eventType: event.eventType,
        occurredAt: isoTime(stored.occurredAt),
        receivedAt: isoTime(now),
        payload: event.payload,
      };
      await deps.bus.publish(topics.tradeAgentEvents, forwarded, {
        db: tx.trx,
        messageId: stored.inboxEventId,
      });
      accepted++;
    }
    const reply: Reply<InboxResponse> = { statusCode: 202, body: { accepted, acked, refused } };
    await remember(tx.trx, call, reply, now);
    return reply;
  });
}

/** Operators see what a pending terminal tried to do: logged and published for the audit trail. */
export async function logForbiddenAttempt(
  deps: GatewayDeps,
  ctx: SessionContext,
  attempted: string,
  reason: string,
): Promise<void> {
  const message: SessionForbiddenAttempt = {
    type: 'session.forbidden_attempt',
    accountId: ctx.session.account_id,
    sessionId: ctx.session.session_id,
    attempted,
    reason,
    occurredAt: isoTime(deps.clock.now()),
  };
  deps.logger.warn(
    { accountId: message.accountId, sessionId: message.sessionId, attempted, reason },
    'forbidden attempt by session',
  );
  await deps.bus.publish(topics.tradeAgentEvents, message);
}
