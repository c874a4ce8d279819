/**
 * The follower's copies of the master's pending orders (`order_links`). Repositories take
 * `db` (or a transaction) first, as the other stores do.
 */
import type { Db, OrderLinksTable } from './schema.js';

export type OrderLinkRow = OrderLinksTable;

export interface OrderLinkKey {
  readonly groupId: string;
  readonly followerAccountId: string;
  readonly masterOrderId: string;
}

/** Every subscription's copy of one master order; locked for the fan-out on PostgreSQL. */
export async function linksForMasterOrder(
  db: Db,
  masterAccountId: string,
  masterOrderId: string,
  lock = false,
): Promise<OrderLinkRow[]> {
  const q = db
    .selectFrom('order_links')
    .selectAll()
    .where('master_account_id', '=', masterAccountId)
    .where('master_order_id', '=', masterOrderId);
  return (lock ? q.forUpdate() : q).execute();
}

/** One copy; `lock` (PostgreSQL) holds it against a master signal deciding on it concurrently. */
export async function getOrderLink(
  db: Db,
  key: OrderLinkKey,
  lock = false,
): Promise<OrderLinkRow | undefined> {
  const q = db
    .selectFrom('order_links')
    .selectAll()
    .where('group_id', '=', key.groupId)
    .where('follower_account_id', '=', key.followerAccountId)
    .where('master_order_id', '=', key.masterOrderId);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

export async function upsertOrderLinks(db: Db, rows: OrderLinkRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    await db
      .insertInto('order_links')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) =>
        oc.columns(['group_id', 'follower_account_id', 'master_order_id']).doUpdateSet((eb) => ({
          master_position_id: eb.ref('excluded.master_position_id'),
          symbol: eb.ref('excluded.symbol'),
          side: eb.ref('excluded.side'),
          order_type: eb.ref('excluded.order_type'),
          volume: eb.ref('excluded.volume'),
          master_volume: eb.ref('excluded.master_volume'),
          price: eb.ref('excluded.price'),
          stop_limit_price: eb.ref('excluded.stop_limit_price'),
          sl: eb.ref('excluded.sl'),
          tp: eb.ref('excluded.tp'),
          order_expires_at: eb.ref('excluded.order_expires_at'),
          ticket: eb.ref('excluded.ticket'),
          position_ticket: eb.ref('excluded.position_ticket'),
          status: eb.ref('excluded.status'),
          place_order_id: eb.ref('excluded.place_order_id'),
          signal_at: eb.ref('excluded.signal_at'),
          linked_at: eb.ref('excluded.linked_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

export async function updateOrderLink(
  db: Db,
  key: OrderLinkKey,
  patch: Partial<OrderLinkRow>,
): Promise<void> {
  await db
    .updateTable('order_links')
    .set(patch)
    .where('group_id', '=', key.groupId)
    .where('follower_account_id', '=', key.followerAccountId)
    .where('master_order_id', '=', key.masterOrderId)
    .execute();
}

/** A follower's order links that are pending, or changed since `since`, for reconciliation. */
export async function orderLinksOfFollower(
  db: Db,
  followerAccountId: string,
  since: number,
): Promise<OrderLinkRow[]> {
  return db
    .selectFrom('order_links')
    .selectAll()
    .where('follower_account_id', '=', followerAccountId)
    .where((eb) => eb.or([eb('status', '=', 'pending'), eb('updated_at', '>=', since)]))
    .execute();
}
