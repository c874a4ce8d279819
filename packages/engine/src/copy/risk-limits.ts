/**
 * Risk limits and stop-outs. Evaluation runs in two pure steps around one query:
 * `riskWindows` says which history the caller must summarise (metric value at a start
 * time, now, and optionally the peak since), `decideRiskLimits` turns those summaries into
 * new stop-outs and, for `close_all`, close decisions.
 *
 * A stop-out stays active until an operator resets it. A reset re-baselines its limit: the
 * window then starts at the reset, not at the period start. Without that, resetting a
 * daily limit while still in drawdown would trip it again on the very next evaluation.
 */
import { spans, type CloseDecision } from './decisions.js';
import { periodStart } from './periods.js';
import type { RiskAction, RiskLimit, RiskMetric, RiskPeriod, Side } from './subscription.js';

/** Identifies a limit by what it says, so editing the list does not re-point old stop-outs. */
export const limitKey = (l: RiskLimit): string =>
  `${l.period}:${l.metric}:${l.maxPercent ?? '-'}%:${l.maxAmount ?? '-'}:${l.action}`;

export interface StopOut {
  readonly limitKey: string;
  readonly period: RiskPeriod;
  readonly metric: RiskMetric;
  readonly action: RiskAction;
  readonly maxPercent: number | null;
  readonly maxAmount: number | null;
  /** Start of the window the drawdown was measured over. */
  readonly windowFrom: number;
  /** The value drawdown is measured from: the window's peak, or its start value. */
  readonly reference: number;
  readonly observed: number;
  readonly drawdownAmount: number;
  readonly drawdownPercent: number;
  readonly at: number;
}

/** A stop-out as the store keeps it: `resetAt` is set when an operator resets it. */
export type StoredStopOut = Pick<StopOut, 'limitKey' | 'period' | 'metric' | 'action' | 'at'> & {
  readonly resetAt: number | null;
};

/** What the open guards need to know about a stop-out in force. */
export type ActiveStopOut = Pick<StopOut, 'period' | 'metric' | 'action' | 'at'>;

export const activeStopOuts = <T extends StoredStopOut>(stopOuts: readonly T[]): T[] =>
  stopOuts.filter((s) => s.resetAt === null);

/** Prefers a `close_all` stop-out, the stronger one, when several are active. */
export function activeStopOut<T extends StoredStopOut>(stopOuts: readonly T[]): T | null {
  const active = activeStopOuts(stopOuts);
  return active.find((s) => s.action === 'close_all') ?? active[0] ?? null;
}

export interface WindowRequest {
  readonly limitKey: string;
  readonly metric: RiskMetric;
  readonly from: number;
}

function lastReset(stopOuts: readonly StoredStopOut[], key: string): number | null {
  let last: number | null = null;
  for (const s of stopOuts)
    if (s.limitKey === key && s.resetAt !== null && (last === null || s.resetAt > last)) last = s.resetAt;
  return last;
}

/** The history windows the caller must summarise, one per limit. */
export function riskWindows(
  limits: readonly RiskLimit[],
  now: number,
  stopOuts: readonly StoredStopOut[],
  offsetMinutes = 0,
): WindowRequest[] {
  return limits.map((limit) => {
    const key = limitKey(limit);
    const reset = lastReset(stopOuts, key);
    const start = periodStart(limit.period, now, offsetMinutes);
    return { limitKey: key, metric: limit.metric, from: reset !== null && reset > start ? reset : start };
  });
}

export interface DrawdownWindow {
  /** The metric's value at the window's start. */
  readonly start: number;
  readonly current: number;
  /** The highest value within the window; pass it for drawdown from peak, omit for drawdown from start. */
  readonly peak?: number | null;
}

export interface Drawdown {
  readonly reference: number;
  readonly amount: number;
  readonly percent: number;
}

export function measureDrawdown(w: DrawdownWindow): Drawdown {
  const reference = Math.max(w.start, w.peak ?? w.start);
  const amount = Math.max(0, reference - w.current);
  const percent = reference > 0 ? (amount / reference) * 100 : amount > 0 ? Infinity : 0;
  return { reference, amount, percent };
}

