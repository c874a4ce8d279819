/**
 * A follower's subscription settings as the copy engine sees them: every field present,
 * "no limit" spelled `null`. The management API accepts a partial shape; `withDefaults`
 * turns it into this one, so the engine never guesses at a missing field.
 */

export type Side = 'buy' | 'sell';
export const sides: readonly Side[] = ['buy', 'sell'];

/** `close_only` and `frozen` both stop new opens; see `guards.ts` for how they differ. */
export type CopyMode = 'active' | 'close_only' | 'frozen';

export type Sizing =
  | { readonly mode: 'mirror' }
  | { readonly mode: 'multiplier'; readonly multiplier: number }
  | { readonly mode: 'fixed'; readonly lots: number }
  | { readonly mode: 'balance_ratio' | 'equity_ratio' | 'contract_size'; readonly multiplier?: number | null }
  | { readonly mode: 'risk_percent'; readonly percent: number };

export type SizingMode = Sizing['mode'];

/**
 * An empty or absent `include` means "everything"; an empty form field in the console must
 * not silently stop all copying. `exclude` wins over `include`.
 */
export interface ListFilter<T> {
  readonly include?: readonly T[] | null;
  readonly exclude?: readonly T[] | null;
}

export type RiskPeriod = 'day' | 'week' | 'month' | 'lifetime';
export type RiskMetric = 'equity_drawdown' | 'balance_drawdown';
export type RiskAction = 'halt_opens' | 'close_all';

/** When both thresholds are set, crossing either one is a breach. */
export interface RiskLimit {
  readonly period: RiskPeriod;
  readonly metric: RiskMetric;
  readonly maxPercent?: number | null;
  readonly maxAmount?: number | null;
  readonly action: RiskAction;
}

export type ManualClosePolicy = 'detach' | 'reopen';

export interface SubscriptionSettings {
  readonly mode: CopyMode;
  readonly sizing: Sizing;
  /** Master symbol → follower symbol; unmapped symbols keep their name. */
  readonly symbolMap: Readonly<Record<string, string>>;
  /** Applies to the master's symbol, with `*` wildcards, case-insensitive. */
  readonly symbolFilter: ListFilter<string>;
  /** Canonical decimal strings: MT5 magic numbers are 64-bit and exceed a double's precision. */
  readonly magicFilter: ListFilter<string>;
  readonly allowedSides: readonly Side[];
  readonly reverse: boolean;
  /** Refer to the follower's own SL/TP, i.e. after `reverse` swapped them. */
  readonly copySl: boolean;
  readonly copyTp: boolean;
  readonly minVolume: number | null;
  readonly maxVolume: number | null;
  readonly forceMinimum: boolean;
  /** Force-minimum places the minimum only while minimum ÷ sized volume stays at or under this. */
  readonly forceMinimumMaxRiskFactor: number;
  readonly maxOpenPositions: number | null;
  readonly maxTotalLots: number | null;
  readonly maxTradesPerHour: number | null;
  readonly maxSignalAgeSec: number;
  readonly maxSlippagePoints: number | null;
  readonly riskLimits: readonly RiskLimit[];
  readonly manualClosePolicy: ManualClosePolicy;
}

/** What the API accepts: any field may be absent (or `null`) and takes its default. */
export type SubscriptionInput = {
  readonly [K in keyof SubscriptionSettings]?: SubscriptionSettings[K] | null;
};

/** The documented defaults; docs cite this object. */
export const subscriptionDefaults: SubscriptionSettings = Object.freeze({
  mode: 'active',
  sizing: Object.freeze({ mode: 'mirror' }),
  symbolMap: Object.freeze({}),
  symbolFilter: Object.freeze({}),
  magicFilter: Object.freeze({}),
  allowedSides: Object.freeze(['buy', 'sell'] as const),
  reverse: false,
  copySl: true,
  copyTp: true,
  minVolume: null,
  maxVolume: null,
  forceMinimum: false,
  forceMinimumMaxRiskFactor: 2,
  maxOpenPositions: null,
  maxTotalLots: null,
  maxTradesPerHour: null,
  maxSignalAgeSec: 60,
  maxSlippagePoints: null,
  riskLimits: Object.freeze([]),
  manualClosePolicy: 'detach',
});

