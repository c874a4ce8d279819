/**
 * Pending orders at the simulated broker: when a limit or stop order's price is reached, the
 * broker's stops level a placement must keep from the market, and the MetaTrader return
 * codes of the refusals.
 */
import { isoTime, type Side, type SnapshotOrder } from '@kopitra/contracts';
import type { Quote } from './price-feed.js';

/** The pending order types the simulated broker takes (a stop-limit needs a second price walk). */
export type SimOrderType = 'limit' | 'stop';

/** One pending order on an account's book. */
export interface SimOrder {
  ticket: string;
  symbol: string;
  side: Side;
  orderType: SimOrderType;
  volume: number;
  price: number;
  sl: number | null;
  tp: number | null;
  /** Epoch ms; `null`: good till cancelled. */
  expiresAt: number | null;
  comment: string;
  magic: string;
  placedAt: number;
}

/** MetaTrader 5's TRADE_RETCODE_INVALID_PRICE: a pending order on the wrong side of the market. */
export const RETCODE_INVALID_PRICE = 10015;
/** MetaTrader 5's TRADE_RETCODE_INVALID_STOPS: a price closer to the market than the stops level. */
export const RETCODE_INVALID_STOPS = 10016;
/** MetaTrader 5's TRADE_RETCODE_INVALID_ORDER: no such order. */
export const RETCODE_INVALID_ORDER = 10035;

/** The side of the book an order's price is compared with: buys with the ask, sells with the bid. */
const marketOf = (side: Side, q: Quote): number => (side === 'buy' ? q.ask : q.bid);

/**
 * Whether the market reached the order: a buy limit at or under its price, a buy stop at or
 * over it; the mirror image for sells.
 */
export function crossed(order: Pick<SimOrder, 'side' | 'orderType' | 'price'>, q: Quote): boolean {
  const m = marketOf(order.side, q);
  const below = order.side === 'buy' ? order.orderType === 'limit' : order.orderType === 'stop';
  return below ? m <= order.price : m >= order.price;
}

/**
 * Why the broker refuses a pending order at `price` now, or null: a limit must wait below
 * (buy) or above (sell) the market and a stop beyond it, at least `stopsLevelPoints` away.
 */
export function placementRefusal(
  order: Pick<SimOrder, 'side' | 'orderType' | 'price'>,
  q: Quote,
  point: number,
  stopsLevelPoints: number,
): { code: number; message: string } | null {
  const m = marketOf(order.side, q);
  const below = order.side === 'buy' ? order.orderType === 'limit' : order.orderType === 'stop';
  const gap = below ? m - order.price : order.price - m;
  if (gap <= 0)
    return {
      code: RETCODE_INVALID_PRICE,
      message: `${order.side} ${order.orderType} at ${order.price} is on the wrong side of the market (${m})`,
    };
  if (gap < stopsLevelPoints * point - 1e-12)
    return {
      code: RETCODE_INVALID_STOPS,
      message: `${order.side} ${order.orderType} at ${order.price} is ${Math.round(gap / point)} points from the market; the stops level is ${stopsLevelPoints}`,
    };
  return null;
}

/** The `ea.sync_snapshot` entry of an order. */
export function snapshotOrder(o: SimOrder): SnapshotOrder {
  return {
    ticket: o.ticket,
    symbol: o.symbol,
    side: o.side,
    orderType: o.orderType,
    volume: o.volume,
    price: o.price,
    sl: o.sl,
    tp: o.tp,
    expiresAt: o.expiresAt === null ? null : isoTime(o.expiresAt),
    magic: o.magic,
    ...(o.comment ? { comment: o.comment } : {}),
  };
}
