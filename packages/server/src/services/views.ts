/**
 * Row → wire mappers for the management API. Each returns the type of its contract in
 * `@kopitra/contracts` (management-responses.ts), so an answer cannot drift from what the
 * OpenAPI document and the console declare.
 */
import { isReasonCode, describeReason } from '@kopitra/engine';
import {
  isoTime,
  isoTimeOrNull,
  type Account,
  type AccountKey,
  type AccountTelemetry,
  type Alert,
  type AuditEntry,
  type CopyOrder,
  type Delivery,
  type Group,
  type PendingOrder,
  type Position,
  type Session,
  type StopOut,
  type SubscriptionSettings,
  type TaskRun,
  type User,
  type Webhook,
} from '@kopitra/contracts';
import type { AccountRow } from '../store/accounts.js';
import type { AlertRow, CopyOrderRow, GroupRow, LinkRow } from '../store/copy.js';
import type { KeyRow } from '../store/keys.js';
import type { OrderLinkRow } from '../store/order-links.js';
import type { StopOutRow } from '../store/risk.js';
import type { AccountTelemetryTable, AuditLogTable, TaskRunsTable, UsersTable } from '../store/schema.js';
import type { SessionRow } from '../store/sessions.js';
import type { DeliveryRow, WebhookRow } from '../store/webhooks.js';

const t = isoTimeOrNull;
const json = (s: string | null): unknown => (s === null ? null : JSON.parse(s));
/** JSON text the server itself wrote from an object (task parameters, subscription settings). */
const jsonObject = <T = Record<string, unknown>>(s: string): T => JSON.parse(s) as T;

export const accountView = (a: AccountRow): Account => ({
  accountId: a.account_id,
  displayName: a.display_name,
  platform: a.platform,
  broker: a.broker,
  server: a.server,
  currency: a.currency,
  status: a.status,
  sessionPolicy: a.session_policy,
  registeredBy: a.registered_by,
  createdAt: isoTime(a.created_at),
  updatedAt: isoTime(a.updated_at),
});

export const keyView = (k: KeyRow): AccountKey => ({
  fingerprint: k.fingerprint,
  status: k.status,
  origin: k.origin,
  expiresAt: t(k.expires_at),
  decidedBy: k.decided_by,
  decidedAt: t(k.decided_at),
  decisionReason: k.decision_reason,
  createdAt: isoTime(k.created_at),
});

export const sessionView = (s: SessionRow): Session => ({
  sessionId: s.session_id,
  accountId: s.account_id,
  role: s.role,
  platform: s.platform,
  status: s.status,
  statusReason: s.status_reason,
  keyFingerprint: s.key_fingerprint,
  eaVersion: s.ea_version,
  terminalBuild: s.terminal_build,
  broker: s.broker,
  server: s.server,
  clientIp: s.client_ip,
  createdAt: isoTime(s.created_at),
  authenticatedAt: t(s.authenticated_at),
  leaseExpiresAt: isoTime(s.lease_expires_at),
  endedAt: t(s.ended_at),
});

type SubscriptionRow = {
  follower_account_id: string;
  settings: string;
  created_at: number;
  updated_at: number;
};

/** A group's own fields, as audit rows record them. */
export const groupFields = (g: GroupRow): Omit<Group, 'followers'> => ({
  groupId: g.group_id,
  name: g.name,
  masterAccountId: g.master_account_id,
  status: g.status,
  createdAt: isoTime(g.created_at),
  updatedAt: isoTime(g.updated_at),
});

export const groupView = (g: GroupRow, followers: SubscriptionRow[]): Group => ({
  ...groupFields(g),
  followers: followers.map((f) => ({
    accountId: f.follower_account_id,
    settings: jsonObject<SubscriptionSettings>(f.settings),
    createdAt: isoTime(f.created_at),
    updatedAt: isoTime(f.updated_at),
  })),
});

export const orderView = (o: CopyOrderRow): CopyOrder => ({
  orderId: o.order_id,
  signalId: o.signal_id,
  masterSignalId: o.master_signal_id,
  masterDealTicket: o.master_deal_ticket,
  groupId: o.group_id,
  followerAccountId: o.follower_account_id,
  masterAccountId: o.master_account_id,
  masterPositionId: o.master_position_id,
  kind: o.kind,
  origin: o.origin,
  status: o.status,
  reason: o.reason,
  /** The reason catalogue's sentence for `reason`, for operators. */
  reasonText: o.reason !== null && isReasonCode(o.reason) ? describeReason(o.reason) : null,
  detail: o.detail,
  symbol: o.symbol,
  side: o.side,
  volume: o.volume,
  sl: o.sl,
  tp: o.tp,
  masterPrice: o.master_price,
  ticket: o.ticket,
  fillPrice: o.fill_price,
  filledVolume: o.filled_volume,
  slippagePoints: o.slippage_points,
  slippageAmount: o.slippage_amount,
  profit: o.profit,
  errorCode: o.error_code,
  message: o.message,
  times: {
    masterDeal: t(o.master_deal_at),
    signalReceived: t(o.signal_received_at),
    written: isoTime(o.written_at),
    delivered: t(o.delivered_at),
    acknowledged: t(o.acknowledged_at),
    executed: t(o.executed_at),
    reported: t(o.reported_at),
    expires: t(o.expires_at),
  },
});

