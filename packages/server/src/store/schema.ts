/**
 * Row types for every table, as Kysely sees them. Times are epoch milliseconds (BIGINT in
 * PostgreSQL, INTEGER in SQLite); JSON is stored as text; booleans as 0/1.
 * Domain and wire types live elsewhere; repositories map between them.
 */
import type {
  AccountKey,
  Alert,
  CopyOrderKind,
  CopyOrderStatus,
  Delivery,
  Group,
  PendingOrderType,
  Platform,
  Position,
  Role,
  SessionRole,
  TaskRun,
  User,
  Webhook,
} from '@kopitra/contracts';
import type { ReasonCode } from '@kopitra/engine';
import type { AccountStatus, KeyStatus, SessionPolicy, SessionState, Side } from '@kopitra/engine';
import type { Generated, Kysely, Transaction } from 'kysely';

export interface AccountsTable {
  account_id: string;
  display_name: string | null;
  platform: Platform | null;
  broker: string | null;
  server: string | null;
  currency: string | null;
  status: AccountStatus;
  session_policy: SessionPolicy;
  /** Set when the account was registered by a terminal's first session rather than by an operator. */
  registered_by: string;
  last_sequence: number;
  created_at: number;
  updated_at: number;
}

export interface AccountKeysTable {
  account_id: string;
  fingerprint: string;
  key_hash: string;
  status: KeyStatus;
  origin: AccountKey['origin'];
  expires_at: number | null;
  decided_by: string | null;
  decided_at: number | null;
  decision_reason: string | null;
  created_at: number;
  /** The address (an IPv6 address's /64) a terminal registered this key from; null for operator keys. */
  registered_from: string | null;
}

export interface SessionsTable {
  session_id: string;
  account_id: string;
  key_fingerprint: string;
  role: SessionRole;
  platform: Platform;
  ea_version: string;
  terminal_build: number;
  broker: string | null;
  server: string | null;
  client_ip: string | null;
  status: SessionState;
  status_reason: string | null;
  token_hash: string;
  lease_expires_at: number;
  lease_renewed_at: number;
  created_at: number;
  authenticated_at: number | null;
  ended_at: number | null;
}

export interface OutboxEventsTable {
  event_id: string;
  account_id: string;
  sequence: number;
  type: string;
  payload: string;
  /** Only this session may see the event (session.init_ack, session.shutdown); null = the account's current session. */
  target_session_id: string | null;
  occurred_at: number;
  delivered_at: number | null;
  acked_at: number | null;
  acked_by_session: string | null;
  /** The trace context of the signal that queued the event (JSON carrier); null without traces. */
  trace_context: string | null;
}

export interface InboxEventsTable {
  inbox_event_id: string;
  account_id: string;
  session_id: string;
  event_type: string;
  occurred_at: number;
  received_at: number;
  payload: string;
}

export interface AccountTelemetryTable {
  account_id: string;
  balance: number | null;
  equity: number | null;
  margin: number | null;
  free_margin: number | null;
  open_positions: number | null;
  latency_ms: number | null;
  autotrade_enabled: number | null;
  last_heartbeat_at: number | null;
  last_init: string | null;
  last_status_summary: string | null;
  last_sync_snapshot_at: number | null;
  /** The trade server's clock minus UTC in seconds, from the last heartbeat that told it. */
  server_utc_offset_sec: number | null;
  updated_at: number;
}

export interface AccountSymbolsTable {
  account_id: string;
  symbol: string;
  spec: string;
  updated_at: number;
}

export interface IdempotencyKeysTable {
  account_id: string;
  idempotency_key: string;
  route: string;
  /** Keyed hash of the request body; null for keys stored before hashes were kept. */
  request_hash: string | null;
  status_code: number;
  body: string;
  created_at: number;
}

export interface BusMessagesTable {
  position: Generated<number>;
  /** The writing transaction's id on PostgreSQL (0 on SQLite): readers order by (tx, position). */
  tx: Generated<number>;
  message_id: string;
  topic: string;
  body: string;
  published_at: number;
  /** The publisher's trace context (`traceparent`, `tracestate`) as JSON; null without traces. */
  headers?: string | null;
}

export interface BusSubscriptionsTable {
  subscription: string;
  topic: string;
  last_position: number;
  last_tx: Generated<number>;
  updated_at: number;
}

export interface KvTable {
  key: string;
  value: string;
}

