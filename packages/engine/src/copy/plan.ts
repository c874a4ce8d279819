/**
 * `planCopy`: what one master signal becomes for one follower. Opens pass every filter,
 * guard and the sizing; modifications and exits of a linked position are always copied
 * (see `guards.ts` for why), only translated to the follower's ticket, side and volume.
 */
import {
  skipDecision,
  spans,
  type CloseDecision,
  type CopyDecision,
  type IncreaseDecision,
  type ModifyDecision,
  type OpenDecision,
  type PartialCloseDecision,
  type SizedVolume,
  type SkipDecision,
} from './decisions.js';
import {
  catalogMissing,
  earlyGuards,
  followerSymbol,
  isSkip,
  level,
  signalDeadline,
  sizeEntry,
  skipFrom,
} from './entry.js';
import type { Quote } from './guards.js';
import { planPartialClose } from './partial-close.js';
import { positionTag } from '@kopitra/contracts';
import type { ActiveStopOut } from './risk-limits.js';
import type { AccountMetrics } from './sizing.js';
import { lookupSymbol, roundToDigits, type SymbolCatalog, type SymbolSpec } from './symbol-spec.js';
import type { SynonymGroups } from './symbol-resolution.js';
import { filterOpen, reverseDirection, type Direction } from './symbols.js';
import type { Side, SubscriptionSettings } from './subscription.js';

export type SignalType =
  | 'position.opened'
  | 'position.increased'
  | 'position.modified'
  | 'position.partially_closed'
  | 'position.closed';

/** A master signal with times as epoch ms (the wire's ISO strings parsed at the edge). */
export interface MasterSignal {
  readonly type: SignalType;
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  /** The position's volume for an open, the added volume for an add, the closed volume for a partial close. */
  readonly volume: number;
  /** The master position's volume after this event (partial close, add), when the terminal says. */
  readonly remainingVolume?: number | null;
  readonly price: number;
  readonly sl?: number | null;
  readonly tp?: number | null;
  readonly magic?: string | null;
  readonly occurredAt: number;
}

/** The follower position copied from this master position, as the gateway keeps it. */
export interface LinkedPosition {
  /** `null` until the follower reports the fill. */
  readonly ticket: string | null;
  readonly openVolume: number;
  readonly symbol: string;
  readonly side: Side;
  /** Closed outside Kopitra; no longer managed. */
  readonly detached?: boolean;
  /** The master's position volume as of the last signal; lets a partial close without `remainingVolume` find its fraction. */
  readonly masterVolume?: number | null;
  /** Follower positions the copy spans (a hedging follower's adds); 1 when absent. */
  readonly positions?: number;
  /**
   * The copy's open is still waiting in the follower's outbox, undelivered (the gateway can
   * still withdraw it). Only a fill gives the link a ticket, so this implies `ticket: null`.
   */
  readonly openUndelivered?: boolean;
}

export interface FollowerContext {
  /** The copy group of the subscription: it names the follower's positions (`positionTag`). */
  readonly groupId: string;
  readonly settings: SubscriptionSettings;
  readonly symbols: SymbolCatalog;
  /** The master's spec of the signal's symbol; only `contract_size` sizing needs it. */
  readonly masterSymbol?: SymbolSpec | null;
  readonly follower: AccountMetrics | null;
  readonly master: AccountMetrics | null;
  readonly link: LinkedPosition | null;
  readonly openPositions: number;
  readonly openLots: number;
  /** Times of this follower's recent copied opens; only the last hour matters. */
  readonly recentOpenTimes: readonly number[];
  readonly activeStopOut: ActiveStopOut | null;
  /** The follower's current quote for the mapped symbol, if the gateway has one. */
  readonly quote?: Quote | null;
  readonly now: number;
  /**
   * MT5 netting account. Decisions do not change: every exit names its volume, which a
   * netting EA sends as an opposite deal so the net position moves by exactly that much.
   */
  readonly netting?: boolean;
  /** The deployment's symbol synonym groups, for automatic symbol resolution; built-in when absent. */
  readonly synonyms?: SynonymGroups;
}

