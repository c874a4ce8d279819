/**
 * Management wire contract (base path `/api`): request shapes operators send. Shared by the
 * management API, the `kopitra` command and the console.
 */
import { z } from 'zod';
import { AccountId, Magic, Platform, Side } from './ea-http.js';

const Positive = z.number().positive();
const Filter = <T extends z.ZodType>(item: T) =>
  z.object({ include: z.array(item).max(500).nullish(), exclude: z.array(item).max(500).nullish() });

export const Sizing = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('mirror') }),
  z.object({ mode: z.literal('multiplier'), multiplier: Positive.max(1000) }),
  z.object({ mode: z.literal('fixed'), lots: Positive.max(1000) }),
  z.object({
    mode: z.enum(['balance_ratio', 'equity_ratio', 'contract_size']),
    multiplier: Positive.max(1000).nullish(),
  }),
  z.object({ mode: z.literal('risk_percent'), percent: Positive.max(100) }),
]);
export type Sizing = z.infer<typeof Sizing>;

export const RiskLimit = z
  .object({
    period: z.enum(['day', 'week', 'month', 'lifetime']),
    metric: z.enum(['equity_drawdown', 'balance_drawdown']),
    maxPercent: Positive.max(100).nullish(),
    maxAmount: Positive.nullish(),
    action: z.enum(['halt_opens', 'close_all']),
  })
  .refine((l) => l.maxPercent != null || l.maxAmount != null, {
    message: 'a risk limit needs maxPercent or maxAmount',
  });

const Affix = z.string().max(16).regex(/^\S*$/, 'no spaces');
/** Strip the master's prefix/suffix, add the follower's; `auto` also searches the follower's catalog. */
export const SymbolRules = z
  .object({
    auto: z.boolean().nullish(),
    masterPrefix: Affix.nullish(),
    masterSuffix: Affix.nullish(),
    followerPrefix: Affix.nullish(),
    followerSuffix: Affix.nullish(),
  })
  .strict();

/** What to do about positions the master holds when a follower joins. */
export const OnJoin = z
  .object({
    mode: z.enum(['none', 'market', 'limit']),
    maxDistancePoints: Positive.max(1_000_000).nullish(),
    expiryMinutes: Positive.max(43_200).nullish(),
  })
  .strict();

/** A follower's subscription settings; every field is optional and takes its documented default. */
export const SubscriptionSettings = z
  .object({
    mode: z.enum(['active', 'close_only', 'frozen']).optional(),
    sizing: Sizing.optional(),
    symbolMap: z.record(z.string().min(1).max(64), z.string().min(1).max(64)).optional(),
    symbolFilter: Filter(z.string().min(1).max(64)).optional(),
    magicFilter: Filter(Magic).optional(),
    allowedSides: z.array(Side).min(1).max(2).optional(),
    reverse: z.boolean().optional(),
    copySl: z.boolean().optional(),
    copyTp: z.boolean().optional(),
    minVolume: Positive.nullish(),
    maxVolume: Positive.nullish(),
    forceMinimum: z.boolean().optional(),
    forceMinimumMaxRiskFactor: z.number().min(1).max(100).optional(),
    maxOpenPositions: z.number().int().positive().nullish(),
    maxTotalLots: Positive.nullish(),
    maxTradesPerHour: z.number().int().positive().nullish(),
    maxSignalAgeSec: z.number().positive().max(86_400).optional(),
    maxSlippagePoints: Positive.nullish(),
    riskLimits: z.array(RiskLimit).max(20).optional(),
    manualClosePolicy: z.enum(['detach', 'reopen']).optional(),
    symbolRules: SymbolRules.optional(),
    /** Bounds on the master's own lots per open (skips outside them), not the follower's. */
    masterVolume: z.object({ min: Positive.nullish(), max: Positive.nullish() }).strict().optional(),
    onJoin: OnJoin.optional(),
    /** The master's pending orders: copied as pending orders, skipped, or copied only once filled. */
    pendingOrders: z.enum(['copy', 'skip', 'market_on_fill']).optional(),
    /** The master's order filled and the follower's has not: leave it, or replace it by a market open. */
    pendingOnMasterFill: z.enum(['leave', 'market']).optional(),
  })
  .strict();
export type SubscriptionSettings = z.infer<typeof SubscriptionSettings>;

const SynonymName = z.string().trim().min(1).max(64).regex(/^\S+$/, 'no spaces');
/** The deployment's symbol synonym groups (`XAUUSD`/`GOLD`, …), used by automatic symbol resolution. */
export const SymbolSynonymsRequest = z
  .object({ groups: z.array(z.array(SynonymName).min(2).max(20)).max(500) })
  .strict();
export type SymbolSynonymsRequest = z.infer<typeof SymbolSynonymsRequest>;

export const AccountRequest = z.object({
  accountId: AccountId,
  displayName: z.string().max(128).optional(),
  platform: Platform,
  broker: z.string().max(128).optional(),
  server: z.string().max(128).optional(),
  currency: z.string().max(8).optional(),
  sessionPolicy: z.enum(['reject', 'takeover']).optional(),
  status: z.enum(['active', 'disabled']).optional(),
});
export type AccountRequest = z.infer<typeof AccountRequest>;

