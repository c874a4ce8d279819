/**
 * Pending orders: what a master's limit, stop and stop-limit orders become for one follower.
 * The subscription's `pendingOrders` decides whether they are copied as pending orders
 * (`copy`), not at all (`skip`), or only once the master's order fills, as a market open
 * (`market_on_fill`). A copied order is placed with the same filters, symbol resolution and
 * sizing as an open at its price; reversed, a buy limit becomes a sell stop and a buy stop a
 * sell limit at the same prices, with SL and TP swapped. A stop-limit has no mirror image and
 * is not reversed.
 *
 * When the master's order fills and the follower's has not (the brokers' prices differ),
 * `pendingOnMasterFill` decides: `leave` keeps the follower's order waiting for its own
 * price, `market` replaces it with a market open within the slippage limit.
 */
import {
  skipDecision,
  type CloseDecision,
  type OpenDecision,
  type SizedVolume,
  type SkipDecision,
} from './decisions.js';
import { earlyGuards, followerSymbol, isSkip, level, signalDeadline, sizeEntry, skipFrom } from './entry.js';
import { bookGuards } from './guards.js';
import { planOpen, type FollowerContext } from './plan.js';
import { positionTag } from '@kopitra/contracts';
import type { ReasonCode } from './reasons.js';
import { lookupSymbol, roundToDigits } from './symbol-spec.js';
import { filterOpen, flipSide } from './symbols.js';
import type { Side } from './subscription.js';

export type PendingOrderType = 'limit' | 'stop' | 'stop_limit';
export const pendingOrderTypes: readonly PendingOrderType[] = ['limit', 'stop', 'stop_limit'];

export type OrderSignalType = 'order.placed' | 'order.modified' | 'order.cancelled' | 'order.filled';

/** A master's pending-order signal with times as epoch ms. */
export interface MasterOrderSignal {
  readonly type: OrderSignalType;
  readonly masterOrderId: string;
  /** Only `order.filled`: the position the order became (MT4 and MT5 give it the order's ticket). */
  readonly masterPositionId?: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly volume: number;
  /** The order's price; for `order.filled`, the fill price. */
  readonly price: number;
  /** A stop-limit's limit price, placed once the stop price is reached. */
  readonly stopLimitPrice?: number | null;
  readonly sl?: number | null;
  readonly tp?: number | null;
  /** The order's own expiry on the master; absent or `null`: good till cancelled. */
  readonly expiresAt?: number | null;
  readonly magic?: string | null;
  readonly occurredAt: number;
}

/** The follower's pending order copied from this master order, as the gateway keeps it. */
export interface LinkedOrder {
  /** `null` until the follower reports it placed. */
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly volume: number;
  /** The placement is still waiting in the follower's outbox, undelivered. */
  readonly undelivered?: boolean;
  /** The follower's order has filled; the link has moved to the position. */
  readonly filled?: boolean;
}

export interface OrderContext extends FollowerContext {
  /** MT4 has no stop-limit orders. */
  readonly platform?: 'MT4' | 'MT5';
  /** The follower's copy of this master order, if any. */
  readonly order: LinkedOrder | null;
}

/** The levels of a pending order on one side: its type, side, prices and stops. */
export interface OrderShape {
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly price: number;
  readonly stopLimitPrice: number | null;
  readonly sl: number | null;
  readonly tp: number | null;
}

interface OrderFields {
  readonly masterOrderId: string;
  /** The follower's symbol, already mapped. */
  readonly symbol: string;
  readonly side: Side;
  readonly orderType: PendingOrderType;
  readonly volume: number;
  readonly price: number;
  readonly stopLimitPrice: number | null;
  readonly sl: number | null;
  readonly tp: number | null;
  /** The order's own expiry (copied from the master's); `null`: good till cancelled. */
  readonly orderExpiresAt: number | null;
  /** The tag the order, and the position it becomes, carry. */
  readonly comment: string;
}

