/**
 * Rows that position signals, pending-order signals and late joins write alike: the stored
 * signal, a subscription's copy order for a signal, and the link of a copy just opened.
 */
import type { OrderSignalRequest, SignalRequest } from '@kopitra/contracts';
import type { CopyDecision, OrderDecision, Side } from '@kopitra/engine';
import { NOT_YET_EXECUTED, type CopyOrderRow, type LinkRow, type SignalRow } from '../../store/copy.js';

/** The stored signal, as the master sent it; its response is filled in once the fan-out is written. */
export const signalRowOf = (
  req: SignalRequest | OrderSignalRequest,
  row: Pick<
    SignalRow,
    | 'signal_id'
    | 'master_account_id'
    | 'session_id'
    | 'master_position_id'
    | 'remaining_volume'
    | 'occurred_at'
    | 'received_at'
  >,
): SignalRow => ({
  ...row,
  client_signal_id: req.signalId ?? null,
  deal_ticket: req.dealTicket ?? null,
  type: req.type,
  symbol: req.symbol,
  side: req.side,
  volume: req.volume,
  price: req.price,
  sl: req.sl ?? null,
  tp: req.tp ?? null,
  magic: req.magic ?? null,
  comment: req.comment ?? null,
  response: '{}',
});

/** A stored signal, as every copy order written for it records it. */
export interface StoredSignal {
  readonly signalId: string;
  readonly masterAccountId: string;
  readonly receivedAt: number;
  readonly masterSignalId: string | null;
  readonly masterDealTicket: string | null;
  readonly traceContext: string | null;
}

/** Which subscription a copy order is for, and when it is written. */
export interface OrderTarget {
  readonly orderId: string;
  readonly groupId: string;
  readonly followerAccountId: string;
  readonly now: number;
}

/**
 * A signal's copy order for one subscription: skipped, or queued with the decision's symbol
 * and side; `fields` say how the decision reads as a copy order.
 */
export const signalOrderRow = (
  stored: StoredSignal,
  o: OrderTarget,
  signal: {
    readonly symbol: string;
    readonly side: Side;
    readonly price: number;
    readonly occurredAt: number;
  },
  d: CopyDecision | OrderDecision,
  fields: Pick<
    CopyOrderRow,
    'master_position_id' | 'kind' | 'reason' | 'detail' | 'volume' | 'sl' | 'tp' | 'ticket' | 'expires_at'
  >,
): CopyOrderRow => ({
  ...fields,
  order_id: o.orderId,
  signal_id: stored.signalId,
  master_signal_id: stored.masterSignalId,
  master_deal_ticket: stored.masterDealTicket,
  group_id: o.groupId,
  follower_account_id: o.followerAccountId,
  master_account_id: stored.masterAccountId,
  origin: 'signal',
  status: d.action === 'skip' ? 'skipped' : 'queued',
  // A skipped order names the master's symbol and side: no follower symbol was mapped.
  symbol: d.action === 'skip' ? signal.symbol : d.symbol,
  side: d.action === 'skip' ? signal.side : d.side,
  master_price: signal.price,
  ...NOT_YET_EXECUTED,
  outbox_event_id: null,
  master_deal_at: signal.occurredAt,
  signal_received_at: stored.receivedAt,
  written_at: o.now,
  updated_at: o.now,
  trace_context: stored.traceContext,
});

/**
 * The link of a copy whose open was just queued: the position the follower is expected to
 * hold, without a ticket until the fill is reported.
 */
export const openedLinkRow = (l: {
  readonly groupId: string;
  readonly followerAccountId: string;
  readonly masterAccountId: string;
  readonly masterPositionId: string;
  readonly open: {
    readonly symbol: string;
    readonly side: Side;
    readonly volume: number;
    readonly sl: number | null;
    readonly tp: number | null;
  };
  readonly orderId: string;
  readonly masterVolume: number;
  readonly masterPrice: number;
  readonly signalAt: number;
  readonly now: number;
}): LinkRow => ({
  group_id: l.groupId,
  follower_account_id: l.followerAccountId,
  master_account_id: l.masterAccountId,
  master_position_id: l.masterPositionId,
  symbol: l.open.symbol,
  side: l.open.side,
  ticket: null,
  open_volume: l.open.volume,
  master_volume: l.masterVolume,
  position_count: 1,
  sl: l.open.sl,
  tp: l.open.tp,
  master_price: l.masterPrice,
  signal_at: l.signalAt,
  status: 'open',
  open_order_id: l.orderId,
  linked_at: null,
  opened_at: l.now,
  closed_at: null,
  updated_at: l.now,
});
