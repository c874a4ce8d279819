import { sql } from 'kysely';
/**
 * Opens that a follower could not receive while they were fresh expire instead of being
 * executed late: the copy order says why, the link is marked, and the event leaves the outbox.
 */
import { describeReason } from '@kopitra/engine';
import type { CopyOrderRow } from '../../store/copy.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { publishOrderUpdate } from './order-events.js';

export async function expireOpens(
  deps: GatewayDeps,
  db: Db,
  orders: CopyOrderRow[],
  now: number,
): Promise<number> {
  let expired = 0;
  for (const o of orders) {
    const updated = await db
      .updateTable('copy_orders')
      .set({
        status: 'expired',
        reason: 'signal_too_old',
        detail: `${describeReason('signal_too_old')} Expired ${Math.round((now - (o.expires_at ?? now)) / 1000)} s before delivery.`,
        updated_at: now,
      })
      .where('order_id', '=', o.order_id)
      .where('status', 'in', ['queued', 'delivered'])
      .returningAll()
      .executeTakeFirst();
    if (!updated) continue;
    expired++;
    if (o.outbox_event_id) {
      await db
        .updateTable('outbox_events')
        .set({ acked_at: now, acked_by_session: 'gateway:expired' })
        .where('event_id', '=', o.outbox_event_id)
        .where('acked_at', 'is', null)
        .execute();
    }
    await db
      .updateTable('position_links')
      .set({ status: 'expired', updated_at: now })
      .where('group_id', '=', o.group_id)
      .where('follower_account_id', '=', o.follower_account_id)
      .where('master_position_id', '=', o.master_position_id)
      .where('open_order_id', '=', o.order_id)
      .where('ticket', 'is', null)
      .execute();
    await publishOrderUpdate(deps, db, updated);
  }
  return expired;
}

/** Opens still waiting in an outbox after their expiry (followers offline). */
export async function staleOpens(
  db: Db,
  now: number,
  accountId?: string,
  limit = 500,
): Promise<CopyOrderRow[]> {
  // Literal predicate, the same text as the partial index copy_orders_waiting_opens, so both
  // SQLite and PostgreSQL can use it.
  let q = db
    .selectFrom('copy_orders')
    .selectAll()
    .where(sql<boolean>`kind = 'open' and status in ('queued', 'delivered')`)
    .where('expires_at', '<', now);
  if (accountId) q = q.where('follower_account_id', '=', accountId);
  return q.limit(limit).execute();
}
