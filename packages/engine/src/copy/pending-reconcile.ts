/**
 * Reconciliation of pending orders: the follower's copied orders (its live order links)
 * against the orders its EA reports in `ea.sync_snapshot.orders`. Orders are matched by
 * ticket, then by tag; an untagged order is the follower's own and never touched.
 *
 * - A tagged order no live link stands for is an orphan and is cancelled.
 * - A copied order that is gone: if a reported position carries its tag it filled (the link
 *   moves to the position); past its expiry it expired; otherwise it is placed again while
 *   the master's order is young (within the signal age limit), and alerted on when older.
 *
 * Modes as for positions: `frozen` turns every trading correction into an alert;
 * `close_only` cancels orphans but does not place again.
 */
import { parsePositionTag, tagMatches } from '@kopitra/contracts';
import type { PendingOrderType } from './pending.js';
import type { ReasonCode } from './reasons.js';
import type { Side, SubscriptionSettings } from './subscription.js';

/** A live order link: a follower pending order that should exist. */
export interface ExpectedOrder {
  readonly masterOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly volume: number;
  readonly price: number;
  /** `null` while the placement has not been reported. */
  readonly ticket: string | null;
  /** When the master placed it (the placement signal's `occurredAt`). */
  readonly signalAt: number;
  /** The order's own expiry; `null`: good till cancelled. */
  readonly expiresAt: number | null;
  /** A modify or cancel is in flight: the order may change or vanish. */
  readonly changing?: boolean;
  /** When the ticket was reported; a snapshot taken before it cannot show the order yet. */
  readonly linkedAt?: number | null;
}

export interface ReportedOrder {
  readonly ticket: string;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly volume: number;
  readonly price: number;
  readonly comment?: string | null;
}

/** A reported position, as far as finding a filled order needs it. */
export interface ReportedTaggedPosition {
  readonly ticket: string;
  readonly comment?: string | null;
}

export interface OrderReconcileInput {
  /** The copy group whose orders these are: another group's tag is never this one's order. */
  readonly groupId: string;
  readonly expected: readonly ExpectedOrder[];
  readonly reported: readonly ReportedOrder[];
  readonly positions: readonly ReportedTaggedPosition[];
  readonly settings: Pick<SubscriptionSettings, 'mode' | 'maxSignalAgeSec'>;
  readonly snapshotAt: number;
  readonly now: number;
}

export type OrderCorrection =
  | {
      readonly kind: 'link_order_ticket';
      readonly masterOrderId: string;
      readonly ticket: string;
    }
  | {
      readonly kind: 'order_filled';
      readonly masterOrderId: string;
      /** The position the follower's order became. */
      readonly ticket: string;
    }
  | { readonly kind: 'order_expired'; readonly masterOrderId: string }
  | { readonly kind: 'replace_order'; readonly masterOrderId: string; readonly detail: string }
  | {
      readonly kind: 'cancel_orphan_order';
      readonly ticket: string;
      readonly symbol: string;
      readonly reason: ReasonCode;
      readonly detail: string;
    }
  | {
      readonly kind: 'order_alert';
      readonly masterOrderId: string | null;
      readonly ticket: string | null;
      readonly reason: ReasonCode;
      readonly detail: string;
    };

const tagOf = (comment: string | null | undefined) => parsePositionTag(comment);

export function reconcileOrders(input: OrderReconcileInput): OrderCorrection[] {
  const { settings, now } = input;
  const out: OrderCorrection[] = [];
  const claimed = new Set<string>();
  const byTicket = new Map(input.reported.map((o) => [o.ticket, o]));

  const findByTag = (masterOrderId: string): ReportedOrder | undefined =>
    input.reported.find((o) => {
      if (claimed.has(o.ticket)) return false;
      const tag = tagOf(o.comment);
      return tag !== null && tagMatches(tag, input.groupId, masterOrderId);
    });

  for (const e of input.expected) {
    const reported = (e.ticket !== null ? byTicket.get(e.ticket) : undefined) ?? findByTag(e.masterOrderId);
    if (reported) {
      claimed.add(reported.ticket);
      if (e.ticket !== reported.ticket)
        out.push({ kind: 'link_order_ticket', masterOrderId: e.masterOrderId, ticket: reported.ticket });
      continue;
    }
    // Not in the book. In flight, or linked after the snapshot was taken: nothing to judge yet.
    if (e.changing) continue;
    if (e.ticket === null || (e.linkedAt ?? 0) > input.snapshotAt) continue;
    const filled = input.positions.find((p) => {
      const tag = tagOf(p.comment);
      return tag !== null && tagMatches(tag, input.groupId, e.masterOrderId);
    });
    if (filled) {
      out.push({ kind: 'order_filled', masterOrderId: e.masterOrderId, ticket: filled.ticket });
      continue;
    }
    if (e.expiresAt !== null && e.expiresAt <= input.snapshotAt) {
      out.push({ kind: 'order_expired', masterOrderId: e.masterOrderId });
      continue;
    }
    const young = now - e.signalAt <= settings.maxSignalAgeSec * 1000;
    if (young && settings.mode === 'active') {
      out.push({
        kind: 'replace_order',
        masterOrderId: e.masterOrderId,
        detail: `order ${e.ticket} is gone from the follower's book; placed again`,
      });
      continue;
    }
    out.push({
      kind: 'order_alert',
      masterOrderId: e.masterOrderId,
      ticket: e.ticket,
      reason: 'order_missing',
      detail: young
        ? `order ${e.ticket} is gone; the subscription is ${settings.mode}, so it is not placed again`
        : `order ${e.ticket} is gone and the master's order is older than ${settings.maxSignalAgeSec} s`,
    });
  }

  for (const o of input.reported) {
    if (claimed.has(o.ticket) || tagOf(o.comment) === null) continue;
    const detail = `order ${o.ticket} (${o.side} ${o.orderType} ${o.symbol}) stands for no live copy`;
    out.push(
      settings.mode === 'frozen'
        ? { kind: 'order_alert', masterOrderId: null, ticket: o.ticket, reason: 'orphan_order', detail }
        : { kind: 'cancel_orphan_order', ticket: o.ticket, symbol: o.symbol, reason: 'orphan_order', detail },
    );
  }
  return out;
}
