/**
 * The management side's consumer of `trade-agent-events`: session state changes and refused
 * attempts go to the audit log, idempotently by bus message id; order and signal events
 * enqueue their anomaly check (a claimed `anomaly.check` job, see anomalies.ts).
 */
import { TradeAgentEvent } from '@kopitra/contracts';
import type { BusMessage, HandlerContext } from '../bus/bus.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { enqueueAnomalyCheck } from './anomalies.js';

export function tradeAgentEventHandler(deps: ManagementDeps) {
  return async (message: BusMessage, ctx: HandlerContext) => {
    const parsed = TradeAgentEvent.safeParse(message.body);
    if (!parsed.success) return;
    const e = parsed.data;
    const at = Date.parse(e.occurredAt);
    switch (e.type) {
      case 'session.state_changed':
        await appendAudit(
          ctx.db,
          {
            actor: e.actor,
            action: `session.${e.to}`,
            targetType: 'session',
            targetId: e.sessionId,
            before: { status: e.from },
            after: { status: e.to, reason: e.reason, accountId: e.accountId },
            messageId: message.messageId,
          },
          at,
        );
        return;
      case 'session.forbidden_attempt':
        await appendAudit(
          ctx.db,
          {
            actor: `terminal:${e.accountId}`,
            action: 'session.forbidden_attempt',
            targetType: 'session',
            targetId: e.sessionId,
            after: { attempted: e.attempted, reason: e.reason },
            messageId: message.messageId,
          },
          at,
        );
        return;
      case 'copy_order.updated':
      case 'signal.accepted':
        await enqueueAnomalyCheck(deps, ctx.db, message.messageId, e);
        return;
      case 'alert.raised':
        await appendAudit(
          ctx.db,
          {
            actor: 'gateway',
            action: 'alert.raised',
            targetType: 'alert',
            targetId: e.alertId,
            after: { code: e.code, accountId: e.accountId, message: e.message },
            messageId: message.messageId,
          },
          at,
        );
        return;
      default:
        return;
    }
  };
}
