/**
 * The follower's own pending order filled (`ea.execution_notice` with `action:
 * "order_filled"`, `orderId` the placement's copy order, `ticket` the position): the order link
 * is done and a position link takes over, so the master's later modifications and closes
 * address the follower's position. When the master's side had already ended — its order
 * cancelled or expired unfilled, or the position it became closed — before this fill was
 * told, the new position copies nothing and is closed at once.
 */
import { accountChannel } from '../../notify/notifier.js';
import { getLink, getOrder, lockMaster, upsertLinks } from '../../store/copy.js';
import { masterHolds } from '../../store/master-positions.js';
import { getOrderLink, updateOrderLink } from '../../store/order-links.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { queueOrder } from './issued.js';

export const ORDER_FILLED = 'order_filled';

export async function followerOrderFilled(
  deps: GatewayDeps,
  db: Db,
  accountId: string,
  notice: { orderId?: string | undefined; ticket?: string | undefined; volume?: number | undefined },
  now: number,
): Promise<void> {
  if (!notice.orderId || !notice.ticket) return;
  const placement = await getOrder(db, notice.orderId);
  if (!placement || placement.follower_account_id !== accountId || placement.kind !== 'place_order') return;
  // The master's signal lock first, in the fan-out's lock order: a close of the position the
  // master's order became, fanned out meanwhile, found no position link here to close (the copy
  // was still an order) and skipped this follower; this fill must see that close, and close what
  // it opened, rather than link an open copy of a position the master no longer holds.
  if (deps.dialect === 'postgres') await lockMaster(db, placement.master_account_id);
  const key = {
    groupId: placement.group_id,
    followerAccountId: accountId,
    masterOrderId: placement.master_position_id,
  };
  // Locked against a master signal on the same order: a cancel decided meanwhile is seen here
  // (and the fill closed), or this fill is seen by the cancel (and closed there), never neither.
  const link = await getOrderLink(db, key, deps.dialect === 'postgres');
  if (!link || link.place_order_id !== placement.order_id || link.status === 'filled') return;
  await updateOrderLink(db, key, { status: 'filled', position_ticket: notice.ticket, updated_at: now });
  // MT4 and MT5 give the position its order's ticket on the master; the fill signal says when not.
  const masterPositionId = link.master_position_id ?? link.master_order_id;
  // A market open that replaced this order already holds the position link.
  if (await getLink(db, link.group_id, accountId, masterPositionId)) return;
  const ended =
    link.status === 'cancelled' ||
    link.status === 'expired' ||
    (link.master_position_id !== null && !(await masterHolds(db, link.master_account_id, masterPositionId)));
  const volume = notice.volume ?? link.volume;
  await upsertLinks(db, [
    {
      group_id: link.group_id,
      follower_account_id: accountId,
      master_account_id: link.master_account_id,
      master_position_id: masterPositionId,
      symbol: link.symbol,
      side: link.side,
      ticket: notice.ticket,
      open_volume: volume,
      master_volume: link.master_volume,
      position_count: 1,
      sl: link.sl,
      tp: link.tp,
      master_price: link.price,
      signal_at: link.signal_at,
      status: ended ? 'closing' : 'open',
      open_order_id: link.place_order_id,
      linked_at: now,
      opened_at: now,
      closed_at: null,
      updated_at: now,
    },
  ]);
  if (!ended) return;
  await queueOrder(
    deps,
    db,
    { groupId: link.group_id, masterAccountId: link.master_account_id, followerAccountId: accountId },
    {
      action: 'close',
      masterPositionId,
      ticket: notice.ticket,
      symbol: link.symbol,
      side: link.side,
      volume,
      reason: 'order_fill_unmatched',
      detail: `the follower's copy of master order ${link.master_order_id} filled as ticket ${notice.ticket} after the master's ${link.master_position_id === null ? 'order ended unfilled' : 'position closed'}`,
    },
    now,
  );
  await deps.notifier.notify(db, accountChannel(accountId));
}
