/**
 * The what-if task: a follower's proposed subscription settings replayed over the master's
 * recorded signals with the engine's own `planCopy`, beside what its current settings did
 * (the copy orders live copying wrote), each with exposure and an equity curve estimated
 * at the master's recorded prices by the same estimator.
 */
import {
  AppError,
  isoTime,
  SubscriptionSettings as SettingsRequest,
  type CopyOrderKind,
} from '@kopitra/contracts';
import {
  defaultSymbolSynonyms,
  equityCurve,
  replayOrders,
  settingsProblems,
  withDefaults,
  type EquityPoint,
  type ReplayOrder,
  type SignalType,
  type SubscriptionInput,
} from '@kopitra/engine';
import { z } from 'zod';
import { getGroup, getSubscriptionSettings } from '../store/copy.js';
import { getSymbolCatalog, nettingFromInit, telemetryOf } from '../store/inbox.js';
import { storedSymbolSynonyms } from '../store/symbol-synonyms.js';
import { signalOrdersBetween, signalsBetween } from '../store/what-if.js';
import type { ManagementDeps } from './management-deps.js';

/** More signals than this in one window is a mistake (or a job for a narrower window). */
export const WHAT_IF_MAX_SIGNALS = 20_000;
/** The equity the curves start from when the follower has reported none. */
const DEFAULT_EQUITY = 10_000;

const instant = (field: string) =>
  z.iso.datetime({ offset: true, error: `Enter ${field} as a date and time such as 2026-01-31T00:00:00Z.` });

export const WhatIfParams = z
  .object({
    groupId: z.string({ error: 'Choose a group (groupId).' }).min(1, 'Choose a group (groupId).'),
    followerAccountId: z
      .string({ error: 'Choose a follower (followerAccountId).' })
      .min(1, 'Choose a follower (followerAccountId).'),
    from: instant('the start (from)'),
    to: instant('the end (to)'),
    /** The proposed settings, as a subscription takes them; absent: the current ones. */
    settings: SettingsRequest.optional(),
  })
  .refine((p) => !(Date.parse(p.from) > Date.parse(p.to)), {
    path: ['to'],
    message: 'The end (to) must not be before the start (from).',
  });
export type WhatIfParams = z.infer<typeof WhatIfParams>;

async function currentSettings(deps: ManagementDeps, p: WhatIfParams): Promise<SubscriptionInput> {
  const group = await getGroup(deps.db, p.groupId);
  if (!group) throw new AppError('group_not_found', undefined, { groupId: p.groupId });
  const stored = await getSubscriptionSettings(deps.db, p.groupId, p.followerAccountId);
  if (stored === undefined)
    throw new AppError('invalid_task_params', `${p.followerAccountId} does not follow group ${p.groupId}.`, {
      issues: [{ path: 'followerAccountId', message: 'not a follower of this group' }],
    });
  return JSON.parse(stored) as SubscriptionInput;
}

/** The kinds a position signal's copy orders have (those of pending orders are outside the replay). */
const isPositionKind = (
  kind: CopyOrderKind,
): kind is 'open' | 'increase' | 'modify' | 'partial_close' | 'close' =>
  kind === 'open' || kind === 'increase' || kind === 'modify' || kind === 'partial_close' || kind === 'close';

export async function validateWhatIf(deps: ManagementDeps, p: WhatIfParams): Promise<void> {
  await currentSettings(deps, p);
  const problems = p.settings ? settingsProblems(withDefaults(p.settings as SubscriptionInput)) : [];
  if (problems.length)
    throw new AppError('invalid_task_params', `Proposed settings: ${problems.join(' ')}`, {
      issues: problems.map((message) => ({ path: 'settings', message })),
    });
}

const summaryOf = (orders: readonly ReplayOrder[], curve: readonly EquityPoint[], startingEquity: number) => {
  const skipReasons: Record<string, number> = {};
  for (const o of orders)
    if (o.action === 'skip' && o.reason) skipReasons[o.reason] = (skipReasons[o.reason] ?? 0) + 1;
  return {
    opens: orders.filter((o) => o.action === 'open').length,
    skipped: orders.filter((o) => o.action === 'skip').length,
    skipReasons,
    finalEquity: curve.at(-1)?.equity ?? startingEquity,
    maxOpenLots: Math.max(0, ...curve.map((c) => c.openLots)),
  };
};

const wireOrder = (o: ReplayOrder) => ({ ...o, at: isoTime(o.at) });
const wirePoint = (c: EquityPoint) => ({ ...c, at: isoTime(c.at) });