/** The follower's direction of the master's trade: the mirror image when `reversed`. */
function followerDirection(signal: MasterSignal, reversed: boolean): Direction {
  const master: Direction = { side: signal.side, sl: level(signal.sl), tp: level(signal.tp) };
  return reversed ? reverseDirection(master) : master;
}

/** What an open and an add carry besides the follower's symbol and side. */
function entryTerms(
  signal: MasterSignal,
  ctx: FollowerContext,
  dir: Direction,
  spec: SymbolSpec,
  sized: SizedVolume,
) {
  const s = ctx.settings;
  return {
    ...sized,
    sl: s.copySl && dir.sl !== null ? roundToDigits(dir.sl, spec.digits) : null,
    tp: s.copyTp && dir.tp !== null ? roundToDigits(dir.tp, spec.digits) : null,
    masterPrice: signal.price,
    maxSlippagePoints: s.maxSlippagePoints,
    expiresAt: signalDeadline(ctx, signal.occurredAt),
    comment: positionTag(ctx.groupId, signal.masterPositionId),
  };
}

export function planOpen(signal: MasterSignal, ctx: FollowerContext): OpenDecision | SkipDecision {
  const s = ctx.settings;
  // A repeated open must never double the follower's exposure, whatever the mode.
  if (ctx.link)
    return skipDecision('already_copied', `linked to ticket ${ctx.link.ticket ?? '(pending fill)'}`);
  const early = earlyGuards(ctx, signal.occurredAt) ?? filterOpen(signal, s);
  if (early) return skipFrom(early);
  const target = followerSymbol(signal.symbol, ctx);
  if (isSkip(target)) return target;
  const dir = followerDirection(signal, s.reverse);
  const sized = sizeEntry({
    ctx,
    ...target,
    side: dir.side,
    stopLoss: dir.sl,
    masterVolume: signal.volume,
    masterPrice: signal.price,
    quote: ctx.quote ?? null,
  });
  if (isSkip(sized)) return sized;
  return {
    action: 'open',
    masterPositionId: signal.masterPositionId,
    symbol: target.symbol,
    side: dir.side,
    ...entryTerms(signal, ctx, dir, target.spec, sized),
  };
}

function managedLink(ctx: FollowerContext): LinkedPosition | SkipDecision {
  if (!ctx.link)
    return skipDecision('no_linked_position', 'no follower position is linked to this master position');
  if (ctx.link.detached)
    return skipDecision(
      'position_detached',
      `ticket ${ctx.link.ticket ?? '(none)'} was closed outside Kopitra`,
    );
  return ctx.link;
}

export function planModify(signal: MasterSignal, ctx: FollowerContext): ModifyDecision | SkipDecision {
  const link = managedLink(ctx);
  if (isSkip(link)) return link;
  const s = ctx.settings;
  // The link's side, not today's `reverse` setting, says whether this copy was reversed.
  const dir = followerDirection(signal, link.side !== signal.side);
  const digits = lookupSymbol(ctx.symbols, link.symbol)?.digits;
  const round = (v: number | null): number | null =>
    v === null || digits === undefined ? v : roundToDigits(v, digits);
  if (!s.copySl && !s.copyTp) return skipDecision('nothing_to_modify', 'copySl and copyTp are both off');
  return {
    action: 'modify',
    masterPositionId: signal.masterPositionId,
    ticket: link.ticket,
    symbol: link.symbol,
    side: link.side,
    ...(s.copySl ? { sl: round(dir.sl) } : {}),
    ...(s.copyTp ? { tp: round(dir.tp) } : {}),
  };
}

/** Used when the follower's catalog lacks the linked symbol: an exit is never refused for want of a spec. */
const FALLBACK_VOLUME_SPEC = { volumeMin: 0.01, volumeStep: 0.01 } as const;