const threshold = (v: number | null | undefined): number | null =>
  typeof v === 'number' && v > 0 ? v : null;

/** Reaching the maximum counts: "at most 5 %" is breached at 5 %. Unset or non-positive thresholds never trip. */
export function isBreached(limit: RiskLimit, d: Drawdown): boolean {
  const pct = threshold(limit.maxPercent);
  const amt = threshold(limit.maxAmount);
  return (pct !== null && d.percent >= pct - 1e-9) || (amt !== null && d.amount >= amt - 1e-9);
}

export interface CopiedPosition {
  readonly masterPositionId: string;
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  readonly detached?: boolean;
  /** A close copy order is already in flight for it. */
  readonly closing?: boolean;
  /** Follower positions the copy spans (a hedging follower's adds); 1 when absent. */
  readonly positions?: number;
}

export interface RiskInput {
  readonly limits: readonly RiskLimit[];
  readonly now: number;
  readonly stopOuts: readonly StoredStopOut[];
  /** Summaries for the windows `riskWindows` asked for, keyed by limit key. */
  readonly windows: ReadonlyMap<string, DrawdownWindow> | Readonly<Record<string, DrawdownWindow>>;
  readonly copiedPositions: readonly CopiedPosition[];
  readonly offsetMinutes?: number;
}

export interface RiskDecision {
  readonly newStopOuts: StopOut[];
  /** True while any stop-out, new or earlier, is active. */
  readonly haltOpens: boolean;
  /** One close per managed copied position, while a `close_all` stop-out is active. */
  readonly closes: CloseDecision[];
}

const windowFor = (windows: RiskInput['windows'], key: string): DrawdownWindow | null =>
  windows instanceof Map
    ? (windows.get(key) ?? null)
    : Object.hasOwn(windows, key)
      ? ((windows as Record<string, DrawdownWindow>)[key] ?? null)
      : null;

/**
 * Closes are re-issued on every evaluation while the stop-out is active, except for
 * positions already `closing`: a close that failed is retried, one in flight is not doubled.
 */
export function decideRiskLimits(input: RiskInput): RiskDecision {
  const active = activeStopOuts(input.stopOuts);
  const activeKeys = new Set(active.map((s) => s.limitKey));
  const windows = riskWindows(input.limits, input.now, input.stopOuts, input.offsetMinutes ?? 0);
  const newStopOuts: StopOut[] = [];
  input.limits.forEach((limit, i) => {
    const req = windows[i]!;
    if (activeKeys.has(req.limitKey)) return;
    const w = windowFor(input.windows, req.limitKey);
    if (!w) return;
    const d = measureDrawdown(w);
    if (!isBreached(limit, d)) return;
    activeKeys.add(req.limitKey);
    newStopOuts.push({
      limitKey: req.limitKey,
      period: limit.period,
      metric: limit.metric,
      action: limit.action,
      maxPercent: threshold(limit.maxPercent),
      maxAmount: threshold(limit.maxAmount),
      windowFrom: req.from,
      reference: d.reference,
      observed: w.current,
      drawdownAmount: d.amount,
      drawdownPercent: d.percent,
      at: input.now,
    });
  });
  const closeAll = [...active, ...newStopOuts].filter((s) => s.action === 'close_all');
  const detail = `close_all limit breached: ${closeAll.map((s) => `${s.period} ${s.metric}`).join(', ')}`;
  const closes: CloseDecision[] = closeAll.length
    ? input.copiedPositions
        .filter((p) => !p.detached && !p.closing && p.volume > 0)
        .map((p) => ({
          action: 'close',
          masterPositionId: p.masterPositionId,
          ticket: p.ticket,
          symbol: p.symbol,
          side: p.side,
          volume: p.volume,
          ...spans(p),
          reason: 'risk_limit_close_all',
          detail,
        }))
    : [];
  return { newStopOuts, haltOpens: active.length + newStopOuts.length > 0, closes };
}