/** `trade.order_placed`. */
export interface PlaceOrderDecision extends OrderFields, SizedVolume {
  readonly action: 'place_order';
  /** After this the EA must not place it any more (the signal's age limit). */
  readonly expiresAt: number;
}

/** `trade.order_modified`: the order's new prices, stops and expiry. */
export interface ModifyOrderDecision extends OrderFields {
  readonly action: 'modify_order';
  /** `null` until the follower reported it placed; the EA then finds it by its tag. */
  readonly ticket: string | null;
}

/** `trade.order_cancelled`. */
export interface CancelOrderDecision extends OrderFields {
  readonly action: 'cancel_order';
  readonly ticket: string | null;
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

/**
 * A market open that takes the place of the follower's unfilled copy of the master's order:
 * the EA deletes that order first and opens only if the delete succeeded (an order that
 * filled meanwhile is reported as filled, never doubled).
 */
export interface FillAtMarketDecision extends Omit<OpenDecision, 'action'> {
  readonly action: 'open';
  readonly replacesOrder: { readonly masterOrderId: string; readonly ticket: string | null };
  readonly reason: ReasonCode;
}

export type OrderDecision =
  | PlaceOrderDecision
  | ModifyOrderDecision
  | CancelOrderDecision
  | OpenDecision
  | FillAtMarketDecision
  | CloseDecision
  | SkipDecision;

/**
 * The mirror image of a pending order at the same prices: a buy limit below the market
 * becomes a sell stop there, a buy stop above it a sell limit, and SL and TP change places.
 * A stop-limit has none (a sell stop-limit's stop lies below the market, not above), so
 * `null`.
 */
export function reverseOrder(o: OrderShape): OrderShape | null {
  if (o.orderType === 'stop_limit') return null;
  return {
    side: flipSide(o.side),
    orderType: o.orderType === 'limit' ? 'stop' : 'limit',
    price: o.price,
    stopLimitPrice: o.stopLimitPrice,
    sl: o.tp,
    tp: o.sl,
  };
}

const shapeOf = (signal: MasterOrderSignal): OrderShape => ({
  side: signal.side,
  orderType: signal.orderType,
  price: signal.price,
  stopLimitPrice: level(signal.stopLimitPrice),
  sl: level(signal.sl),
  tp: level(signal.tp),
});

/** The follower's shape of the master's order: reversed when asked (or, later, when the link says so). */
function followerShape(signal: MasterOrderSignal, reversed: boolean): OrderShape | SkipDecision {
  const master = shapeOf(signal);
  if (!reversed) return master;
  return (
    reverseOrder(master) ??
    skipDecision('order_type_unsupported', `a ${signal.side} stop-limit cannot be reversed`)
  );
}

function roundShape(shape: OrderShape, digits: number | undefined, ctx: OrderContext): OrderShape {
  const round = (v: number | null): number | null =>
    v === null || digits === undefined ? v : roundToDigits(v, digits);
  return {
    ...shape,
    price: round(shape.price) ?? shape.price,
    stopLimitPrice: round(shape.stopLimitPrice),
    sl: ctx.settings.copySl ? round(shape.sl) : null,
    tp: ctx.settings.copyTp ? round(shape.tp) : null,
  };
}

export function planOrderPlace(
  signal: MasterOrderSignal,
  ctx: OrderContext,
): PlaceOrderDecision | SkipDecision {
  const s = ctx.settings;
  if (s.pendingOrders === 'skip')
    return skipDecision('pending_orders_skipped', 'the subscription does not copy pending orders');
  if (s.pendingOrders === 'market_on_fill')
    return skipDecision(
      'pending_waits_for_fill',
      `nothing is placed; the fill of master order ${signal.masterOrderId} is copied as a market open`,
    );
  if (ctx.order)
    return skipDecision('already_copied', `linked to order ${ctx.order.ticket ?? '(not placed yet)'}`);
  const expiry = signal.expiresAt ?? null;
  if (expiry !== null && expiry <= ctx.now)
    return skipDecision('order_expired', `the master's order expired before it could be placed`);
  const early = earlyGuards(ctx, signal.occurredAt) ?? filterOpen(signal, s);
  if (early) return skipFrom(early);
  if (signal.orderType === 'stop_limit' && ctx.platform === 'MT4')
    return skipDecision('order_type_unsupported', 'MT4 has no stop-limit orders');
  const target = followerSymbol(signal.symbol, ctx);
  if (isSkip(target)) return target;
  const shaped = followerShape(signal, s.reverse);
  if (isSkip(shaped)) return shaped;
  const sized = sizeEntry({
    ctx,
    ...target,
    side: shaped.side,
    stopLoss: shaped.sl,
    masterVolume: signal.volume,
    masterPrice: signal.price,
    // A pending order counts as the position it may become; no price guard: it waits for its price.
    quote: null,
  });
  if (isSkip(sized)) return sized;
  return {
    action: 'place_order',
    masterOrderId: signal.masterOrderId,
    symbol: target.symbol,
    ...roundShape(shaped, target.spec.digits, ctx),
    ...sized,
    orderExpiresAt: expiry,
    expiresAt: signalDeadline(ctx, signal.occurredAt),
    comment: positionTag(ctx.groupId, signal.masterOrderId),
  };
}

function managedOrder(signal: MasterOrderSignal, ctx: OrderContext): LinkedOrder | SkipDecision {
  if (!ctx.order)
    return skipDecision(
      'no_linked_order',
      `the follower has no copy of master order ${signal.masterOrderId}`,
    );
  if (ctx.order.filled)
    return skipDecision(
      'order_already_filled',
      `the follower's copy filled as ticket ${ctx.order.ticket ?? '?'}`,
    );
  return ctx.order;
}

export function planOrderModify(
  signal: MasterOrderSignal,
  ctx: OrderContext,
): ModifyOrderDecision | SkipDecision {
  const link = managedOrder(signal, ctx);
  if (isSkip(link)) return link;
  // The link's side, not today's `reverse` setting, says whether this copy was reversed.
  const shaped = followerShape(signal, link.side !== signal.side);
  if (isSkip(shaped)) return shaped;
  const shape = roundShape(shaped, lookupSymbol(ctx.symbols, link.symbol)?.digits, ctx);
  return {
    action: 'modify_order',
    masterOrderId: signal.masterOrderId,
    ticket: link.ticket,
    symbol: link.symbol,
    ...shape,
    side: link.side,
    orderType: link.orderType,
    volume: link.volume,
    orderExpiresAt: signal.expiresAt ?? null,
    comment: positionTag(ctx.groupId, signal.masterOrderId),
  };
}

/**
 * Cancelled or expired on the master: the follower's copy is deleted. One still undelivered
 * is withdrawn instead (nothing reaches the terminal), like an open the master closed first.
 * A copy that already filled (the follower's broker reached the price, the master's never
 * did) became a position the master does not hold: it is closed.
 */
export function planOrderCancel(
  signal: MasterOrderSignal,
  ctx: OrderContext,
): CancelOrderDecision | CloseDecision | SkipDecision {
  if (ctx.order?.filled && ctx.link && !ctx.link.detached)
    return {
      action: 'close',
      masterPositionId: signal.masterPositionId ?? signal.masterOrderId,
      ticket: ctx.link.ticket,
      symbol: ctx.link.symbol,
      side: ctx.link.side,
      volume: ctx.link.openVolume,
      reason: 'order_fill_unmatched',
      detail: `the follower's copy filled as ticket ${ctx.link.ticket ?? ctx.order.ticket ?? '?'}; the master's order ${signal.masterOrderId} ended unfilled`,
    };
  const link = managedOrder(signal, ctx);
  if (isSkip(link)) return link;
  if (link.ticket === null && link.undelivered)
    return skipDecision('master_order_cancelled', 'the placement had not been delivered; it is withdrawn');
  return {
    action: 'cancel_order',
    masterOrderId: signal.masterOrderId,
    ticket: link.ticket,
    symbol: link.symbol,
    side: link.side,
    orderType: link.orderType,
    volume: link.volume,
    price: signal.price,
    stopLimitPrice: level(signal.stopLimitPrice),
    sl: null,
    tp: null,
    orderExpiresAt: signal.expiresAt ?? null,
    comment: positionTag(ctx.groupId, signal.masterOrderId),
  };
}

/** The master's fill as the open of the position it became. */
const openedFrom = (signal: MasterOrderSignal) => ({
  type: 'position.opened' as const,
  masterPositionId: signal.masterPositionId ?? signal.masterOrderId,
  symbol: signal.symbol,
  side: signal.side,
  volume: signal.volume,
  price: signal.price,
  sl: signal.sl ?? null,
  tp: signal.tp ?? null,
  magic: signal.magic ?? null,
  occurredAt: signal.occurredAt,
});

/**
 * The master's order filled. `market_on_fill` copies the position like any open; `copy`
 * looks at the follower's order: filled already (nothing to do), or still waiting, when
 * `pendingOnMasterFill` leaves it or replaces it with a market open.
 */
export function planOrderFill(
  signal: MasterOrderSignal,
  ctx: OrderContext,
): OpenDecision | FillAtMarketDecision | SkipDecision {
  const s = ctx.settings;
  if (s.pendingOrders === 'market_on_fill') return planOpen(openedFrom(signal), ctx);
  if (s.pendingOrders === 'skip')
    return skipDecision('pending_orders_skipped', 'the subscription does not copy pending orders');
  const link = managedOrder(signal, ctx);
  if (isSkip(link)) return link;
  if (s.pendingOnMasterFill === 'leave')
    return skipDecision(
      'order_left_pending',
      `the follower's ${link.side} ${link.orderType} waits for its own price`,
    );
  if (ctx.link)
    return skipDecision('already_copied', `linked to ticket ${ctx.link.ticket ?? '(pending fill)'}`);
  const spec = lookupSymbol(ctx.symbols, link.symbol);
  const point = spec?.point ?? 0;
  const blocked = bookGuards({
    settings: { ...s, maxOpenPositions: null, maxTotalLots: null, maxTradesPerHour: null },
    now: ctx.now,
    side: link.side,
    volume: link.volume,
    masterPrice: signal.price,
    point,
    openPositions: ctx.openPositions,
    openLots: ctx.openLots,
    recentOpenTimes: ctx.recentOpenTimes,
    quote: ctx.quote ?? null,
  });
  if (blocked) return skipFrom(blocked);
  const shaped = followerShape(signal, link.side !== signal.side);
  const stops = isSkip(shaped) ? { sl: null, tp: null } : roundShape(shaped, spec?.digits, ctx);
  const masterPositionId = signal.masterPositionId ?? signal.masterOrderId;
  return {
    action: 'open',
    masterPositionId,
    symbol: link.symbol,
    side: link.side,
    volume: link.volume,
    rawVolume: link.volume,
    capped: false,
    forced: false,
    sl: stops.sl,
    tp: stops.tp,
    masterPrice: signal.price,
    maxSlippagePoints: s.maxSlippagePoints,
    expiresAt: signalDeadline(ctx, signal.occurredAt),
    comment: positionTag(ctx.groupId, masterPositionId),
    replacesOrder: { masterOrderId: signal.masterOrderId, ticket: link.ticket },
    reason: 'order_filled_at_market',
  };
}

export function planOrder(signal: MasterOrderSignal, ctx: OrderContext): OrderDecision {
  switch (signal.type) {
    case 'order.placed':
      return planOrderPlace(signal, ctx);
    case 'order.modified':
      return planOrderModify(signal, ctx);
    case 'order.cancelled':
      return planOrderCancel(signal, ctx);
    case 'order.filled':
      return planOrderFill(signal, ctx);
  }
}
