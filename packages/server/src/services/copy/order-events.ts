import { topics, type CopyOrderUpdated, isoTime } from '@kopitra/contracts';
import type { CopyOrderRow } from '../../store/copy.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';

/** Tells the management side (audit, live stream, webhooks) that a copy order moved. */
export async function publishOrderUpdate(deps: GatewayDeps, db: Db, o: CopyOrderRow): Promise<void> {
  const message: CopyOrderUpdated = {
    type: 'copy_order.updated',
    orderId: o.order_id,
    groupId: o.group_id,
    followerAccountId: o.follower_account_id,
    masterAccountId: o.master_account_id,
    masterPositionId: o.master_position_id,
    kind: o.kind,
    status: o.status,
    reason: o.reason,
    ticket: o.ticket,
    occurredAt: isoTime(deps.clock.now()),
  };
  await deps.bus.publish(topics.tradeAgentEvents, message, { db });
}
