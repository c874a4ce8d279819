/**
 * Guards that can stop a new open. None of them ever applies to a modification or a
 * close: a guard that blocks an exit turns a limit meant to reduce risk into an orphaned
 * position nobody manages, which is the most dangerous outcome a copier can produce.
 *
 * Copy modes, for opens and exits:
 * - `active`: everything is copied.
 * - `close_only`: no new opens; modifications and exits of copied positions are copied,
 *   and reconciliation still closes orphans and trims excess volume (it never adds).
 * - `frozen`: nothing new is copied either; modifications and exits of already-copied
 *   positions are still copied, because leaving copies open after their master closed is
 *   the dangerous outcome. Reconciliation only reports (alerts, detaches) and never trades,
 *   so an operator can freeze a follower to look at its book without the engine moving it.
 */
import { isoTime } from '@kopitra/contracts';
import { skip, type Skip } from './reasons.js';
import type { ActiveStopOut } from './risk-limits.js';
import type { CopyMode, Side, SubscriptionSettings } from './subscription.js';

export const HOUR_MS = 3_600_000;

export function modeGuard(mode: CopyMode): Skip | null {
  if (mode === 'frozen') return skip('mode_frozen', 'subscription is frozen');
  if (mode === 'close_only') return skip('mode_close_only', 'subscription is close-only');
  return null;
}

export function riskHaltGuard(stopOut: ActiveStopOut | null | undefined): Skip | null {
  if (!stopOut) return null;
  return skip(
    'risk_limit_halted',
    `${stopOut.period} ${stopOut.metric} limit breached at ${isoTime(stopOut.at)} (${stopOut.action})`,
  );
}

/** A negative age (master clock ahead of ours) is not held against the signal. */
export function signalAgeGuard(occurredAt: number, now: number, maxSignalAgeSec: number): Skip | null {
  const ageMs = now - occurredAt;
  if (ageMs <= maxSignalAgeSec * 1000) return null;
  return skip('signal_too_old', `signal is ${(ageMs / 1000).toFixed(1)} s old, maximum ${maxSignalAgeSec} s`);
}

export function maxOpenPositionsGuard(openPositions: number, max: number | null): Skip | null {
  if (max === null || openPositions < max) return null;
  return skip('max_open_positions', `${openPositions} open, maximum ${max}`);
}

export function maxTotalLotsGuard(openLots: number, volume: number, max: number | null): Skip | null {
  if (max === null || openLots + volume <= max + 1e-9) return null;
  return skip('max_total_lots', `${openLots} lots open + ${volume} would exceed ${max}`);
}

/** Counts opens in the hour ending now; the caller passes what it has, older entries are ignored. */
export function tradesPerHourGuard(
  recentOpenTimes: readonly number[],
  now: number,
  max: number | null,
): Skip | null {
  if (max === null) return null;
  const count = recentOpenTimes.filter((t) => t > now - HOUR_MS && t <= now).length;
  if (count < max) return null;
  return skip('max_trades_per_hour', `${count} opens in the last hour, maximum ${max}`);
}

export interface Quote {
  readonly bid: number;
  readonly ask: number;
}

/** The price the follower would fill at: a buy pays the ask, a sell gets the bid. */
export const fillPrice = (side: Side, quote: Quote): number => (side === 'buy' ? quote.ask : quote.bid);

export const slippagePoints = (side: Side, masterPrice: number, quote: Quote, point: number): number =>
  Math.abs(fillPrice(side, quote) - masterPrice) / point;

/**
 * Slippage counts both ways: a better price for the follower still moves it off the
 * master's SL/TP distances, which is what the limit is there to protect. Without a quote
 * this guard cannot judge; the EA enforces the same limit (`maxSlippage` in `trade.started`).
 */
export function slippageGuard(
  side: Side,
  masterPrice: number,
  quote: Quote | null | undefined,
  point: number,
  maxPoints: number | null,
): Skip | null {
  if (maxPoints === null || !quote || !(point > 0)) return null;
  const points = slippagePoints(side, masterPrice, quote, point);
  if (points <= maxPoints + 1e-9) return null;
  return skip(
    'slippage_exceeded',
    `${points.toFixed(1)} points from the master's ${masterPrice}, maximum ${maxPoints}`,
  );
}

export interface OpenGuardInput {
  readonly settings: Pick<
    SubscriptionSettings,
    | 'mode'
    | 'maxOpenPositions'
    | 'maxTotalLots'
    | 'maxTradesPerHour'
    | 'maxSignalAgeSec'
    | 'maxSlippagePoints'
  >;
  readonly now: number;
  readonly occurredAt: number;
  readonly activeStopOut: ActiveStopOut | null;
}

/** Guards that need nothing but the signal: checked before any sizing work. */
export function preSizingGuards(input: OpenGuardInput): Skip | null {
  return (
    modeGuard(input.settings.mode) ??
    riskHaltGuard(input.activeStopOut) ??
    signalAgeGuard(input.occurredAt, input.now, input.settings.maxSignalAgeSec)
  );
}

export interface BookGuardInput {
  readonly settings: OpenGuardInput['settings'];
  readonly now: number;
  readonly side: Side;
  readonly volume: number;
  readonly masterPrice: number;
  readonly point: number;
  readonly openPositions: number;
  readonly openLots: number;
  readonly recentOpenTimes: readonly number[];
  readonly quote?: Quote | null;
}

/** Guards on the follower's book and price, checked once the volume is known. */
export function bookGuards(input: BookGuardInput): Skip | null {
  const s = input.settings;
  return (
    tradesPerHourGuard(input.recentOpenTimes, input.now, s.maxTradesPerHour) ??
    maxOpenPositionsGuard(input.openPositions, s.maxOpenPositions) ??
    maxTotalLotsGuard(input.openLots, input.volume, s.maxTotalLots) ??
    slippageGuard(input.side, input.masterPrice, input.quote, input.point, s.maxSlippagePoints)
  );
}
