/**
 * The follower's own pending order filled (`ea.execution_notice` with `action:
 * "order_filled"`, `orderId` the placement's copy order, `ticket` the position): the order link
 * is done and a position link takes over, so the master's later modifications and closes
 * address the follower's position.
 */
import { getLink, getOrder, upsertLinks } from '../../store/copy.js';
import { getOrderLink, updateOrderLink } from '../../store/order-links.js';
import type { Db } from '../../store/schema.js';

export const ORDER_FILLED = 'order_filled';

export async function followerOrderFilled(
  db: Db,
  accountId: string,
  notice: { orderId?: string | undefined; ticket?: string | undefined; volume?: number | undefined },
  now: number,
): Promise<void> {
  if (!notice.orderId || !notice.ticket) return;
  const placement = await getOrder(db, notice.orderId);
  if (!placement || placement.follower_account_id !== accountId || placement.kind !== 'place_order') return;
  const key = {
    groupId: placement.group_id,
    followerAccountId: accountId,
    masterOrderId: placement.master_position_id,
  };
  const link = await getOrderLink(db, key);
  if (!link || link.place_order_id !== placement.order_id || link.status === 'filled') return;
  await updateOrderLink(db, key, { status: 'filled', position_ticket: notice.ticket, updated_at: now });
  // MT4 and MT5 give the position its order's ticket on the master; the fill signal says when not.
  const masterPositionId = link.master_position_id ?? link.master_order_id;
  // A market open that replaced this order already holds the position link.
  if (await getLink(db, link.group_id, accountId, masterPositionId)) return;
  await upsertLinks(db, [
    {
      group_id: link.group_id,
      follower_account_id: accountId,
      master_account_id: link.master_account_id,
      master_position_id: masterPositionId,
      symbol: link.symbol,
      side: link.side,
      ticket: notice.ticket,
      open_volume: notice.volume ?? link.volume,
      master_volume: link.master_volume,
      sl: link.sl,
      tp: link.tp,
      master_price: link.price,
      signal_at: link.signal_at,
      status: 'open',
      open_order_id: link.place_order_id,
      linked_at: now,
      opened_at: now,
      closed_at: null,
      updated_at: now,
    },
  ]);
}
