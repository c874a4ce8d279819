/**
 * Reads of copy orders, position links and alerts for the management API's lists, the
 * replication analytics and the anomaly checks (the copy path's own reads are in copy.ts).
 */
import {
  isCopyOrderKind,
  isCopyOrderStatus,
  pendingOrderStatuses,
  positionStatuses,
  type PendingOrder,
  type Position,
} from '@kopitra/contracts';
import type { AlertRow, CopyOrderRow, LinkRow } from './copy.js';
import type { OrderLinkRow } from './order-links.js';
import { listNewestFirst, type PageInput } from './pagination.js';
import type { Db } from './schema.js';

export interface OrderFilter {
  status?: string | undefined;
  followerAccountId?: string | undefined;
  masterAccountId?: string | undefined;
  groupId?: string | undefined;
  kind?: string | undefined;
  /** The server's signal id (`sig_…`) or the master EA's own `signalId`. */
  signalId?: string | undefined;
  /** The master's deal ticket of the signal. */
  dealTicket?: string | undefined;
}

/** Copy orders newest first, one page at a time. */
export function pageOrders<V>(db: Db, input: PageInput & OrderFilter, view: (row: CopyOrderRow) => V) {
  const { status, kind } = input;
  // A status or kind that does not exist matches no order.
  if ((status && !isCopyOrderStatus(status)) || (kind && !isCopyOrderKind(kind)))
    return Promise.resolve({ items: [] as V[], nextCursor: null });
  let q = db.selectFrom('copy_orders').selectAll();
  if (status && isCopyOrderStatus(status)) q = q.where('status', '=', status);
  if (input.followerAccountId) q = q.where('follower_account_id', '=', input.followerAccountId);
  if (input.masterAccountId) q = q.where('master_account_id', '=', input.masterAccountId);
  if (input.groupId) q = q.where('group_id', '=', input.groupId);
  if (kind && isCopyOrderKind(kind)) q = q.where('kind', '=', kind);
  const signalId = input.signalId;
  if (signalId)
    q = q.where((eb) => eb.or([eb('signal_id', '=', signalId), eb('master_signal_id', '=', signalId)]));
  if (input.dealTicket) q = q.where('master_deal_ticket', '=', input.dealTicket);
  return listNewestFirst(
    q,
    { time: 'written_at', id: 'order_id', key: (r) => ({ t: r.written_at, id: r.order_id }) },
    input,
    view,
  );
}

export interface LinkFilter {
  status?: string | undefined;
  followerAccountId?: string | undefined;
  groupId?: string | undefined;
}

const isLinkStatus = (s: string): s is Position['status'] =>
  (positionStatuses as readonly string[]).includes(s);

/** Position links newest first by open time, one page at a time. */
export function pageLinks<V>(db: Db, input: PageInput & LinkFilter, view: (row: LinkRow) => V) {
  const { status } = input;
  // A status that does not exist matches no link.
  if (status && !isLinkStatus(status)) return Promise.resolve({ items: [] as V[], nextCursor: null });
  let q = db.selectFrom('position_links').selectAll();
  if (status && isLinkStatus(status)) q = q.where('status', '=', status);
  if (input.followerAccountId) q = q.where('follower_account_id', '=', input.followerAccountId);
  if (input.groupId) q = q.where('group_id', '=', input.groupId);
  // A link's open order id is unique among links: the tie-breaker for equal open times.
  return listNewestFirst(
    q,
    { time: 'opened_at', id: 'open_order_id', key: (r) => ({ t: r.opened_at, id: r.open_order_id }) },
    input,
    view,
  );
}

const isOrderLinkStatus = (s: string): s is PendingOrder['status'] =>
  (pendingOrderStatuses as readonly string[]).includes(s);

/** Order links (followers' copies of pending orders) newest first by placement, one page at a time. */
export function pageOrderLinks<V>(db: Db, input: PageInput & LinkFilter, view: (row: OrderLinkRow) => V) {
  const { status } = input;
  if (status && !isOrderLinkStatus(status)) return Promise.resolve({ items: [] as V[], nextCursor: null });
  let q = db.selectFrom('order_links').selectAll();
  if (status && isOrderLinkStatus(status)) q = q.where('status', '=', status);
  if (input.followerAccountId) q = q.where('follower_account_id', '=', input.followerAccountId);
  if (input.groupId) q = q.where('group_id', '=', input.groupId);
  // The placement's copy order id is unique among order links: the tie-breaker.
  return listNewestFirst(
    q,
    { time: 'created_at', id: 'place_order_id', key: (r) => ({ t: r.created_at, id: r.place_order_id }) },
    input,
    view,
  );
}

