/**
 * Reconciliation of a follower's pending orders, one subscription at a time, beside its
 * positions (`reconciler.ts`): the live order links against the orders of the last
 * `ea.sync_snapshot` (the engine's `reconcileOrders` decides: orphans cancelled, missing
 * copies placed again while young, fills and expiries recognised). Independently of any
 * snapshot, a copy still waiting for its price after the master's order filled is cancelled
 * once the master closed the position it became.
 */
import { parsePositionTag, positionTag, tagMatches, type SnapshotOrder } from '@kopitra/contracts';
import {
  explainReason,
  reconcileOrders,
  type ExpectedOrder,
  type OrderCorrection,
  type ReportedTaggedPosition,
  type SubscriptionSettings,
} from '@kopitra/engine';
import { masterHolds } from '../../store/master-positions.js';
import { updateOrderLink, type OrderLinkRow } from '../../store/order-links.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { alert, queueOrder, type Scope } from './issued.js';
import { followerOrderFilled } from './order-fills.js';

export interface OrderPassInput {
  readonly scope: Scope;
  readonly settings: SubscriptionSettings;
  /** This follower's order links (pending, or changed lately) in every group. */
  readonly links: readonly OrderLinkRow[];
  /** The last snapshot's orders; `null` when it had none to say (an EA that does not send them). */
  readonly reported: readonly SnapshotOrder[] | null;
  readonly positions: readonly ReportedTaggedPosition[];
  readonly snapshotAt: number;
  /** Master order ids with a copy order in flight in this subscription. */
  readonly busy: ReadonlySet<string>;
  readonly now: number;
}

export type OrderWork =
  | { readonly kind: 'ended'; readonly link: OrderLinkRow }
  | { readonly kind: 'correction'; readonly correction: OrderCorrection };

/** What this subscription's pending orders need; reads only. */
export async function planOrderPass(db: Db, input: OrderPassInput): Promise<OrderWork[]> {
  const { scope, links, busy } = input;
  const mine = links.filter((l) => l.group_id === scope.groupId);
  const work: OrderWork[] = [];
  const ended = new Set<string>();
  for (const l of mine) {
    if (l.status !== 'pending' || l.master_position_id === null || busy.has(l.master_order_id)) continue;
    if (await masterHolds(db, l.master_account_id, l.master_position_id)) continue;
    ended.add(l.master_order_id);
    work.push({ kind: 'ended', link: l });
  }
  if (input.reported === null) return work;
  const others = links.filter((l) => l.group_id !== scope.groupId);
  const taggedFor = (o: SnapshotOrder, ls: readonly OrderLinkRow[]) => {
    const tag = parsePositionTag(o.comment);
    return tag !== null && ls.some((l) => tagMatches(tag, l.group_id, l.master_order_id));
  };
  // Another group's copies are that group's business; a snapshot cannot judge an order whose
  // link changed after it was taken (a cancel or placement that executed since).
  const changed = mine.filter((l) => l.updated_at > input.snapshotAt || busy.has(l.master_order_id));
  const reported = input.reported.filter(
    (o) =>
      !others.some((l) => l.ticket === o.ticket) &&
      !(taggedFor(o, others) && !taggedFor(o, mine)) &&
      !changed.some((l) => l.ticket === o.ticket) &&
      !taggedFor(o, changed),
  );
  const expected: ExpectedOrder[] = mine
    .filter((l) => l.status === 'pending' && !ended.has(l.master_order_id))
    .map((l) => ({
      masterOrderId: l.master_order_id,
      symbol: l.symbol,
      side: l.side,
      orderType: l.order_type,
      volume: l.volume,
      price: l.price,
      ticket: l.ticket,
      signalAt: l.signal_at,
      expiresAt: l.order_expires_at,
      changing: busy.has(l.master_order_id),
      linkedAt: l.linked_at,
    }));
  for (const correction of reconcileOrders({
    groupId: scope.groupId,
    expected,
    reported: reported.map((o) => ({ ...o, comment: o.comment ?? null })),
    positions: input.positions,
    settings: input.settings,
    snapshotAt: input.snapshotAt,
    now: input.now,
  }))
    work.push({ kind: 'correction', correction });
  return work;
}

