import { isoTime, positionTag } from '@kopitra/contracts';
import type { OutboxEventType } from '@kopitra/contracts';
import { spans, type CopyDecision, type OrderDecision } from '@kopitra/engine';

/**
 * The outbox event a (non-skip) copy decision becomes, in the wire shapes of SPEC §2. Follow-ups
 * (modify, partial close, close) carry the position's tag too, so an EA that does not know the
 * ticket yet finds this copy group's position and never another group's with the same id.
 */
export function outboxPayloadFor(
  d: Exclude<CopyDecision | OrderDecision, { action: 'skip' }>,
  ids: { orderId: string; masterAccountId: string; groupId: string },
): { type: OutboxEventType; payload: Record<string, unknown> } {
  switch (d.action) {
    case 'open':
      return {
        type: 'trade.started',
        payload: {
          orderId: ids.orderId,
          masterAccountId: ids.masterAccountId,
          masterPositionId: d.masterPositionId,
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          sl: d.sl,
          tp: d.tp,
          masterPrice: d.masterPrice,
          maxSlippage: d.maxSlippagePoints,
          expiresAt: isoTime(d.expiresAt),
          comment: d.comment,
          ...('replacesOrder' in d ? { replacesOrder: d.replacesOrder } : {}),
        },
      };
    case 'increase':
      return {
        type: 'trade.increased',
        payload: {
          orderId: ids.orderId,
          masterAccountId: ids.masterAccountId,
          masterPositionId: d.masterPositionId,
          ticket: d.ticket,
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          sl: d.sl,
          tp: d.tp,
          masterPrice: d.masterPrice,
          maxSlippage: d.maxSlippagePoints,
          expiresAt: isoTime(d.expiresAt),
          comment: d.comment,
        },
      };
    case 'place_order':
      return {
        type: 'trade.order_placed',
        payload: { ...orderPayload(d, ids.orderId, null), placeBy: isoTime(d.expiresAt) },
      };
    case 'modify_order':
      return { type: 'trade.order_modified', payload: orderPayload(d, ids.orderId, d.ticket) };
    case 'cancel_order':
      return { type: 'trade.order_cancelled', payload: orderPayload(d, ids.orderId, d.ticket) };
    case 'modify':
      return {
        type: 'trade.modified',
        payload: {
          orderId: ids.orderId,
          masterPositionId: d.masterPositionId,
          ticket: d.ticket,
          symbol: d.symbol,
          comment: positionTag(ids.groupId, d.masterPositionId),
          ...(d.sl !== undefined ? { sl: d.sl } : {}),
          ...(d.tp !== undefined ? { tp: d.tp } : {}),
        },
      };
    case 'partial_close':
      return {
        type: 'trade.partial_close',
        payload: {
          orderId: ids.orderId,
          masterPositionId: d.masterPositionId,
          ticket: d.ticket,
          symbol: d.symbol,
          side: d.side,
          comment: positionTag(ids.groupId, d.masterPositionId),
          volume: d.volume,
          ...spans(d),
        },
      };
    case 'close':
      return {
        type: 'trade.closed',
        payload: {
          orderId: ids.orderId,
          masterPositionId: d.masterPositionId,
          ticket: d.ticket,
          symbol: d.symbol,
          side: d.side,
          comment: positionTag(ids.groupId, d.masterPositionId),
          volume: d.volume,
          ...spans(d),
        },
      };
  }
}

/** The follower's pending order in the wire shape of `trade.order_*` (`TradeOrderPayload`). */
function orderPayload(
  d: Extract<OrderDecision, { action: 'place_order' | 'modify_order' | 'cancel_order' }>,
  orderId: string,
  ticket: string | null,
): Record<string, unknown> {
  return {
    orderId,
    masterOrderId: d.masterOrderId,
    ticket,
    symbol: d.symbol,
    side: d.side,
    orderType: d.orderType,
    volume: d.volume,
    price: d.price,
    stopLimitPrice: d.stopLimitPrice,
    sl: d.sl,
    tp: d.tp,
    expiresAt: d.orderExpiresAt === null ? null : isoTime(d.orderExpiresAt),
    comment: d.comment,
  };
}
