/** Copy groups, subscriptions, signals, copy orders, position links and alerts. */
import { sql } from 'kysely';
import type { FailedOrderStatus, ReasonCode, SubscriptionInput } from '@kopitra/engine';
import type {
  AlertsTable,
  CopyGroupsTable,
  CopyOrdersTable,
  Db,
  PositionLinksTable,
  SignalsTable,
} from './schema.js';
import { columnsOf, insertMany, type BulkInsert } from './bulk.js';
import { newId } from './ids.js';

export type GroupRow = CopyGroupsTable;
export type SignalRow = SignalsTable;
export type CopyOrderRow = CopyOrdersTable;

/** The fields of a copy order that only its delivery, acknowledgement and execution fill in. */
export const NOT_YET_EXECUTED = {
  fill_price: null,
  filled_volume: null,
  slippage_points: null,
  slippage_amount: null,
  profit: null,
  error_code: null,
  message: null,
  delivered_at: null,
  acknowledged_at: null,
  executed_at: null,
  reported_at: null,
} as const satisfies Partial<CopyOrderRow>;
export type LinkRow = PositionLinksTable;
export type AlertRow = AlertsTable;

// --- groups and subscriptions ----------------------------------------------------------

export async function insertGroup(
  db: Db,
  g: { name: string; masterAccountId: string; groupId?: string },
  now: number,
): Promise<GroupRow> {
  return db
    .insertInto('copy_groups')
    .values({
      group_id: g.groupId ?? newId('grp'),
      name: g.name,
      master_account_id: g.masterAccountId,
      status: 'active',
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getGroup(db: Db, groupId: string): Promise<GroupRow | undefined> {
  return db.selectFrom('copy_groups').selectAll().where('group_id', '=', groupId).executeTakeFirst();
}

export async function putSubscription(
  db: Db,
  s: { groupId: string; followerAccountId: string; settings: SubscriptionInput },
  now: number,
): Promise<void> {
  const settings = JSON.stringify(s.settings);
  await db
    .insertInto('subscriptions')
    .values({
      group_id: s.groupId,
      follower_account_id: s.followerAccountId,
      settings,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['group_id', 'follower_account_id']).doUpdateSet({ settings, updated_at: now }),
    )
    .execute();
}

/** Every group newest first, with its followers. */
export async function listGroupsWithFollowers(db: Db) {
  const groups = await db.selectFrom('copy_groups').selectAll().orderBy('created_at', 'desc').execute();
  const subs = await db
    .selectFrom('subscriptions')
    .select(['group_id', 'follower_account_id', 'settings', 'created_at', 'updated_at'])
    .execute();
  return groups.map((g) => ({ group: g, followers: subs.filter((x) => x.group_id === g.group_id) }));
}

export const followersOf = (db: Db, groupId: string) =>
  db
    .selectFrom('subscriptions')
    .select(['follower_account_id', 'settings', 'created_at', 'updated_at'])
    .where('group_id', '=', groupId)
    .orderBy('created_at')
    .execute();

export async function updateGroup(
  db: Db,
  groupId: string,
  patch: { name?: string | undefined; status?: 'active' | 'paused' | undefined },
  now: number,
): Promise<GroupRow> {
  return db
    .updateTable('copy_groups')
    .set({
      ...(patch.name ? { name: patch.name } : {}),
      ...(patch.status ? { status: patch.status } : {}),
      updated_at: now,
    })
    .where('group_id', '=', groupId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes a group with its subscriptions (copied positions and their links stay). */
export async function deleteGroup(db: Db, groupId: string): Promise<void> {
  await db.deleteFrom('subscriptions').where('group_id', '=', groupId).execute();
  await db.deleteFrom('copy_groups').where('group_id', '=', groupId).execute();
}

export async function getSubscriptionSettings(
  db: Db,
  groupId: string,
  followerAccountId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('subscriptions')
    .select('settings')
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .executeTakeFirst();
  return row?.settings;
}

export async function deleteSubscription(db: Db, groupId: string, followerAccountId: string): Promise<void> {
  await db
    .deleteFrom('subscriptions')
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .execute();
}

export interface SubscriptionRow {
  group_id: string;
  follower_account_id: string;
  settings: string;
}

/** Subscriptions to the master's active groups. */
/**
 * The master's active subscriptions in fan-out order (group, then follower); with `page`, at
 * most `limit` of them after the cursor `after`.
 */
export async function subscriptionsOfMaster(
  db: Db,
  masterAccountId: string,
  page?: { after: { groupId: string; followerAccountId: string } | null; limit: number },
): Promise<SubscriptionRow[]> {
  let q = db
    .selectFrom('subscriptions as s')
    .innerJoin('copy_groups as g', 'g.group_id', 's.group_id')
    .select(['s.group_id', 's.follower_account_id', 's.settings'])
    .where('g.master_account_id', '=', masterAccountId)
    .where('g.status', '=', 'active')
    .orderBy('s.group_id')
    .orderBy('s.follower_account_id');
  const after = page?.after;
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('s.group_id', '>', after.groupId),
        eb.and([
          eb('s.group_id', '=', after.groupId),
          eb('s.follower_account_id', '>', after.followerAccountId),
        ]),
      ]),
    );
  return (page ? q.limit(page.limit) : q).execute();
}

/** How many active subscriptions the master has after `after` (all of them without it). */
export async function countSubscriptionsOfMaster(
  db: Db,
  masterAccountId: string,
  after: { groupId: string; followerAccountId: string } | null,
): Promise<number> {
  let q = db
    .selectFrom('subscriptions as s')
    .innerJoin('copy_groups as g', 'g.group_id', 's.group_id')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('g.master_account_id', '=', masterAccountId)
    .where('g.status', '=', 'active');
  if (after)
    q = q.where((eb) =>
      eb.or([
        eb('s.group_id', '>', after.groupId),
        eb.and([
          eb('s.group_id', '=', after.groupId),
          eb('s.follower_account_id', '>', after.followerAccountId),
        ]),
      ]),
    );
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function subscriptionsOfFollower(
  db: Db,
  followerAccountId: string,
): Promise<Array<SubscriptionRow & { master_account_id: string; group_status: string }>> {
  return db
    .selectFrom('subscriptions as s')
    .innerJoin('copy_groups as g', 'g.group_id', 's.group_id')
    .select([
      's.group_id',
      's.follower_account_id',
      's.settings',
      'g.master_account_id',
      'g.status as group_status',
    ])
    .where('s.follower_account_id', '=', followerAccountId)
    .execute();
}

// --- signals ---------------------------------------------------------------------------

/**
 * PostgreSQL: makes the transaction the only writer of the master's signals until it ends
 * (an advisory lock keyed by the master). Signals of other masters do not wait.
 */
export async function lockMaster(db: Db, masterAccountId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${`kopitra:signals:${masterAccountId}`}, 0))`.execute(
    db,
  );
}

/** A signal repeated by `signalId`, or by deal ticket and type (a netting reversal deal is a close and an open). */
export async function findSignalDuplicate(
  db: Db,
  masterAccountId: string,
  clientSignalId: string | undefined,
  dealTicket: string | undefined,
  type: string,
): Promise<SignalRow | undefined> {
  if (clientSignalId === undefined && dealTicket === undefined) return undefined;
  return db
    .selectFrom('signals')
    .selectAll()
    .where('master_account_id', '=', masterAccountId)
    .where((eb) =>
      eb.or([
        ...(clientSignalId !== undefined ? [eb('client_signal_id', '=', clientSignalId)] : []),
        ...(dealTicket !== undefined
          ? [eb.and([eb('deal_ticket', '=', dealTicket), eb('type', '=', type)])]
          : []),
      ]),
    )
    .executeTakeFirst();
}

export async function getSignal(db: Db, signalId: string): Promise<SignalRow | undefined> {
  return db.selectFrom('signals').selectAll().where('signal_id', '=', signalId).executeTakeFirst();
}

export async function insertSignal(db: Db, row: SignalRow): Promise<void> {
  await db.insertInto('signals').values(row).execute();
}

export async function setSignalResponse(db: Db, signalId: string, response: unknown): Promise<void> {
  await db
    .updateTable('signals')
    .set({ response: JSON.stringify(response) })
    .where('signal_id', '=', signalId)
    .execute();
}

// --- copy orders -----------------------------------------------------------------------

/** 500 rows × 40 columns stays under both dialects' bound-parameter limits (SQLite 32766). */
const ORDER_CHUNK = 500;

const ORDER_INSERT: BulkInsert<CopyOrderRow> = {
  table: 'copy_orders',
  columns: columnsOf<CopyOrderRow>({
    order_id: true,
    signal_id: true,
    master_signal_id: true,
    master_deal_ticket: true,
    group_id: true,
    follower_account_id: true,
    master_account_id: true,
    master_position_id: true,
    kind: true,
    origin: true,
    status: true,
    reason: true,
    detail: true,
    symbol: true,
    side: true,
    volume: true,
    sl: true,
    tp: true,
    master_price: true,
    ticket: true,
    fill_price: true,
    filled_volume: true,
    slippage_points: true,
    slippage_amount: true,
    profit: true,
    error_code: true,
    message: true,
    outbox_event_id: true,
    master_deal_at: true,
    signal_received_at: true,
    written_at: true,
    delivered_at: true,
    acknowledged_at: true,
    executed_at: true,
    reported_at: true,
    expires_at: true,
    updated_at: true,
    trace_context: true,
  }),
  chunk: ORDER_CHUNK,
};

export async function insertOrders(db: Db, rows: CopyOrderRow[]): Promise<void> {
  await insertMany(db, ORDER_INSERT, rows);
}

export async function getOrder(db: Db, orderId: string): Promise<CopyOrderRow | undefined> {
  return db.selectFrom('copy_orders').selectAll().where('order_id', '=', orderId).executeTakeFirst();
}

export async function updateOrder(db: Db, orderId: string, patch: Partial<CopyOrderRow>): Promise<void> {
  await db.updateTable('copy_orders').set(patch).where('order_id', '=', orderId).execute();
}

/** Times of a follower's copied opens and adds since `since`, per group. */
export async function recentOpenTimes(
  db: Db,
  followerIds: string[],
  since: number,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (followerIds.length === 0) return out;
  const rows = await db
    .selectFrom('copy_orders')
    .select(['group_id', 'follower_account_id', 'written_at'])
    .where('follower_account_id', 'in', followerIds)
    .where('kind', 'in', ['open', 'increase'])
    .where('written_at', '>=', since)
    .where('status', 'not in', ['skipped', 'rejected', 'failed', 'expired', 'withdrawn'])
    .execute();
  for (const r of rows) {
    const key = `${r.group_id}\n${r.follower_account_id}`;
    const list = out.get(key);
    if (list) list.push(Number(r.written_at));
    else out.set(key, [Number(r.written_at)]);
  }
  return out;
}

export async function inFlightOrders(
  db: Db,
  groupId: string,
  followerAccountId: string,
): Promise<CopyOrderRow[]> {
  return db
    .selectFrom('copy_orders')
    .selectAll()
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .where('status', 'in', ['queued', 'delivered', 'acknowledged'])
    .execute();
}

/**
 * A follower's copy orders on positions (every group) still in flight, or changed since
 * `since`: what a netting follower's reconciliation needs to tell which symbols are settled
 * and which closed links' exits the broker refused.
 */
export async function positionOrdersOfFollower(
  db: Db,
  followerAccountId: string,
  since: number,
): Promise<
  Array<
    Pick<
      CopyOrderRow,
      | 'group_id'
      | 'master_position_id'
      | 'kind'
      | 'origin'
      | 'status'
      | 'symbol'
      | 'volume'
      | 'filled_volume'
      | 'written_at'
      | 'updated_at'
    >
  >
> {
  return db
    .selectFrom('copy_orders')
    .select([
      'group_id',
      'master_position_id',
      'kind',
      'origin',
      'status',
      'symbol',
      'volume',
      'filled_volume',
      'written_at',
      'updated_at',
    ])
    .where('follower_account_id', '=', followerAccountId)
    .where('kind', 'in', ['open', 'increase', 'partial_close', 'close'])
    .where((eb) =>
      eb.or([eb('status', 'in', ['queued', 'delivered', 'acknowledged']), eb('updated_at', '>=', since)]),
    )
    .execute();
}

const FAILED_STATUSES: FailedOrderStatus[] = ['rejected', 'failed', 'expired'];
const isFailedStatus = (s: string): s is FailedOrderStatus => (FAILED_STATUSES as string[]).includes(s);

export async function failedOrdersSince(
  db: Db,
  groupId: string,
  followerAccountId: string,
  since: number,
): Promise<Array<CopyOrderRow & { status: FailedOrderStatus }>> {
  const rows = await db
    .selectFrom('copy_orders')
    .selectAll()
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .where('status', 'in', FAILED_STATUSES)
    .where('updated_at', '>=', since)
    .execute();
  return rows.filter((r): r is CopyOrderRow & { status: FailedOrderStatus } => isFailedStatus(r.status));
}

/**
 * The copy orders of these followers' copies of one master position still waiting
 * undelivered in their outboxes. With `lock` (PostgreSQL) they are locked for withdrawal,
 * skipping any that a poll is marking delivered right now: those are on their way and
 * cannot be taken back.
 */
export async function queuedOrdersOfCopies(
  db: Db,
  copies: ReadonlyArray<Pick<LinkRow, 'group_id' | 'follower_account_id'>>,
  masterPositionId: string,
  lock: boolean,
): Promise<CopyOrderRow[]> {
  if (copies.length === 0) return [];
  const q = db
    .selectFrom('copy_orders')
    .selectAll()
    .where((eb) =>
      eb.or(
        copies.map((c) =>
          eb.and([eb('group_id', '=', c.group_id), eb('follower_account_id', '=', c.follower_account_id)]),
        ),
      ),
    )
    .where('master_position_id', '=', masterPositionId)
    .where('status', '=', 'queued')
    .orderBy('order_id');
  return (lock ? q.forUpdate().skipLocked() : q).execute();
}

/**
 * Takes back copy orders that were never delivered: each becomes `withdrawn` with the
 * reason, and its outbox event is acknowledged by the gateway so no poll hands it out.
 * Orders that moved on meanwhile are left alone. Returns the orders withdrawn.
 */
export async function withdrawOrders(
  db: Db,
  orderIds: string[],
  why: { reason: ReasonCode; detail: string },
  now: number,
): Promise<CopyOrderRow[]> {
  if (orderIds.length === 0) return [];
  const withdrawn = await db
    .updateTable('copy_orders')
    .set({ status: 'withdrawn', reason: why.reason, detail: why.detail, updated_at: now })
    .where('order_id', 'in', orderIds)
    .where('status', '=', 'queued')
    .returningAll()
    .execute();
  const events = withdrawn.flatMap((o) => (o.outbox_event_id ? [o.outbox_event_id] : []));
  if (events.length)
    await db
      .updateTable('outbox_events')
      .set({ acked_at: now, acked_by_session: 'gateway:withdrawn' })
      .where('event_id', 'in', events)
      .where('acked_at', 'is', null)
      .execute();
  return withdrawn;
}

// --- position links --------------------------------------------------------------------

/**
 * Writers of links (fan-out, executions, reconciliation) take row locks on PostgreSQL, where
 * transactions run concurrently, always in (follower, group, master position) order; SQLite
 * transactions are serialised already and has no FOR UPDATE.
 */
export type LinkLock = boolean;

export async function linksForMasterPosition(
  db: Db,
  masterAccountId: string,
  masterPositionId: string,
  lock: LinkLock = false,
  /** Only these followers' links (one batch of a fan-out); all without it. */
  followerIds?: readonly string[],
): Promise<LinkRow[]> {
  let q = db
    .selectFrom('position_links')
    .selectAll()
    .where('master_account_id', '=', masterAccountId)
    .where('master_position_id', '=', masterPositionId)
    .orderBy('follower_account_id')
    .orderBy('group_id');
  if (followerIds) {
    if (followerIds.length === 0) return [];
    q = q.where('follower_account_id', 'in', [...followerIds]);
  }
  return (lock ? q.forUpdate() : q).execute();
}

/** The open copy orders (from signals, re-opens and joins) of one subscription for these master positions. */
export async function openOrdersOfPositions(
  db: Db,
  groupId: string,
  followerAccountId: string,
  masterPositionIds: string[],
): Promise<Array<Pick<CopyOrderRow, 'master_position_id' | 'origin' | 'status' | 'reason'>>> {
  if (masterPositionIds.length === 0) return [];
  return db
    .selectFrom('copy_orders')
    .select(['master_position_id', 'origin', 'status', 'reason'])
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .where('master_position_id', 'in', masterPositionIds)
    .where('kind', '=', 'open')
    .execute();
}

export async function getLink(
  db: Db,
  groupId: string,
  followerAccountId: string,
  masterPositionId: string,
  lock: LinkLock = false,
): Promise<LinkRow | undefined> {
  const q = db
    .selectFrom('position_links')
    .selectAll()
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .where('master_position_id', '=', masterPositionId);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

/** Inserts or replaces links, many rows per statement (one round trip per 1000 followers). */
const LINK_UPSERT: BulkInsert<LinkRow> = {
  table: 'position_links',
  columns: columnsOf<LinkRow>({
    group_id: true,
    follower_account_id: true,
    master_account_id: true,
    master_position_id: true,
    symbol: true,
    side: true,
    ticket: true,
    open_volume: true,
    master_volume: true,
    position_count: true,
    sl: true,
    tp: true,
    master_price: true,
    signal_at: true,
    status: true,
    open_order_id: true,
    linked_at: true,
    opened_at: true,
    closed_at: true,
    updated_at: true,
  }),
  chunk: 1000,
  upsertOn: ['group_id', 'follower_account_id', 'master_position_id'],
};

export async function upsertLinks(db: Db, rows: LinkRow[]): Promise<void> {
  await insertMany(db, LINK_UPSERT, rows);
}

export async function updateLink(
  db: Db,
  key: { groupId: string; followerAccountId: string; masterPositionId: string },
  patch: Partial<LinkRow>,
): Promise<void> {
  await db
    .updateTable('position_links')
    .set(patch)
    .where('group_id', '=', key.groupId)
    .where('follower_account_id', '=', key.followerAccountId)
    .where('master_position_id', '=', key.masterPositionId)
    .execute();
}

/** Open links per (group, follower): follower positions and lots, for the open guards. */
export async function openExposure(
  db: Db,
  followerIds: string[],
): Promise<Map<string, { positions: number; lots: number }>> {
  const out = new Map<string, { positions: number; lots: number }>();
  if (followerIds.length === 0) return out;
  const rows = await db
    .selectFrom('position_links')
    .select([
      'group_id',
      'follower_account_id',
      (eb) => eb.fn.sum<number>('position_count').as('n'),
      (eb) => eb.fn.sum<number>('open_volume').as('lots'),
    ])
    .where('follower_account_id', 'in', followerIds)
    .where('status', 'in', ['open', 'closing'])
    .groupBy(['group_id', 'follower_account_id'])
    .execute();
  for (const r of rows)
    out.set(`${r.group_id}\n${r.follower_account_id}`, { positions: Number(r.n), lots: Number(r.lots ?? 0) });
  return out;
}

export async function linksOfSubscription(
  db: Db,
  groupId: string,
  followerAccountId: string,
): Promise<LinkRow[]> {
  return db
    .selectFrom('position_links')
    .selectAll()
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .execute();
}

export async function linksOfFollower(
  db: Db,
  followerAccountId: string,
  lock: LinkLock = false,
): Promise<LinkRow[]> {
  const q = db
    .selectFrom('position_links')
    .selectAll()
    .where('follower_account_id', '=', followerAccountId)
    .orderBy('group_id')
    .orderBy('master_position_id');
  return (lock ? q.forUpdate() : q).execute();
}

// --- alerts ----------------------------------------------------------------------------

/** Raises an alert unless the same one is already open (not acknowledged). Returns it when new. */
export async function raiseAlert(
  db: Db,
  a: {
    accountId: string | null;
    groupId: string | null;
    code: string;
    severity: 'info' | 'warning' | 'critical';
    message: string;
    dedupeKey: string;
    details: Record<string, unknown>;
  },
  now: number,
): Promise<AlertRow | undefined> {
  return db
    .insertInto('alerts')
    .values({
      alert_id: newId('alr'),
      account_id: a.accountId,
      group_id: a.groupId,
      code: a.code,
      severity: a.severity,
      message: a.message,
      dedupe_key: a.dedupeKey,
      details: JSON.stringify(a.details),
      created_at: now,
      acked_at: null,
      acked_by: null,
    })
    .onConflict((oc) => oc.column('dedupe_key').where('acked_at', 'is', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

// --- expiry ----------------------------------------------------------------------------

/**
 * Expires an open that was not received in time: the order (if still waiting), its outbox
 * event and its unfilled link. Returns the order as updated, or undefined if it had moved on.
 */
export async function expireOpenOrder(
  db: Db,
  o: CopyOrderRow,
  detail: string,
  now: number,
): Promise<CopyOrderRow | undefined> {
  const updated = await db
    .updateTable('copy_orders')
    .set({ status: 'expired', reason: 'signal_too_old', detail, updated_at: now })
    .where('order_id', '=', o.order_id)
    .where('status', 'in', ['queued', 'delivered'])
    .returningAll()
    .executeTakeFirst();
  if (!updated) return undefined;
  if (o.outbox_event_id) {
    await db
      .updateTable('outbox_events')
      .set({ acked_at: now, acked_by_session: 'gateway:expired' })
      .where('event_id', '=', o.outbox_event_id)
      .where('acked_at', 'is', null)
      .execute();
  }
  if (o.kind === 'increase') {
    // The add was counted on the link when planned: it is taken back, as a refused one is.
    const link = await getLink(db, o.group_id, o.follower_account_id, o.master_position_id);
    if (link && (link.status === 'open' || link.status === 'closing'))
      await updateLink(
        db,
        {
          groupId: o.group_id,
          followerAccountId: o.follower_account_id,
          masterPositionId: o.master_position_id,
        },
        {
          open_volume: Math.max(0, Number((link.open_volume - (o.volume ?? 0)).toFixed(8))),
          position_count: Math.max(1, link.position_count - 1),
          updated_at: now,
        },
      );
    return updated;
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
  return updated;
}

/** Opens and adds (`increase`) still waiting in an outbox after their expiry (followers offline). */
export async function staleOpens(
  db: Db,
  now: number,
  accountId?: string,
  limit = 500,
): Promise<CopyOrderRow[]> {
  // Literal predicates, the same texts as the partial indexes copy_orders_waiting_opens and
  // copy_orders_waiting_adds, so both SQLite and PostgreSQL can use them.
  const waiting = (predicate: ReturnType<typeof sql<boolean>>) => {
    let q = db.selectFrom('copy_orders').selectAll().where(predicate).where('expires_at', '<', now);
    if (accountId) q = q.where('follower_account_id', '=', accountId);
    return q.limit(limit).execute();
  };
  const opens = await waiting(sql<boolean>`kind = 'open' and status in ('queued', 'delivered')`);
  if (opens.length >= limit) return opens;
  const adds = await waiting(sql<boolean>`kind = 'increase' and status in ('queued', 'delivered')`);
  return [...opens, ...adds].slice(0, limit);
}

/** Master positions of one subscription whose copy orders changed after `since`. */
export async function positionsChangedSince(
  db: Db,
  groupId: string,
  followerAccountId: string,
  since: number,
): Promise<Set<string>> {
  const rows = await db
    .selectFrom('copy_orders')
    .select('master_position_id')
    .distinct()
    .where('group_id', '=', groupId)
    .where('follower_account_id', '=', followerAccountId)
    .where('updated_at', '>', since)
    .execute();
  return new Set(rows.map((r) => r.master_position_id));
}

/** Every account that follows a master in some group. */
export async function subscribedFollowerIds(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('subscriptions').select('follower_account_id').distinct().execute();
  return rows.map((r) => r.follower_account_id);
}

/** Re-points the open links of a follower's position when MT4 gives its remainder a new ticket. */
export async function relinkTicket(
  db: Db,
  followerAccountId: string,
  previousTicket: string,
  ticket: string,
  now: number,
): Promise<void> {
  await db
    .updateTable('position_links')
    .set({ ticket, linked_at: now, updated_at: now })
    .where('follower_account_id', '=', followerAccountId)
    .where('ticket', '=', previousTicket)
    .where('status', 'in', ['open', 'closing'])
    .execute();
}