export interface CopyGroupsTable {
  group_id: string;
  name: string;
  master_account_id: string;
  status: Group['status'];
  created_at: number;
  updated_at: number;
}

export interface SubscriptionsTable {
  group_id: string;
  follower_account_id: string;
  /** SubscriptionInput as JSON; defaults are applied when read, so changed defaults reach old rows. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export interface SignalsTable {
  signal_id: string;
  master_account_id: string;
  session_id: string;
  client_signal_id: string | null;
  deal_ticket: string | null;
  type: string;
  master_position_id: string;
  symbol: string;
  side: Side;
  volume: number;
  remaining_volume: number | null;
  price: number;
  sl: number | null;
  tp: number | null;
  magic: string | null;
  comment: string | null;
  occurred_at: number;
  received_at: number;
  response: string;
}

/** A position the master holds, folded from its signals (see `master-positions.ts`). */
export interface MasterPositionsTable {
  master_account_id: string;
  master_position_id: string;
  symbol: string;
  side: Side;
  volume: number;
  open_price: number;
  sl: number | null;
  tp: number | null;
  magic: string | null;
  opened_at: number;
  received_at: number;
  updated_at: number;
}

/** A fan-out still being written in batches (see `fanouts.ts`). */
export interface FanoutsTable {
  signal_id: string;
  master_account_id: string;
  seq: number;
  after_group_id: string | null;
  after_follower_id: string | null;
  batches: number;
  orders: number;
  trace_context: string | null;
  created_at: number;
  updated_at: number;
}

export interface CopyOrdersTable {
  order_id: string;
  signal_id: string | null;
  /** The master EA's own id of the signal (`signalId` of `POST /signals`), when it sent one. */
  master_signal_id: string | null;
  /** The master's deal ticket of the signal, when the EA sent one. */
  master_deal_ticket: string | null;
  group_id: string;
  follower_account_id: string;
  master_account_id: string;
  master_position_id: string;
  kind: CopyOrderKind;
  /** `signal` (fan-out) or `reconcile` (a correction). */
  origin: string;
  status: CopyOrderStatus;
  /** Always a code of the reason catalogue (the compiler holds every writer to it). */
  reason: ReasonCode | null;
  /** The specifics in words. */
  detail: string | null;
  symbol: string | null;
  side: Side | null;
  volume: number | null;
  sl: number | null;
  tp: number | null;
  master_price: number | null;
  ticket: string | null;
  fill_price: number | null;
  filled_volume: number | null;
  slippage_points: number | null;
  slippage_amount: number | null;
  profit: number | null;
  /** The broker's (or terminal's) own code and message, as the execution report gave them. */
  error_code: string | null;
  message: string | null;
  outbox_event_id: string | null;
  master_deal_at: number | null;
  signal_received_at: number | null;
  written_at: number;
  delivered_at: number | null;
  acknowledged_at: number | null;
  executed_at: number | null;
  reported_at: number | null;
  expires_at: number | null;
  updated_at: number;
  /** The trace context of the signal's fan-out (JSON carrier); null without traces or for corrections. */
  trace_context: string | null;
}

export interface PositionLinksTable {
  group_id: string;
  follower_account_id: string;
  master_account_id: string;
  master_position_id: string;
  symbol: string;
  side: Side;
  ticket: string | null;
  open_volume: number;
  master_volume: number | null;
  /**
   * The follower positions the link spans (all tagged alike): 1, plus one per add the master
   * made (`position.increased`) on a hedging follower. A netting follower's adds grow one position.
   */
  position_count: number;
  sl: number | null;
  tp: number | null;
  master_price: number;
  signal_at: number;
  status: Position['status'];
  open_order_id: string;
  linked_at: number | null;
  opened_at: number;
  closed_at: number | null;
  updated_at: number;
}

/** The follower's copy of a master's pending order (`order-links.ts`). */
export interface OrderLinksTable {
  group_id: string;
  follower_account_id: string;
  master_account_id: string;
  master_order_id: string;
  /** The position the master's order became, once it filled. */
  master_position_id: string | null;
  symbol: string;
  side: Side;
  order_type: PendingOrderType;
  volume: number;
  master_volume: number;
  price: number;
  stop_limit_price: number | null;
  sl: number | null;
  tp: number | null;
  order_expires_at: number | null;
  /** The follower's order ticket, once reported placed. */
  ticket: string | null;
  /** The position the follower's order became, once it filled. */
  position_ticket: string | null;
  /** `pending` (placed or on its way), `filled`, `cancelled`, `expired`, `failed`, `replaced`. */
  status: OrderLinkStatus;
  place_order_id: string;
  signal_at: number;
  linked_at: number | null;
  created_at: number;
  updated_at: number;
}

export type OrderLinkStatus = 'pending' | 'filled' | 'cancelled' | 'expired' | 'failed' | 'replaced';

export interface AlertsTable {
  alert_id: string;
  account_id: string | null;
  group_id: string | null;
  code: string;
  severity: Alert['severity'];
  message: string;
  dedupe_key: string;
  details: string;
  created_at: number;
  acked_at: number | null;
  acked_by: string | null;
}

export interface AccountMetricMinutesTable {
  account_id: string;
  minute: number;
  balance: number;
  equity: number;
  peak_balance: number;
  peak_equity: number;
}

export interface StopOutsTable {
  stop_out_id: string;
  group_id: string;
  follower_account_id: string;
  limit_key: string;
  period: string;
  metric: string;
  action: string;
  details: string;
  at: number;
  reset_at: number | null;
  reset_by: string | null;
}

export interface UsersTable {
  user_id: string;
  email: string;
  display_name: string;
  role: Role;
  status: User['status'];
  password_hash: string;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface OperatorTokensTable {
  token_id: string;
  user_id: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface AuditLogTable {
  audit_id: string;
  at: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: string | null;
  after: string | null;
  /** The bus message an entry came from; makes the consumer idempotent. */
  message_id: string | null;
}

export interface TaskRunsTable {
  run_id: string;
  task_id: string;
  status: TaskRun['status'];
  progress: number;
  params: string;
  result: string | null;
  error: string | null;
  correlation_id: string;
  requested_by: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** The report the run wrote (in the report store), if any; cleared when retention removes it. */
  report_name: string | null;
  report_size: number | null;
  report_content_type: string | null;
}

export interface WebhooksTable {
  webhook_id: string;
  url: string;
  event_types: string;
  /** AES-256-GCM under a key derived from the instance secret: the secret is needed to sign. */
  secret_enc: string;
  description: string | null;
  /** A disabled webhook gets no new deliveries. */
  status: Webhook['status'];
  created_by: string;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  delivery_id: string;
  webhook_id: string;
  message_id: string;
  event_type: string;
  payload: string;
  status: Delivery['status'];
  attempts: number;
  next_attempt_at: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

/** One unit of claimed work; see store/jobs.ts for the states and the lease. */
export interface JobsTable {
  job_id: string;
  kind: string;
  /** JSON. */
  payload: string;
  unique_key: string | null;
  state: string;
  run_at: number;
  attempts: number;
  max_attempts: number;
  locked_by: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface StreamTicketsTable {
  ticket_hash: string;
  user_id: string;
  token_id: string;
  expires_at: number;
  created_at: number;
}

/** An account that takes external signals, with its sealed secret. */
export interface SignalSourcesTable {
  account_id: string;
  /** AES-256-GCM under a key derived from the instance secret: HMAC verification needs the secret. */
  secret_enc: string;
  rotated_by: string;
  rotated_at: number;
  created_at: number;
}

export interface DB {
  jobs: JobsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  users: UsersTable;
  operator_tokens: OperatorTokensTable;
  stream_tickets: StreamTicketsTable;
  audit_log: AuditLogTable;
  task_runs: TaskRunsTable;
  account_metric_minutes: AccountMetricMinutesTable;
  stop_outs: StopOutsTable;
  copy_groups: CopyGroupsTable;
  subscriptions: SubscriptionsTable;
  signals: SignalsTable;
  signal_sources: SignalSourcesTable;
  master_positions: MasterPositionsTable;
  fanouts: FanoutsTable;
  copy_orders: CopyOrdersTable;
  position_links: PositionLinksTable;
  order_links: OrderLinksTable;
  alerts: AlertsTable;
  accounts: AccountsTable;
  account_keys: AccountKeysTable;
  sessions: SessionsTable;
  outbox_events: OutboxEventsTable;
  inbox_events: InboxEventsTable;
  account_telemetry: AccountTelemetryTable;
  account_symbols: AccountSymbolsTable;
  idempotency_keys: IdempotencyKeysTable;
  bus_messages: BusMessagesTable;
  bus_subscriptions: BusSubscriptionsTable;
  kv: KvTable;
}

/** Anything repositories can run queries on: the database or an open transaction. */
export type Db = Kysely<DB> | Transaction<DB>;