export const GroupRequest = z.object({ name: z.string().trim().min(1).max(128), masterAccountId: AccountId });
export type GroupRequest = z.infer<typeof GroupRequest>;

export const Role = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;

export const LoginRequest = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  password: z.string().min(1).max(256),
});
export type LoginRequest = z.infer<typeof LoginRequest>;

export const UserCreateRequest = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  displayName: z.string().trim().min(1).max(128).optional(),
  role: Role,
  /** Omitted: a one-time password is generated and answered once, to hand to the new operator. */
  password: z.string().min(12, 'at least 12 characters').max(256).optional(),
});
export type UserCreateRequest = z.infer<typeof UserCreateRequest>;

export const PasswordChangeRequest = z.object({
  currentPassword: z.string().min(1).max(256),
  newPassword: z.string().min(12, 'at least 12 characters').max(256),
});
export type PasswordChangeRequest = z.infer<typeof PasswordChangeRequest>;

export const UserPatchRequest = z.object({
  displayName: z.string().trim().min(1).max(128).optional(),
  role: Role.optional(),
  status: z.enum(['active', 'disabled']).optional(),
  password: z.string().min(12, 'at least 12 characters').max(256).optional(),
});
export type UserPatchRequest = z.infer<typeof UserPatchRequest>;

export const AccountPatchRequest = AccountRequest.omit({ accountId: true, platform: true })
  .extend({ platform: Platform.optional() })
  .partial();
export type AccountPatchRequest = z.infer<typeof AccountPatchRequest>;

const FutureTime = z.iso.datetime({ offset: true });
export const KeyCreateRequest = z.object({ expiresAt: FutureTime.nullish() });
export const ApproveRequest = z.object({ expiresAt: FutureTime.nullish() });
export const ReasonRequest = z.object({ reason: z.string().trim().min(1).max(500) });
export const GroupPatchRequest = z.object({
  name: z.string().trim().min(1).max(128).optional(),
  status: z.enum(['active', 'paused']).optional(),
});
export type GroupPatchRequest = z.infer<typeof GroupPatchRequest>;

export const ListQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const SessionsQuery = ListQuery.extend({
  status: z.string().max(32).optional(),
  accountId: z.string().max(64).optional(),
});
export const ManualOrdersQuery = ListQuery.extend({
  accountId: z.string().max(64).optional(),
});
export const AnalyticsQuery = z.object({
  /** The window, in hours back from now: 24 (hourly points) up to 30 days (daily points). */
  hours: z.coerce.number().int().min(1).max(720).default(24),
});
export const OrdersQuery = ListQuery.extend({
  status: z.string().max(32).optional(),
  followerAccountId: z.string().max(64).optional(),
  masterAccountId: z.string().max(64).optional(),
  groupId: z.string().max(64).optional(),
  kind: z.string().max(32).optional(),
  /** The server's signal id (`sig_…`) or the master EA's own `signalId`. */
  signalId: z.string().trim().min(1).max(64).optional(),
  /** The master's deal ticket of the signal. */
  dealTicket: z.string().trim().min(1).max(32).optional(),
});
export const PositionsQuery = ListQuery.extend({
  status: z.string().max(32).optional(),
  followerAccountId: z.string().max(64).optional(),
  groupId: z.string().max(64).optional(),
});
export const AuditQuery = ListQuery.extend({
  actor: z.string().max(200).optional(),
  action: z.string().max(64).optional(),
  targetId: z.string().max(200).optional(),
});
export const AlertsQuery = ListQuery.extend({ open: z.enum(['true', 'false']).optional() });

export const TaskRunRequest = z.object({ params: z.record(z.string(), z.unknown()).default({}) });
export const taskRunStatuses = ['queued', 'running', 'completed', 'failed'] as const;
/** `GET /api/admin/task-runs`: newest first; `taskId` is one of the catalogue's tasks. */
export const TaskRunsQuery = ListQuery.extend({
  status: z.enum(taskRunStatuses).optional(),
  taskId: z.string().trim().min(1).max(64).optional(),
});
export type TaskRunsQuery = z.infer<typeof TaskRunsQuery>;

/**
 * `GET /api/admin/stream`: a browser's EventSource cannot send headers, so it opens the stream
 * with a single-use ticket from `POST /api/admin/stream/ticket`; `lastEventId` resumes after
 * an event (as the Last-Event-ID header does).
 */
export const StreamQuery = z.object({
  ticket: z.string().min(1).max(128).optional(),
  lastEventId: z
    .string()
    .regex(/^\d{1,19}\.\d{1,19}$/)
    .optional(),
});
export type StreamQuery = z.infer<typeof StreamQuery>;

export const webhookEventTypes = [
  'signal.accepted',
  'copy_order.updated',
  'alert.raised',
  'session.state_changed',
  'session.forbidden_attempt',
] as const;
export const WebhookRequest = z.object({
  url: z.url({ protocol: /^https?$/ }).max(2000),
  eventTypes: z.array(z.enum(webhookEventTypes)).min(1).max(webhookEventTypes.length),
  description: z.string().max(200).optional(),
});
export type WebhookRequest = z.infer<typeof WebhookRequest>;
export const WebhookPatchRequest = z.object({ status: z.enum(['active', 'disabled']) });
export type WebhookPatchRequest = z.infer<typeof WebhookPatchRequest>;