/** Applies what `planOrderPass` found, under the reconciliation's locks; answers whether an order was queued. */
export async function applyOrderWork(
  deps: GatewayDeps,
  db: Db,
  input: OrderPassInput,
  work: readonly OrderWork[],
): Promise<boolean> {
  const { scope, now } = input;
  const key = (masterOrderId: string) => ({
    groupId: scope.groupId,
    followerAccountId: scope.followerAccountId,
    masterOrderId,
  });
  const linkOf = (masterOrderId: string) =>
    input.links.find((l) => l.group_id === scope.groupId && l.master_order_id === masterOrderId);
  let queued = false;
  const cancel = async (link: OrderLinkRow, reason: 'orphan_order', detail: string) => {
    await queueOrder(
      deps,
      db,
      scope,
      {
        action: 'cancel_order',
        masterOrderId: link.master_order_id,
        ticket: link.ticket,
        symbol: link.symbol,
        side: link.side,
        orderType: link.order_type,
        volume: link.volume,
        price: link.price,
        stopLimitPrice: link.stop_limit_price,
        sl: null,
        tp: null,
        orderExpiresAt: link.order_expires_at,
        comment: positionTag(link.group_id, link.master_order_id),
        reason,
        detail,
      },
      now,
    );
    queued = true;
  };
  for (const w of work) {
    if (w.kind === 'ended') {
      await cancel(
        w.link,
        'orphan_order',
        `the master closed position ${w.link.master_position_id}; the follower's copy of its order never filled`,
      );
      await updateOrderLink(db, key(w.link.master_order_id), { status: 'cancelled', updated_at: now });
      continue;
    }
    const c = w.correction;
    switch (c.kind) {
      case 'link_order_ticket':
        await updateOrderLink(db, key(c.masterOrderId), {
          ticket: c.ticket,
          linked_at: now,
          updated_at: now,
        });
        break;
      case 'order_filled': {
        const link = linkOf(c.masterOrderId);
        if (link)
          await followerOrderFilled(
            deps,
            db,
            scope.followerAccountId,
            { orderId: link.place_order_id, ticket: c.ticket },
            now,
          );
        break;
      }
      case 'order_expired':
        await updateOrderLink(db, key(c.masterOrderId), { status: 'expired', updated_at: now });
        break;
      case 'replace_order': {
        const link = linkOf(c.masterOrderId);
        if (!link) break;
        const orderId = await queueOrder(
          deps,
          db,
          scope,
          {
            action: 'place_order',
            masterOrderId: link.master_order_id,
            symbol: link.symbol,
            side: link.side,
            orderType: link.order_type,
            volume: link.volume,
            rawVolume: link.volume,
            capped: false,
            forced: false,
            price: link.price,
            stopLimitPrice: link.stop_limit_price,
            sl: link.sl,
            tp: link.tp,
            orderExpiresAt: link.order_expires_at,
            expiresAt: link.signal_at + input.settings.maxSignalAgeSec * 1000,
            comment: positionTag(link.group_id, link.master_order_id),
          },
          now,
        );
        await updateOrderLink(db, key(c.masterOrderId), {
          place_order_id: orderId,
          ticket: null,
          linked_at: null,
          updated_at: now,
        });
        queued = true;
        break;
      }
      case 'cancel_orphan_order': {
        const o = input.reported?.find((r) => r.ticket === c.ticket);
        const tag = parsePositionTag(o?.comment);
        await queueOrder(
          deps,
          db,
          scope,
          {
            action: 'cancel_order',
            masterOrderId: tag?.masterPositionId ?? c.ticket,
            ticket: c.ticket,
            symbol: c.symbol,
            side: o?.side ?? 'buy',
            orderType: o?.orderType ?? 'limit',
            volume: o?.volume ?? 0,
            price: o?.price ?? 0,
            stopLimitPrice: o?.stopLimitPrice ?? null,
            sl: null,
            tp: null,
            orderExpiresAt: null,
            comment: o?.comment ?? '',
            reason: c.reason,
            detail: c.detail,
          },
          now,
        );
        queued = true;
        break;
      }
      case 'order_alert':
        if (await alert(deps, db, scope, c.reason, explainReason(c.reason, c.detail), c.masterOrderId, now))
          queued = true;
        break;
    }
  }
  return queued;
}
