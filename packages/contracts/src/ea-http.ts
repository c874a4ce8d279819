/**
 * EA ⇄ gateway wire contract (base path `/trade-agent/v1`). Parsed by the gateway, the SDK
 * and the simulator alike. Times are ISO-8601 UTC strings; numbers are JSON numbers.
 */
import { z } from 'zod';

export const EA_BASE_PATH = '/trade-agent/v1';
export const ACCOUNT_HEADER = 'x-tradeagent-account';
export const IDEMPOTENCY_HEADER = 'idempotency-key';

export const Timestamp = z.iso.datetime({ offset: true });
export const AccountId = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, . _ : - only');
export type AccountId = z.infer<typeof AccountId>;
export const Platform = z.enum(['MT4', 'MT5']);
export type Platform = z.infer<typeof Platform>;
export const SessionRole = z.enum(['master', 'follower']);
export type SessionRole = z.infer<typeof SessionRole>;
export const Side = z.enum(['buy', 'sell']);
export type Side = z.infer<typeof Side>;
const Volume = z.number().positive().max(1_000_000);
/** The largest value of the 32-bit integer columns these numbers are stored in. */
const INT32_MAX = 2_147_483_647;
const Price = z.number().nonnegative();
const Ticket = z.union([z.string().min(1).max(64), z.number().int().nonnegative()]).transform(String);

const MAGIC_MIN = -(2n ** 63n);
const MAGIC_MAX = 2n ** 64n - 1n;
/**
 * A magic number, carried as a canonical decimal string: MT5's is a 64-bit unsigned integer
 * that a JSON number (a double) cannot hold above 2^53, MT4's a signed 32-bit one. The EA
 * sends a decimal string; a JSON integer is still accepted from older EAs.
 */
export const Magic = z
  .union([z.number().int().safe(), z.string().regex(/^-?\d{1,20}$/, 'a decimal integer')])
  .transform((v) => BigInt(v))
  .refine((v) => v >= MAGIC_MIN && v <= MAGIC_MAX, 'outside the 64-bit range')
  .transform((v) => v.toString());
export type Magic = z.output<typeof Magic>;

// --- sessions ----------------------------------------------------------------------------

