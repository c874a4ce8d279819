/**
 * What every new exposure passes: an open, an add to a netting position and a pending order
 * placed. The early guards need nothing but the signal; the follower's symbol and its spec
 * come next; then the symbol's trade mode, the sizing and the guards on the follower's book,
 * in that order, so that all three refuse the same thing with the same reason.
 */
import { skipDecision, type SizedVolume, type SkipDecision } from './decisions.js';
import { bookGuards, preSizingGuards, type BookGuardInput, type Quote } from './guards.js';
import type { FollowerContext } from './plan.js';
import type { Skip } from './reasons.js';
import { sizeOpen } from './sizing.js';
import { catalogSize, lookupSymbol, type SymbolSpec } from './symbol-spec.js';
import { defaultSymbolSynonyms, resolveSymbol } from './symbol-resolution.js';
import type { Side } from './subscription.js';

/** MetaTrader writes "no stop" (and "no limit price") as 0. */
export const level = (v: number | null | undefined): number | null =>
  typeof v === 'number' && v > 0 ? v : null;

export const skipFrom = (s: Skip): SkipDecision => skipDecision(s.reason, s.detail);

export const isSkip = (v: object): v is SkipDecision =>
  'action' in v && (v as { action: unknown }).action === 'skip';

/** Mode, stop-out and the signal's age: checked before any sizing work. */
export const earlyGuards = (ctx: FollowerContext, occurredAt: number): Skip | null =>
  preSizingGuards({ settings: ctx.settings, now: ctx.now, occurredAt, activeStopOut: ctx.activeStopOut });

/** After this the EA must not act on the signal any more (the subscription's signal age limit). */
export const signalDeadline = (ctx: FollowerContext, occurredAt: number): number =>
  occurredAt + ctx.settings.maxSignalAgeSec * 1000;

/** Without the follower's symbol catalog nothing can be sized. */
export const catalogMissing = (ctx: FollowerContext): SkipDecision | null =>
  catalogSize(ctx.symbols) === 0
    ? skipDecision('symbol_catalog_missing', 'no ea.symbol_catalog received from the follower')
    : null;

/** The follower's name for the master's symbol, and the follower's spec of it. */
export function followerSymbol(
  masterSymbol: string,
  ctx: FollowerContext,
): { symbol: string; spec: SymbolSpec } | SkipDecision {
  const missing = catalogMissing(ctx);
  if (missing) return missing;
  const resolved = resolveSymbol(
    masterSymbol,
    ctx.settings,
    ctx.symbols,
    ctx.synonyms ?? defaultSymbolSynonyms,
  );
  if (resolved.symbol === null)
    return skipDecision(
      resolved.candidates.length > 1 ? 'symbol_ambiguous' : 'symbol_unknown',
      resolved.detail,
    );
  const spec = lookupSymbol(ctx.symbols, resolved.symbol);
  if (!spec)
    return skipDecision(
      'symbol_unknown',
      resolved.via === 'map' || resolved.via === 'rules'
        ? `${masterSymbol} maps to ${resolved.symbol}, which the follower does not list`
        : `${masterSymbol} is not listed by the follower and has no symbol map entry`,
    );
  return { symbol: resolved.symbol, spec };
}

const sideBlockedBy = (tradeMode: SymbolSpec['tradeMode'], side: Side): boolean =>
  tradeMode === 'disabled' ||
  tradeMode === 'close_only' ||
  (tradeMode === 'long_only' && side === 'sell') ||
  (tradeMode === 'short_only' && side === 'buy');

/**
 * The trade mode of the follower's symbol, the sizing of the master's volume and the guards
 * on the follower's book, for the follower's side at the master's price.
 */
export function sizeEntry(entry: {
  readonly ctx: FollowerContext;
  readonly symbol: string;
  readonly spec: SymbolSpec;
  readonly side: Side;
  /** The follower's stop: risk sizing uses the stop the trade defines even when SL is not copied. */
  readonly stopLoss: number | null;
  readonly masterVolume: number;
  readonly masterPrice: number;
  /** The book guards' limits where they differ from the subscription's. */
  readonly limits?: BookGuardInput['settings'];
  readonly quote: Quote | null;
}): SizedVolume | SkipDecision {
  const { ctx, spec, side } = entry;
  const s = ctx.settings;
  if (sideBlockedBy(spec.tradeMode, side))
    return skipDecision(
      'symbol_trade_disabled',
      `${entry.symbol} trade mode ${spec.tradeMode}, side ${side}`,
    );
  const sized = sizeOpen(
    {
      sizing: s.sizing,
      masterVolume: entry.masterVolume,
      entryPrice: entry.masterPrice,
      stopLoss: entry.stopLoss,
      follower: ctx.follower,
      master: ctx.master,
      followerSpec: spec,
      masterSpec: ctx.masterSymbol ?? null,
    },
    s,
  );
  if (!sized.ok) return skipFrom(sized);
  const blocked = bookGuards({
    settings: entry.limits ?? s,
    now: ctx.now,
    side,
    volume: sized.volume,
    masterPrice: entry.masterPrice,
    point: spec.point,
    openPositions: ctx.openPositions,
    openLots: ctx.openLots,
    recentOpenTimes: ctx.recentOpenTimes,
    quote: entry.quote,
  });
  if (blocked) return skipFrom(blocked);
  return { volume: sized.volume, rawVolume: sized.raw, capped: sized.capped, forced: sized.forced };
}