export function planPartial(
  signal: MasterSignal,
  ctx: FollowerContext,
): PartialCloseDecision | CloseDecision | SkipDecision {
  const link = managedLink(ctx);
  if (isSkip(link)) return link;
  const spec = lookupSymbol(ctx.symbols, link.symbol) ?? FALLBACK_VOLUME_SPEC;
  const plan = planPartialClose({
    openVolume: link.openVolume,
    closedVolume: signal.volume,
    remainingVolume: signal.remainingVolume ?? null,
    masterVolumeBefore: link.masterVolume ?? null,
    spec,
  });
  const target = {
    masterPositionId: signal.masterPositionId,
    ticket: link.ticket,
    symbol: link.symbol,
    side: link.side,
    ...spans(link),
  };
  switch (plan.kind) {
    case 'skip':
      return skipDecision(plan.reason, plan.detail);
    case 'full':
      return { action: 'close', ...target, volume: plan.volume, reason: plan.reason, detail: plan.detail };
    case 'partial':
      return { action: 'partial_close', ...target, volume: plan.volume, remainingVolume: plan.remaining };
  }
}

/**
 * The master's close wins over an open of the same position that has not reached the
 * follower yet: nothing is sent, and the gateway withdraws that open (and any order queued
 * after it) with the same reason, so the follower never opens what the master already closed.
 */
export function planClose(signal: MasterSignal, ctx: FollowerContext): CloseDecision | SkipDecision {
  const link = managedLink(ctx);
  if (isSkip(link)) return link;
  if (link.ticket === null && link.openUndelivered)
    return skipDecision('master_closed', 'the copy’s open had not been delivered; it is withdrawn');
  return {
    action: 'close',
    masterPositionId: signal.masterPositionId,
    ticket: link.ticket,
    symbol: link.symbol,
    side: link.side,
    volume: link.openVolume,
    ...spans(link),
  };
}

/**
 * A netting master added to its position. The add is new exposure, so it meets the opening
 * guards (mode, stop-out, signal age, trades per hour, total lots, slippage; open positions only
 * on a hedging follower, where it becomes a position of its own) and is sized like an open of
 * the added volume. Symbol filters and the magic filter are not asked again: the position they
 * let through is the one that grows. Side and symbol are the link's.
 */
export function planIncrease(signal: MasterSignal, ctx: FollowerContext): IncreaseDecision | SkipDecision {
  const link = managedLink(ctx);
  if (isSkip(link)) return link;
  const s = ctx.settings;
  const early = earlyGuards(ctx, signal.occurredAt);
  if (early) return skipFrom(early);
  const missing = catalogMissing(ctx);
  if (missing) return missing;
  const spec = lookupSymbol(ctx.symbols, link.symbol);
  if (!spec) return skipDecision('symbol_unknown', `${link.symbol} is not listed by the follower any more`);
  const dir = followerDirection(signal, link.side !== signal.side);
  const sized = sizeEntry({
    ctx,
    symbol: link.symbol,
    spec,
    side: link.side,
    stopLoss: dir.sl,
    masterVolume: signal.volume,
    masterPrice: signal.price,
    // A netting follower's net position grows; no position is added to count.
    limits: ctx.netting ? { ...s, maxOpenPositions: null } : s,
    quote: ctx.quote ?? null,
  });
  if (isSkip(sized)) return sized;
  return {
    action: 'increase',
    masterPositionId: signal.masterPositionId,
    ticket: link.ticket,
    symbol: link.symbol,
    side: link.side,
    ...entryTerms(signal, ctx, dir, spec, sized),
  };
}

export function planCopy(signal: MasterSignal, ctx: FollowerContext): CopyDecision {
  switch (signal.type) {
    case 'position.opened':
      return planOpen(signal, ctx);
    case 'position.increased':
      return planIncrease(signal, ctx);
    case 'position.modified':
      return planModify(signal, ctx);
    case 'position.partially_closed':
      return planPartial(signal, ctx);
    case 'position.closed':
      return planClose(signal, ctx);
  }
}
