/**
 * Bus message catalogue, named by topic. Payloads arrive as `unknown` and are parsed with
 * these schemas by every consumer (gateway replicas, management, webhooks).
 */
import { z } from 'zod';
import { Timestamp } from './ea-http.js';

export const topics = {
  /** management → gateways: operator decisions on terminal keys. */
  authApprovals: 'ea-auth-approvals',
  /** gateways → management: EA inbox events and session state changes. */
  tradeAgentEvents: 'trade-agent-events',
  /** management → gateways: copy-group membership updates. */
  copyGroupUpdates: 'copy-group-updates',
} as const;
export type Topic = (typeof topics)[keyof typeof topics];

export const AuthApproval = z.object({
  type: z.literal('AuthApproval'),
  accountId: z.string(),
  authKeyFingerprint: z.string(),
  approvedBy: z.string(),
  expiresAt: Timestamp.nullable().optional(),
});
export type AuthApproval = z.infer<typeof AuthApproval>;

export const AuthReject = z.object({
  type: z.literal('AuthReject'),
  accountId: z.string(),
  authKeyFingerprint: z.string(),
  reason: z.string(),
  rejectedBy: z.string(),
});
export type AuthReject = z.infer<typeof AuthReject>;

export const AuthDecision = z.discriminatedUnion('type', [AuthApproval, AuthReject]);
export type AuthDecision = z.infer<typeof AuthDecision>;

export const SessionStateChanged = z.object({
  type: z.literal('session.state_changed'),
  accountId: z.string(),
  sessionId: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  reason: z.string(),
  actor: z.string(),
  occurredAt: Timestamp,
});
export type SessionStateChanged = z.infer<typeof SessionStateChanged>;

export const EaInboxForwarded = z.object({
  type: z.literal('ea.inbox'),
  accountId: z.string(),
  sessionId: z.string(),
  inboxEventId: z.string(),
  eventType: z.string(),
  occurredAt: Timestamp,
  receivedAt: Timestamp,
  payload: z.unknown(),
});
export type EaInboxForwarded = z.infer<typeof EaInboxForwarded>;

export const SessionForbiddenAttempt = z.object({
  type: z.literal('session.forbidden_attempt'),
  accountId: z.string(),
  sessionId: z.string(),
  attempted: z.string(),
  reason: z.string(),
  occurredAt: Timestamp,
});
export type SessionForbiddenAttempt = z.infer<typeof SessionForbiddenAttempt>;

export const SignalAccepted = z.object({
  type: z.literal('signal.accepted'),
  signalId: z.string(),
  masterAccountId: z.string(),
  signalType: z.string(),
  masterPositionId: z.string(),
  symbol: z.string(),
  copies: z.number().int(),
  skipped: z.number().int(),
  occurredAt: Timestamp,
  receivedAt: Timestamp,
});
export type SignalAccepted = z.infer<typeof SignalAccepted>;

export const CopyOrderUpdated = z.object({
  type: z.literal('copy_order.updated'),
  orderId: z.string(),
  groupId: z.string(),
  followerAccountId: z.string(),
  masterAccountId: z.string(),
  masterPositionId: z.string(),
  kind: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  ticket: z.string().nullable(),
  occurredAt: Timestamp,
});
export type CopyOrderUpdated = z.infer<typeof CopyOrderUpdated>;

export const AlertRaised = z.object({
  type: z.literal('alert.raised'),
  alertId: z.string(),
  accountId: z.string().nullable(),
  groupId: z.string().nullable(),
  code: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string(),
  occurredAt: Timestamp,
});
export type AlertRaised = z.infer<typeof AlertRaised>;

export const TradeAgentEvent = z.discriminatedUnion('type', [
  SessionStateChanged,
  EaInboxForwarded,
  SessionForbiddenAttempt,
  SignalAccepted,
  CopyOrderUpdated,
  AlertRaised,
]);
export type TradeAgentEvent = z.infer<typeof TradeAgentEvent>;
