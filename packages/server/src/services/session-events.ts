import { topics, type SessionShutdownPayload, type SessionStateChanged, isoTime } from '@kopitra/contracts';
import type { Tx } from '../store/transaction.js';
import { enqueueOutbox } from '../store/outbox.js';
import { accountChannel } from '../notify/notifier.js';
import type { GatewayDeps } from './deps.js';

/** Publishes a session state change on `trade-agent-events`, in the transaction that made it. */
export async function publishStateChange(
  deps: GatewayDeps,
  tx: Tx,
  c: { accountId: string; sessionId: string; from: string | null; to: string; reason: string; actor: string },
): Promise<void> {
  const now = deps.clock.now();
  const message: SessionStateChanged = { type: 'session.state_changed', ...c, occurredAt: isoTime(now) };
  await deps.bus.publish(topics.tradeAgentEvents, message, { db: tx.trx });
  deps.logger.info(
    {
      accountId: c.accountId,
      sessionId: c.sessionId,
      from: c.from,
      to: c.to,
      reason: c.reason,
      actor: c.actor,
    },
    'session state changed',
  );
}

/** Queues `session.shutdown` for a session that just ended, so its EA learns why on its next poll. */
export async function queueShutdown(
  deps: GatewayDeps,
  tx: Tx,
  accountId: string,
  sessionId: string,
  payload: SessionShutdownPayload,
): Promise<void> {
  await enqueueOutbox(
    tx.trx,
    { accountId, type: 'session.shutdown', payload: { ...payload }, targetSessionId: sessionId },
    deps.clock.now(),
  );
  await deps.notifier.notify(tx.trx, accountChannel(accountId));
}

export async function queueInitAck(
  deps: GatewayDeps,
  tx: Tx,
  s: { accountId: string; sessionId: string; role: string },
): Promise<void> {
  await enqueueOutbox(
    tx.trx,
    {
      accountId: s.accountId,
      type: 'session.init_ack',
      payload: {
        sessionId: s.sessionId,
        accountId: s.accountId,
        role: s.role,
        heartbeatIntervalSec: deps.heartbeatIntervalSec,
        // Followers need their symbol specs for sizing and their book for reconciliation.
        symbolCatalogRequested: s.role === 'follower',
        syncSnapshotRequested: s.role === 'follower',
      },
      targetSessionId: s.sessionId,
    },
    deps.clock.now(),
  );
  await deps.notifier.notify(tx.trx, accountChannel(s.accountId));
}