export function withDefaults(input: SubscriptionInput = {}): SubscriptionSettings {
  const d = subscriptionDefaults;
  return {
    mode: input.mode ?? d.mode,
    sizing: input.sizing ?? d.sizing,
    symbolMap: input.symbolMap ?? d.symbolMap,
    symbolFilter: input.symbolFilter ?? d.symbolFilter,
    magicFilter: input.magicFilter ?? d.magicFilter,
    allowedSides: input.allowedSides ?? d.allowedSides,
    reverse: input.reverse ?? d.reverse,
    copySl: input.copySl ?? d.copySl,
    copyTp: input.copyTp ?? d.copyTp,
    minVolume: input.minVolume ?? d.minVolume,
    maxVolume: input.maxVolume ?? d.maxVolume,
    forceMinimum: input.forceMinimum ?? d.forceMinimum,
    forceMinimumMaxRiskFactor: input.forceMinimumMaxRiskFactor ?? d.forceMinimumMaxRiskFactor,
    maxOpenPositions: input.maxOpenPositions ?? d.maxOpenPositions,
    maxTotalLots: input.maxTotalLots ?? d.maxTotalLots,
    maxTradesPerHour: input.maxTradesPerHour ?? d.maxTradesPerHour,
    maxSignalAgeSec: input.maxSignalAgeSec ?? d.maxSignalAgeSec,
    maxSlippagePoints: input.maxSlippagePoints ?? d.maxSlippagePoints,
    riskLimits: input.riskLimits ?? d.riskLimits,
    manualClosePolicy: input.manualClosePolicy ?? d.manualClosePolicy,
  };
}

const positive = (v: number | null | undefined): boolean =>
  v === null || v === undefined || (Number.isFinite(v) && v > 0);

/**
 * Combinations a schema cannot see field by field. The management API answers them as one
 * validation error; the engine itself stays safe on any input (it skips with a reason).
 */
export function settingsProblems(s: SubscriptionSettings): string[] {
  const problems: string[] = [];
  const sz = s.sizing;
  if (sz.mode === 'multiplier' && !positive(sz.multiplier)) problems.push('sizing.multiplier must be > 0');
  if (sz.mode === 'fixed' && !positive(sz.lots)) problems.push('sizing.lots must be > 0');
  if (
    (sz.mode === 'balance_ratio' || sz.mode === 'equity_ratio' || sz.mode === 'contract_size') &&
    !positive(sz.multiplier)
  ) {
    problems.push('sizing.multiplier must be > 0');
  }
  if (sz.mode === 'risk_percent' && !(positive(sz.percent) && sz.percent <= 100))
    problems.push('sizing.percent must be in (0, 100]');
  for (const key of ['minVolume', 'maxVolume', 'maxTotalLots', 'maxSlippagePoints'] as const) {
    if (!positive(s[key])) problems.push(`${key} must be > 0`);
  }
  for (const key of ['maxOpenPositions', 'maxTradesPerHour'] as const) {
    const v = s[key];
    if (v !== null && !(Number.isInteger(v) && v > 0)) problems.push(`${key} must be a positive integer`);
  }
  if (s.minVolume !== null && s.maxVolume !== null && s.minVolume > s.maxVolume)
    problems.push('minVolume must not exceed maxVolume');
  if (!(s.forceMinimumMaxRiskFactor >= 1)) problems.push('forceMinimumMaxRiskFactor must be >= 1');
  if (!(s.maxSignalAgeSec > 0)) problems.push('maxSignalAgeSec must be > 0');
  if (s.allowedSides.length === 0) problems.push('allowedSides must name at least one side');
  for (const [master, follower] of Object.entries(s.symbolMap)) {
    if (follower.trim() === '') problems.push(`symbolMap.${master} must name a follower symbol`);
  }
  s.riskLimits.forEach((l, i) => {
    const hasPercent = l.maxPercent !== null && l.maxPercent !== undefined;
    const hasAmount = l.maxAmount !== null && l.maxAmount !== undefined;
    if (!hasPercent && !hasAmount) problems.push(`riskLimits[${i}] needs maxPercent or maxAmount`);
    if (hasPercent && !(l.maxPercent! > 0 && l.maxPercent! <= 100))
      problems.push(`riskLimits[${i}].maxPercent must be in (0, 100]`);
    if (hasAmount && !positive(l.maxAmount)) problems.push(`riskLimits[${i}].maxAmount must be > 0`);
  });
  return problems;
}