export const positionView = (l: LinkRow): Position => ({
  groupId: l.group_id,
  followerAccountId: l.follower_account_id,
  masterAccountId: l.master_account_id,
  masterPositionId: l.master_position_id,
  symbol: l.symbol,
  side: l.side,
  ticket: l.ticket,
  openVolume: l.open_volume,
  masterVolume: l.master_volume,
  sl: l.sl,
  tp: l.tp,
  status: l.status,
  openedAt: isoTime(l.opened_at),
  closedAt: t(l.closed_at),
});

export const pendingOrderView = (o: OrderLinkRow): PendingOrder => ({
  groupId: o.group_id,
  followerAccountId: o.follower_account_id,
  masterAccountId: o.master_account_id,
  masterOrderId: o.master_order_id,
  masterPositionId: o.master_position_id,
  symbol: o.symbol,
  side: o.side,
  orderType: o.order_type,
  volume: o.volume,
  masterVolume: o.master_volume,
  price: o.price,
  stopLimitPrice: o.stop_limit_price,
  sl: o.sl,
  tp: o.tp,
  expiresAt: t(o.order_expires_at),
  ticket: o.ticket,
  positionTicket: o.position_ticket,
  status: o.status,
  placedAt: isoTime(o.created_at),
  updatedAt: isoTime(o.updated_at),
});

export const alertView = (a: AlertRow): Alert => ({
  alertId: a.alert_id,
  accountId: a.account_id,
  groupId: a.group_id,
  code: a.code,
  severity: a.severity,
  message: a.message,
  details: json(a.details),
  createdAt: isoTime(a.created_at),
  ackedAt: t(a.acked_at),
  ackedBy: a.acked_by,
});

export const stopOutView = (s: StopOutRow): StopOut => ({
  stopOutId: s.stop_out_id,
  groupId: s.group_id,
  followerAccountId: s.follower_account_id,
  period: s.period,
  metric: s.metric,
  action: s.action,
  details: json(s.details),
  at: isoTime(s.at),
  resetAt: t(s.reset_at),
  resetBy: s.reset_by,
  active: s.reset_at === null,
});

export const auditView = (a: AuditLogTable): AuditEntry => ({
  auditId: a.audit_id,
  at: isoTime(a.at),
  actor: a.actor,
  action: a.action,
  targetType: a.target_type,
  targetId: a.target_id,
  before: json(a.before),
  after: json(a.after),
});

export const runView = (r: TaskRunsTable): TaskRun => ({
  runId: r.run_id,
  taskId: r.task_id,
  status: r.status,
  progress: r.progress,
  params: jsonObject(r.params),
  result: json(r.result),
  error: r.error,
  correlationId: r.correlation_id,
  requestedBy: r.requested_by,
  createdAt: isoTime(r.created_at),
  startedAt: t(r.started_at),
  finishedAt: t(r.finished_at),
  /** What the run wrote to the report store; download it through GET /api/admin/task-runs/{runId}/report. */
  report:
    r.report_name === null
      ? null
      : { name: r.report_name, size: r.report_size ?? 0, contentType: r.report_content_type ?? '' },
});

export const userView = (u: UsersTable): User => ({
  userId: u.user_id,
  email: u.email,
  displayName: u.display_name,
  role: u.role,
  status: u.status,
  createdAt: isoTime(u.created_at),
  lastLoginAt: t(u.last_login_at),
});

export const telemetryView = (m: AccountTelemetryTable): AccountTelemetry => ({
  balance: m.balance,
  equity: m.equity,
  margin: m.margin,
  freeMargin: m.free_margin,
  openPositions: m.open_positions,
  latencyMs: m.latency_ms,
  autotradeEnabled: m.autotrade_enabled === null ? null : m.autotrade_enabled === 1,
  lastHeartbeatAt: t(m.last_heartbeat_at),
  serverUtcOffsetSec: m.server_utc_offset_sec,
});

export const webhookView = (w: Omit<WebhookRow, 'secret_enc'>): Webhook => ({
  webhookId: w.webhook_id,
  url: w.url,
  eventTypes: jsonObject<Webhook['eventTypes']>(w.event_types),
  description: w.description,
  status: w.status,
  createdBy: w.created_by,
  createdAt: isoTime(w.created_at),
});

export const deliveryView = (d: DeliveryRow): Delivery => ({
  deliveryId: d.delivery_id,
  eventType: d.event_type,
  messageId: d.message_id,
  status: d.status,
  attempts: d.attempts,
  lastStatus: d.last_status,
  lastError: d.last_error,
  // Only a pending delivery has a next attempt.
  nextAttemptAt: d.status === 'pending' ? t(d.next_attempt_at) : null,
  createdAt: isoTime(d.created_at),
  deliveredAt: t(d.delivered_at),
});