/** A follower's open links, in one group or all. */
export function openLinksOf(db: Db, followerAccountId: string, groupId?: string): Promise<LinkRow[]> {
  let q = db
    .selectFrom('position_links')
    .selectAll()
    .where('follower_account_id', '=', followerAccountId)
    .where('status', '=', 'open');
  if (groupId) q = q.where('group_id', '=', groupId);
  return q.execute();
}

/** Alerts newest first; `open` true for unacknowledged ones only, false for acknowledged ones. */
export function pageAlerts<V>(
  db: Db,
  input: PageInput & { open?: boolean | undefined },
  view: (row: AlertRow) => V,
) {
  let q = db.selectFrom('alerts').selectAll();
  if (input.open === true) q = q.where('acked_at', 'is', null);
  if (input.open === false) q = q.where('acked_at', 'is not', null);
  return listNewestFirst(
    q,
    { time: 'created_at', id: 'alert_id', key: (r) => ({ t: r.created_at, id: r.alert_id }) },
    input,
    view,
  );
}

export const getAlert = (db: Db, alertId: string): Promise<AlertRow | undefined> =>
  db.selectFrom('alerts').selectAll().where('alert_id', '=', alertId).executeTakeFirst();

export const ackAlertRow = (db: Db, alertId: string, by: string, now: number): Promise<AlertRow> =>
  db
    .updateTable('alerts')
    .set({ acked_at: now, acked_by: by })
    .where('alert_id', '=', alertId)
    .returningAll()
    .executeTakeFirstOrThrow();

/** Copy orders of a follower rejected or failed since `since`. */
export async function failedOrderCount(db: Db, followerAccountId: string, since: number): Promise<number> {
  const rows = await db
    .selectFrom('copy_orders')
    .select('order_id')
    .where('follower_account_id', '=', followerAccountId)
    .where('status', 'in', ['rejected', 'failed'])
    .where('updated_at', '>=', since)
    .execute();
  return rows.length;
}

/** Signal-to-report latencies of the last `limit` filled copy orders, ascending. */
export async function recentFillLatencies(db: Db, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('copy_orders')
    .select(['signal_received_at', 'reported_at'])
    .where('status', '=', 'filled')
    .where('reported_at', 'is not', null)
    .orderBy('reported_at', 'desc')
    .limit(limit)
    .execute();
  return rows
    .filter((r) => r.signal_received_at !== null && r.reported_at !== null)
    .map((r) => r.reported_at! - r.signal_received_at!)
    .sort((a, b) => a - b);
}

/** The followers of a master in its active groups, with their last heartbeat. */
export async function followersWithHeartbeat(
  db: Db,
  masterAccountId: string,
): Promise<Array<{ follower_account_id: string; group_id: string; last_heartbeat_at: number | null }>> {
  return db
    .selectFrom('subscriptions as s')
    .innerJoin('copy_groups as g', 'g.group_id', 's.group_id')
    .leftJoin('account_telemetry as t', 't.account_id', 's.follower_account_id')
    .select(['s.follower_account_id', 's.group_id', 't.last_heartbeat_at'])
    .where('g.master_account_id', '=', masterAccountId)
    .where('g.status', '=', 'active')
    .execute();
}

/** The copy orders written since `since`, optionally of one follower or one group (analytics). */
export async function ordersWrittenSince(
  db: Db,
  since: number,
  scope: { followerAccountId?: string; groupId?: string },
) {
  let q = db
    .selectFrom('copy_orders')
    .select([
      'status',
      'kind',
      'written_at',
      'signal_received_at',
      'delivered_at',
      'acknowledged_at',
      'executed_at',
      'reported_at',
      'master_deal_at',
      'slippage_points',
      'slippage_amount',
      'profit',
    ])
    .where('written_at', '>=', since);
  if (scope.followerAccountId) q = q.where('follower_account_id', '=', scope.followerAccountId);
  if (scope.groupId) q = q.where('group_id', '=', scope.groupId);
  return q.execute();
}
