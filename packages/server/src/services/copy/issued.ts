/**
 * Orders and alerts that the gateway issues by itself (reconciliation, risk limits, joins,
 * operator tasks), each with its copy order or alert row, outbox event and bus message.
 */
import { topics, type AlertRaised, isoTime } from '@kopitra/contracts';
import type { CopyDecision, OrderDecision } from '@kopitra/engine';
import { insertOrders, NOT_YET_EXECUTED, raiseAlert, type CopyOrderRow } from '../../store/copy.js';
import { newId } from '../../store/ids.js';
import { enqueueOutbox } from '../../store/outbox.js';
import type { Db } from '../../store/schema.js';
import { storedContext } from '../../telemetry/tracing.js';
import type { GatewayDeps } from '../deps.js';
import { publishOrderUpdate } from './order-events.js';
import { outboxPayloadFor } from './payloads.js';

export type Scope = { groupId: string; masterAccountId: string; followerAccountId: string };

export async function queueOrder(
  deps: GatewayDeps,
  db: Db,
  scope: Scope,
  d: Exclude<CopyDecision | OrderDecision, { action: 'skip' }>,
  now: number,
  origin: 'reconcile' | 'join' = 'reconcile',
): Promise<string> {
  const orderId = newId('ord');
  // A correction has no signal: its steps join whatever trace issued it (none for the periodic pass).
  const traceContext = storedContext(deps.tracing);
  const event = await enqueueOutbox(
    db,
    {
      accountId: scope.followerAccountId,
      traceContext,
      ...outboxPayloadFor(d, { orderId, masterAccountId: scope.masterAccountId, groupId: scope.groupId }),
    },
    now,
  );
  const order: CopyOrderRow = {
    order_id: orderId,
    signal_id: null,
    master_signal_id: null,
    master_deal_ticket: null,
    group_id: scope.groupId,
    follower_account_id: scope.followerAccountId,
    master_account_id: scope.masterAccountId,
    // Pending-order corrections name the master order.
    master_position_id: 'masterPositionId' in d ? d.masterPositionId : d.masterOrderId,
    kind: d.action,
    origin,
    status: 'queued',
    reason: 'reason' in d ? (d.reason ?? null) : null,
    detail: 'detail' in d ? (d.detail ?? null) : null,
    symbol: d.symbol,
    side: d.side,
    volume: d.action === 'modify' ? null : d.volume,
    sl: d.action === 'open' || d.action === 'place_order' ? d.sl : null,
    tp: d.action === 'open' || d.action === 'place_order' ? d.tp : null,
    master_price: d.action === 'open' ? d.masterPrice : d.action === 'place_order' ? d.price : null,
    ticket: d.action === 'open' || d.action === 'place_order' ? null : d.ticket,
    ...NOT_YET_EXECUTED,
    outbox_event_id: event.event_id,
    master_deal_at: null,
    signal_received_at: null,
    written_at: now,
    expires_at: d.action === 'open' || d.action === 'place_order' ? d.expiresAt : null,
    updated_at: now,
    trace_context: traceContext,
  };
  await insertOrders(db, [order]);
  await publishOrderUpdate(deps, db, order);
  return orderId;
}

/** Raises an operator alert once (until acknowledged) and tells the follower's EA. */
export async function alert(
  deps: GatewayDeps,
  db: Db,
  scope: Scope,
  code: string,
  message: string,
  masterPositionId: string | null,
  now: number,
): Promise<boolean> {
  const row = await raiseAlert(
    db,
    {
      accountId: scope.followerAccountId,
      groupId: scope.groupId,
      code,
      severity: 'warning',
      message,
      dedupeKey: `${scope.groupId}:${scope.followerAccountId}:${masterPositionId ?? '-'}:${code}`,
      details: { masterPositionId },
    },
    now,
  );
  if (!row) return false;
  await enqueueOutbox(
    db,
    {
      accountId: scope.followerAccountId,
      type: 'error.alert',
      payload: { alertId: row.alert_id, code, message, masterPositionId },
    },
    now,
  );
  const raised: AlertRaised = {
    type: 'alert.raised',
    alertId: row.alert_id,
    accountId: row.account_id,
    groupId: row.group_id,
    code,
    severity: 'warning',
    message,
    occurredAt: isoTime(now),
  };
  await deps.bus.publish(topics.tradeAgentEvents, raised, { db });
  return true;
}
