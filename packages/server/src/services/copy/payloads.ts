import { isoTime } from '@kopitra/contracts';
import type { OutboxEventType } from '@kopitra/contracts';
import type { CopyDecision } from '@kopitra/engine';

/** The outbox event a (non-skip) copy decision becomes, in the wire shapes of SPEC §2. */
export function outboxPayloadFor(
  d: Exclude<CopyDecision, { action: 'skip' }>,
  ids: { orderId: string; masterAccountId: string },
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
        },
      };
    case 'modify':
      return {
        type: 'trade.modified',
        payload: {
          orderId: ids.orderId,
          masterPositionId: d.masterPositionId,
          ticket: d.ticket,
          symbol: d.symbol,
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
          volume: d.volume,
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
          volume: d.volume,
        },
      };
  }
}