const POSITION_SIGNALS: ReadonlySet<string> = new Set<SignalType>([
  'position.opened',
  'position.increased',
  'position.modified',
  'position.partially_closed',
  'position.closed',
]);
/** The signals the replay plans (pending orders are not replayed). */
const isPositionSignal = (type: string): type is SignalType => POSITION_SIGNALS.has(type);

/** Statuses of orders that did not (or not yet) change the follower's book. */
const NOT_IN_BOOK = new Set(['rejected', 'failed', 'expired', 'withdrawn', 'skipped']);

export async function runWhatIf(
  deps: ManagementDeps,
  p: WhatIfParams,
  progress: (fraction: number, note?: string) => Promise<void>,
) {
  const current = await currentSettings(deps, p);
  const group = (await getGroup(deps.db, p.groupId))!;
  const master = group.master_account_id;
  const from = Date.parse(p.from);
  const to = Date.parse(p.to);
  const rows = await signalsBetween(deps.db, master, from, to);
  if (rows.length > WHAT_IF_MAX_SIGNALS)
    throw new AppError(
      'invalid_task_params',
      `The window holds ${rows.length} signals, more than ${WHAT_IF_MAX_SIGNALS}; choose a shorter one.`,
    );
  await progress(0.2, `${rows.length} signals loaded`);
  const signals = rows.flatMap((r) =>
    isPositionSignal(r.type)
      ? [
          {
            signalId: r.signal_id,
            type: r.type,
            masterPositionId: r.master_position_id,
            symbol: r.symbol,
            side: r.side,
            volume: r.volume,
            remainingVolume: r.remaining_volume,
            price: r.price,
            sl: r.sl,
            tp: r.tp,
            magic: r.magic,
            occurredAt: r.occurred_at,
            receivedAt: r.received_at,
          },
        ]
      : [],
  );
  const [telemetry, symbols, masterSymbols, stored] = await Promise.all([
    telemetryOf(deps.db, [p.followerAccountId, master]),
    getSymbolCatalog(deps.db, p.followerAccountId),
    getSymbolCatalog(deps.db, master),
    storedSymbolSynonyms(deps.db),
  ]);
  const metricsOf = (accountId: string) => {
    const t = telemetry.find((x) => x.account_id === accountId);
    return t && (t.balance !== null || t.equity !== null) ? { balance: t.balance, equity: t.equity } : null;
  };
  const follower = metricsOf(p.followerAccountId);
  const init = telemetry.find((x) => x.account_id === p.followerAccountId)?.last_init;
  const startingEquity = follower?.equity ?? follower?.balance ?? DEFAULT_EQUITY;
  const context = {
    groupId: p.groupId,
    symbols,
    masterSymbols,
    follower,
    master: metricsOf(master),
    netting: nettingFromInit(init),
    synonyms: stored ?? defaultSymbolSynonyms,
  };
  const proposedSettings = (p.settings as SubscriptionInput | undefined) ?? current;
  const proposed = replayOrders(signals, { ...context, settings: withDefaults(proposedSettings) });
  const proposedCurve = equityCurve(signals, proposed, symbols, startingEquity);
  await progress(0.6, `${proposed.length} orders replayed`);

  const live = await signalOrdersBetween(deps.db, p.groupId, p.followerAccountId, from, to);
  const actual = live.flatMap((o) =>
    o.symbol === null || o.side === null || !isPositionKind(o.kind)
      ? []
      : [
          {
            signalId: o.signal_id!,
            at: o.received_at,
            masterPositionId: o.master_position_id,
            action: o.status === 'skipped' ? ('skip' as const) : o.kind,
            symbol: o.symbol,
            side: o.side,
            volume: o.status === 'skipped' ? null : o.volume,
            reason: o.status === 'skipped' || o.kind === 'close' ? o.reason : null,
            status: o.status,
          },
        ],
  );
  const actualCurve = equityCurve(
    signals,
    actual.filter((o) => !NOT_IN_BOOK.has(o.status)),
    symbols,
    startingEquity,
  );
  await progress(0.9, `${actual.length} recorded orders compared`);
  return {
    groupId: p.groupId,
    followerAccountId: p.followerAccountId,
    masterAccountId: master,
    from: p.from,
    to: p.to,
    signals: signals.length,
    startingEquity,
    proposed: {
      settings: proposedSettings,
      summary: summaryOf(proposed, proposedCurve, startingEquity),
      orders: proposed.map(wireOrder),
      curve: proposedCurve.map(wirePoint),
    },
    current: {
      settings: current,
      summary: summaryOf(actual, actualCurve, startingEquity),
      orders: actual.map(wireOrder),
      curve: actualCurve.map(wirePoint),
    },
  };
}