export const CreateSessionRequest = z.object({
  authMethod: z.literal('account_session_key'),
  authKey: z.string().min(16, 'at least 16 characters').max(256),
  platform: Platform,
  role: SessionRole,
  eaVersion: z.string().min(1).max(32),
  terminalBuild: z.number().int().nonnegative().max(INT32_MAX),
  broker: z.string().max(128).optional(),
  server: z.string().max(128).optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

export const SessionStatus = z.enum(['pending', 'authenticated']);
export type SessionStatus = z.infer<typeof SessionStatus>;

export const CreateSessionResponse = z.object({
  sessionId: z.string(),
  token: z.string(),
  status: SessionStatus,
  heartbeatIntervalSec: z.number().int().positive(),
  leaseExpiresAt: Timestamp,
  lastSequence: z.number().int().nonnegative(),
});
export type CreateSessionResponse = z.infer<typeof CreateSessionResponse>;

export const SessionConflictBody = z.object({
  error: z.literal('session_conflict'),
  message: z.string(),
  retryAfterSec: z.number().int().nonnegative(),
  activeSince: Timestamp,
});

// --- outbox (gateway → EA) ---------------------------------------------------------------

export const OutboxQuery = z.object({
  cursor: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  wait: z.coerce.number().min(0).max(30).default(0),
});
export type OutboxQuery = z.infer<typeof OutboxQuery>;

export const OutboxEventType = z.enum([
  'session.init_ack',
  'trade.started',
  'trade.increased',
  'trade.modified',
  'trade.partial_close',
  'trade.closed',
  'trade.order_placed',
  'trade.order_modified',
  'trade.order_cancelled',
  'order.command',
  'order.cancel',
  'sync.request',
  'error.alert',
  'session.shutdown',
]);
export type OutboxEventType = z.infer<typeof OutboxEventType>;

export const SessionInitAckPayload = z.object({
  sessionId: z.string(),
  accountId: z.string(),
  role: SessionRole,
  heartbeatIntervalSec: z.number().int().positive(),
  symbolCatalogRequested: z.boolean(),
  syncSnapshotRequested: z.boolean(),
});
export type SessionInitAckPayload = z.infer<typeof SessionInitAckPayload>;

export const SessionShutdownPayload = z.object({
  reason: z.enum(['takeover', 'terminated', 'rejected', 'disabled']),
  message: z.string(),
  /** null: do not reconnect on your own (taken over, rejected, terminated); a number: reconnect after that many seconds. */
  reconnectAfterSec: z.number().int().nonnegative().nullable(),
});
export type SessionShutdownPayload = z.infer<typeof SessionShutdownPayload>;

export const TradeStartedPayload = z.object({
  orderId: z.string(),
  masterAccountId: z.string(),
  masterPositionId: z.string(),
  symbol: z.string(),
  side: Side,
  volume: z.number(),
  sl: z.number().nullable(),
  tp: z.number().nullable(),
  masterPrice: z.number(),
  maxSlippage: z.number().nullable(),
  expiresAt: Timestamp,
  comment: z.string(),
  /**
   * The follower's unfilled copy of the master's pending order this open replaces: the EA
   * deletes it first and opens only if the delete succeeded (if it filled meanwhile, it
   * reports that fill instead).
   */
  replacesOrder: z.object({ masterOrderId: z.string(), ticket: z.string().nullable() }).optional(),
});
export type TradeStartedPayload = z.infer<typeof TradeStartedPayload>;

/**
 * `trade.increased`: the master (a netting account) added to the position this copy follows.
 * A hedging follower opens a second position of `volume` carrying the same `comment` (tag); a
 * netting follower deals `volume` more on its net position. `ticket` is the copy's first
 * position, once known.
 */
export const TradeIncreasedPayload = TradeStartedPayload.omit({ replacesOrder: true }).extend({
  ticket: z.string().nullable(),
});
export type TradeIncreasedPayload = z.infer<typeof TradeIncreasedPayload>;

export const TradeFollowUpPayload = z.object({
  orderId: z.string(),
  masterPositionId: z.string(),
  ticket: z.string().nullable(),
  symbol: z.string(),
  volume: z.number().optional(),
  /**
   * The copy's side (`trade.partial_close`, `trade.closed`): on a netting account the exit is a
   * deal of `volume` on the other side, whichever way the net position stands.
   */
  side: Side.optional(),
  /**
   * `trade.partial_close` and `trade.closed` of a copy spanning several follower positions (a
   * hedging follower's adds, all tagged alike): the partial close is spread over them newest
   * first, the close closes them all. Absent: the copy is the one position.
   */
  positions: z.number().int().min(2).optional(),
  sl: z.number().nullable().optional(),
  tp: z.number().nullable().optional(),
  /** The position's tag (`positionTag`): finds this copy group's position while the ticket is unknown. */
  comment: z.string().optional(),
});
export type TradeFollowUpPayload = z.infer<typeof TradeFollowUpPayload>;

export const PendingOrderType = z.enum(['limit', 'stop', 'stop_limit']);
export type PendingOrderType = z.infer<typeof PendingOrderType>;

/** `trade.order_placed`, `trade.order_modified` and `trade.order_cancelled`: the follower's own pending order. */
export const TradeOrderPayload = z.object({
  orderId: z.string(),
  masterOrderId: z.string(),
  /** The follower's order ticket, once known (modify and cancel). */
  ticket: z.string().nullable().optional(),
  symbol: z.string(),
  side: Side,
  orderType: PendingOrderType,
  volume: z.number(),
  price: z.number(),
  stopLimitPrice: z.number().nullable().optional(),
  sl: z.number().nullable(),
  tp: z.number().nullable(),
  /** The order's own expiry; absent or `null`: good till cancelled. */
  expiresAt: Timestamp.nullable().optional(),
  /** Only `trade.order_placed`: after this the EA must not place it any more. */
  placeBy: Timestamp.optional(),
  comment: z.string(),
});
export type TradeOrderPayload = z.infer<typeof TradeOrderPayload>;

export const OutboxEvent = z.object({
  eventId: z.string(),
  sequence: z.number().int().positive(),
  type: OutboxEventType,
  occurredAt: Timestamp,
  payload: z.record(z.string(), z.unknown()),
});
export type OutboxEvent = z.infer<typeof OutboxEvent>;

export const OutboxResponse = z.object({
  status: SessionStatus,
  events: z.array(OutboxEvent),
  nextCursor: z.number().int().nonnegative(),
  retryAfter: z.number().optional(),
});
export type OutboxResponse = z.infer<typeof OutboxResponse>;

// --- inbox (EA → gateway) ----------------------------------------------------------------

export const OutboxAck = z.object({
  eventType: z.literal('OutboxAck'),
  eventId: z.string().min(1).max(64),
  sequence: z.number().int().positive().optional(),
});

export const EaInitPayload = z.object({
  eaVersion: z.string().max(32).optional(),
  terminalBuild: z.number().int().optional(),
  accountCurrency: z.string().max(8).optional(),
  accountName: z.string().max(128).optional(),
  leverage: z.number().int().positive().optional(),
  marginMode: z.enum(['netting', 'hedging', 'exchange']).optional(),
  tradeAllowed: z.boolean().optional(),
});
/** Clocks run from UTC−12 to UTC+14. */
const MAX_UTC_OFFSET_SEC = 14 * 3600;
export const HeartbeatPayload = z.object({
  balance: z.number(),
  equity: z.number(),
  margin: z.number().nonnegative(),
  freeMargin: z.number().optional(),
  openPositions: z.number().int().nonnegative().max(INT32_MAX),
  latencyMs: z.number().nonnegative().optional(),
  /**
   * The trade server's clock minus UTC, in seconds (EAs round it to 15 minutes): risk-limit
   * days, weeks and months of this account start at the broker's midnight, not UTC's.
   */
  serverUtcOffsetSec: z
    .number()
    .int()
    .min(-MAX_UTC_OFFSET_SEC)
    .max(MAX_UTC_OFFSET_SEC)
    .refine((s) => s % 60 === 0, 'a whole number of minutes')
    .optional(),
});
export type HeartbeatPayload = z.infer<typeof HeartbeatPayload>;
export const StatusSummaryPayload = z
  .object({
    state: z.string().max(64).optional(),
    openPositions: z.number().int().nonnegative().optional(),
    pendingOrders: z.number().int().nonnegative().optional(),
    lastError: z.string().max(1024).optional(),
  })
  .catchall(z.unknown());
export const SymbolSpec = z.object({
  symbol: z.string().min(1).max(64),
  digits: z.number().int().min(0).max(10),
  point: z.number().positive(),
  tickSize: z.number().positive(),
  tickValue: z.number().nonnegative(),
  contractSize: z.number().positive(),
  volumeMin: z.number().positive(),
  volumeMax: z.number().positive(),
  volumeStep: z.number().positive(),
  tradeMode: z.enum(['full', 'long_only', 'short_only', 'close_only', 'disabled']),
});
export type SymbolSpec = z.infer<typeof SymbolSpec>;
export const SymbolCatalogPayload = z.object({ symbols: z.array(SymbolSpec).max(5000) });
export const AutotradeStatusPayload = z.object({ enabled: z.boolean() });
export const ExecutionNoticePayload = z
  .object({
    orderId: z.string().optional(),
    /** The outcome of a manual `order.command` (which has no copy order to report on). */
    commandId: z.string().max(64).optional(),
    action: z.string().max(32).optional(),
    status: z.enum(['filled', 'rejected', 'failed']).optional(),
    ticket: Ticket.optional(),
    previousTicket: Ticket.optional(),
    symbol: z.string().optional(),
    volume: z.number().nonnegative().optional(),
    message: z.string().max(1024).optional(),
  })
  .catchall(z.unknown());
export const SnapshotPosition = z.object({
  ticket: Ticket,
  symbol: z.string().min(1).max(64),
  side: Side,
  volume: Volume,
  openPrice: Price,
  sl: z.number().nullable().optional(),
  tp: z.number().nullable().optional(),
  comment: z.string().max(64).optional(),
  magic: Magic.optional(),
});
export type SnapshotPosition = z.infer<typeof SnapshotPosition>;
/** A pending order on the terminal's book (`ea.sync_snapshot.orders`). */
export const SnapshotOrder = z.object({
  ticket: Ticket,
  symbol: z.string().min(1).max(64),
  side: Side,
  orderType: PendingOrderType,
  volume: Volume,
  price: Price,
  stopLimitPrice: z.number().nonnegative().nullable().optional(),
  sl: z.number().nullable().optional(),
  tp: z.number().nullable().optional(),
  expiresAt: Timestamp.nullable().optional(),
  comment: z.string().max(64).optional(),
  magic: Magic.optional(),
});
export type SnapshotOrder = z.infer<typeof SnapshotOrder>;
/** `orders` is optional: a terminal that does not send it says nothing about its pending orders. */
export const SyncSnapshotPayload = z.object({
  positions: z.array(SnapshotPosition).max(10_000),
  orders: z.array(SnapshotOrder).max(10_000).optional(),
});
export type SyncSnapshotPayload = z.infer<typeof SyncSnapshotPayload>;
export const EaErrorPayload = z.object({
  code: z.union([z.string(), z.number()]).optional(),
  message: z.string().max(2048),
});

const telemetry = <T extends string, P extends z.ZodType>(eventType: T, payload: P) =>
  z.object({ eventType: z.literal(eventType), occurredAt: Timestamp.optional(), payload });

export const InboxEvent = z.discriminatedUnion('eventType', [
  OutboxAck,
  telemetry('ea.init', EaInitPayload),
  telemetry('ea.heartbeat', HeartbeatPayload),
  telemetry('ea.status_summary', StatusSummaryPayload),
  telemetry('ea.symbol_catalog', SymbolCatalogPayload),
  telemetry('ea.autotrade_status', AutotradeStatusPayload),
  telemetry('ea.execution_notice', ExecutionNoticePayload),
  telemetry('ea.sync_snapshot', SyncSnapshotPayload),
  telemetry('ea.error', EaErrorPayload),
]);
export type InboxEvent = z.infer<typeof InboxEvent>;
export type TelemetryEvent = Exclude<InboxEvent, { eventType: 'OutboxAck' }>;
export type TelemetryType = TelemetryEvent['eventType'];
export const telemetryTypes = [
  'ea.init',
  'ea.heartbeat',
  'ea.status_summary',
  'ea.symbol_catalog',
  'ea.autotrade_status',
  'ea.execution_notice',
  'ea.sync_snapshot',
  'ea.error',
] as const satisfies readonly TelemetryType[];
/** Telemetry a pending (not yet approved) session may send. */
export const pendingAllowedTelemetry: readonly TelemetryType[] = [
  'ea.init',
  'ea.heartbeat',
  'ea.status_summary',
  'ea.error',
  'ea.autotrade_status',
];

export const InboxRequest = z.object({ events: z.array(InboxEvent).min(1).max(500) });
export type InboxRequest = z.infer<typeof InboxRequest>;

export const InboxResponse = z.object({
  accepted: z.number().int().nonnegative(),
  acked: z.number().int().nonnegative(),
  refused: z.array(z.object({ index: z.number().int(), eventType: z.string(), reason: z.string() })),
});
export type InboxResponse = z.infer<typeof InboxResponse>;

// --- trade messages -----------------------------------------------------------------------

export const SignalType = z.enum([
  'position.opened',
  'position.increased',
  'position.modified',
  'position.partially_closed',
  'position.closed',
]);
export type SignalType = z.infer<typeof SignalType>;

export const SignalRequest = z.object({
  signalId: z.string().min(1).max(64).optional(),
  type: SignalType,
  masterPositionId: Ticket,
  symbol: z.string().min(1).max(64),
  side: Side,
  volume: Volume,
  remainingVolume: z.number().nonnegative().optional(),
  price: Price,
  sl: z.number().nonnegative().nullable().optional(),
  tp: z.number().nonnegative().nullable().optional(),
  magic: Magic.optional(),
  comment: z.string().max(64).optional(),
  occurredAt: Timestamp,
  dealTicket: Ticket.optional(),
});
export type SignalRequest = z.infer<typeof SignalRequest>;

export const OrderSignalType = z.enum(['order.placed', 'order.modified', 'order.cancelled', 'order.filled']);
export type OrderSignalType = z.infer<typeof OrderSignalType>;

/** A master's pending order placed, modified, cancelled (or expired) or filled (SPEC §2 "Pending orders"). */
export const OrderSignalRequest = z.object({
  signalId: z.string().min(1).max(64).optional(),
  type: OrderSignalType,
  masterOrderId: Ticket,
  /** `order.filled`: the position the order became. */
  masterPositionId: Ticket.optional(),
  symbol: z.string().min(1).max(64),
  side: Side,
  orderType: PendingOrderType,
  volume: Volume,
  /** The order's price; for `order.filled`, the fill price. */
  price: Price,
  stopLimitPrice: z.number().nonnegative().nullable().optional(),
  sl: z.number().nonnegative().nullable().optional(),
  tp: z.number().nonnegative().nullable().optional(),
  expiresAt: Timestamp.nullable().optional(),
  magic: Magic.optional(),
  comment: z.string().max(64).optional(),
  occurredAt: Timestamp,
  dealTicket: Ticket.optional(),
});
export type OrderSignalRequest = z.infer<typeof OrderSignalRequest>;

/** What a copy order does to the follower's position. */
export const CopyOrderKind = z.enum([
  'open',
  'increase',
  'modify',
  'partial_close',
  'close',
  'place_order',
  'modify_order',
  'cancel_order',
]);
export type CopyOrderKind = z.infer<typeof CopyOrderKind>;

/**
 * `withdrawn`: taken back by the gateway before delivery (the master closed the position
 * first); the terminal never received it.
 */
export const CopyOrderStatus = z.enum([
  'queued',
  'delivered',
  'acknowledged',
  'filled',
  'rejected',
  'failed',
  'expired',
  'skipped',
  'withdrawn',
]);
export type CopyOrderStatus = z.infer<typeof CopyOrderStatus>;
export const isCopyOrderStatus = (s: string): s is CopyOrderStatus =>
  (CopyOrderStatus.options as readonly string[]).includes(s);
export const isCopyOrderKind = (s: string): s is CopyOrderKind =>
  (CopyOrderKind.options as readonly string[]).includes(s);

export const SignalResponse = z.object({
  signalId: z.string(),
  copies: z.array(
    z.object({
      followerAccountId: z.string(),
      groupId: z.string(),
      orderId: z.string(),
      status: CopyOrderStatus,
      volume: z.number().optional(),
    }),
  ),
  skipped: z.array(
    z.object({
      followerAccountId: z.string(),
      groupId: z.string(),
      orderId: z.string(),
      reason: z.string(),
      detail: z.string(),
    }),
  ),
  /**
   * Subscriptions whose copy orders are written after this answer, in further batches (a large
   * fan-out, or one queued behind an earlier signal of the master still being written).
   */
  deferred: z.number().int().positive().optional(),
});
export type SignalResponse = z.infer<typeof SignalResponse>;

/** `placed`: a pending order is on the follower's book (its `ticket` is the order's). */
export const ExecutionRequest = z.object({
  orderId: z.string().min(1).max(64),
  status: z.enum(['filled', 'placed', 'rejected', 'failed']),
  ticket: Ticket.optional(),
  price: Price.optional(),
  volume: z.number().nonnegative().optional(),
  executedAt: Timestamp,
  errorCode: z.union([z.string(), z.number()]).optional(),
  message: z.string().max(1024).optional(),
  profit: z.number().optional(),
});
export type ExecutionRequest = z.infer<typeof ExecutionRequest>;

export const ExecutionResponse = z.object({
  orderId: z.string(),
  status: CopyOrderStatus,
  ticket: z.string().nullable(),
  slippagePoints: z.number().nullable(),
});
export type ExecutionResponse = z.infer<typeof ExecutionResponse>;

// --- management plane ---------------------------------------------------------------------

/** A manual order an operator queues for one session (`order.command`). */
export const ManualOrderRequest = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('open'),
    symbol: z.string().min(1).max(64),
    side: Side,
    volume: Volume,
    sl: z.number().nonnegative().nullable().optional(),
    tp: z.number().nonnegative().nullable().optional(),
    comment: z.string().max(31).optional(),
  }),
  z.object({ action: z.literal('close'), ticket: Ticket, volume: Volume.optional() }),
  z.object({
    action: z.literal('modify'),
    ticket: Ticket,
    sl: z.number().nonnegative().nullable().optional(),
    tp: z.number().nonnegative().nullable().optional(),
  }),
  z.object({ action: z.literal('close_all'), symbol: z.string().min(1).max(64).optional() }),
]);
export type ManualOrderRequest = z.infer<typeof ManualOrderRequest>;

export const ManualOrderResponse = z.object({
  commandId: z.string(),
  sessionId: z.string(),
  accountId: z.string(),
  eventId: z.string(),
  sequence: z.number().int().positive(),
});
export type ManualOrderResponse = z.infer<typeof ManualOrderResponse>;

// --- health ------------------------------------------------------------------------------

export const HealthResponse = z.object({
  status: z.enum(['ok', 'unavailable']),
  version: z.string(),
  uptimeSec: z.number(),
  checks: z.record(
    z.string(),
    z.object({
      ok: z.boolean(),
      latencyMs: z.number().optional(),
      error: z.string().optional(),
      /** Which adapter serves this dependency (the bus: embedded, nats or service-bus). */
      adapter: z.string().optional(),
    }),
  ),
});
export type HealthResponse = z.infer<typeof HealthResponse>;
