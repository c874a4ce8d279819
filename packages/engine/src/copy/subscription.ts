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

/**
 * How a master symbol becomes the follower's when the explicit map does not name it (see
 * `symbol-resolution.ts`). Affixes are literal text: `masterSuffix: '.r'` strips `.r` from
 * `EURUSD.r`, `followerSuffix: '.m'` makes it `EURUSD.m`. `auto` also searches the follower's
 * reported catalog (same name, same base with the follower's affixes, synonyms).
 */
export interface SymbolRules {
  readonly auto: boolean;
  readonly masterPrefix: string;
  readonly masterSuffix: string;
  readonly followerPrefix: string;
  readonly followerSuffix: string;
}

/** Bounds on the master's own volume per open: a guard against martingale steps. */
export interface MasterVolumeFilter {
  readonly min: number | null;
  readonly max: number | null;
}

/**
 * What a follower does about positions the master already holds when it joins (subscribes,
 * or comes back after its copies expired): `none` leaves them, `market` opens them while the
 * price is within `maxDistancePoints` of the master's entry, `limit` (a pending order at the
 * master's entry, `expiryMinutes`) waits for pending orders on the wire and is refused today.
 */
export type OnJoinMode = 'none' | 'market' | 'limit';
export interface OnJoin {
  readonly mode: OnJoinMode;
  readonly maxDistancePoints: number | null;
  readonly expiryMinutes: number | null;
}

/**
 * The master's pending orders: `copy` places the follower's own pending order, `skip` ignores
 * them, `market_on_fill` places nothing and copies the position once the master's order fills.
 */
export type PendingOrdersMode = 'copy' | 'skip' | 'market_on_fill';
/** When the master's order fills and the follower's copy has not: leave it, or open at market. */
export type PendingOnMasterFill = 'leave' | 'market';

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
  readonly symbolRules: SymbolRules;
  readonly masterVolume: MasterVolumeFilter;
  readonly onJoin: OnJoin;
  readonly pendingOrders: PendingOrdersMode;
  readonly pendingOnMasterFill: PendingOnMasterFill;
}

type Loose<T> = { readonly [K in keyof T]?: T[K] | null };
type Nested = 'symbolRules' | 'masterVolume' | 'onJoin';

/** What the API accepts: any field may be absent (or `null`) and takes its default. */
export type SubscriptionInput = Loose<Omit<SubscriptionSettings, Nested>> & {
  readonly symbolRules?: Loose<SymbolRules> | null;
  readonly masterVolume?: Loose<MasterVolumeFilter> | null;
  readonly onJoin?: (Loose<OnJoin> & { readonly mode: OnJoinMode }) | null;
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
  symbolRules: Object.freeze({
    auto: false,
    masterPrefix: '',
    masterSuffix: '',
    followerPrefix: '',
    followerSuffix: '',
  }),
  masterVolume: Object.freeze({ min: null, max: null }),
  onJoin: Object.freeze({ mode: 'none', maxDistancePoints: null, expiryMinutes: null }),
  pendingOrders: 'copy',
  pendingOnMasterFill: 'leave',
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
    symbolRules: {
      auto: input.symbolRules?.auto ?? d.symbolRules.auto,
      masterPrefix: input.symbolRules?.masterPrefix ?? d.symbolRules.masterPrefix,
      masterSuffix: input.symbolRules?.masterSuffix ?? d.symbolRules.masterSuffix,
      followerPrefix: input.symbolRules?.followerPrefix ?? d.symbolRules.followerPrefix,
      followerSuffix: input.symbolRules?.followerSuffix ?? d.symbolRules.followerSuffix,
    },
    masterVolume: {
      min: input.masterVolume?.min ?? d.masterVolume.min,
      max: input.masterVolume?.max ?? d.masterVolume.max,
    },
    onJoin: {
      mode: input.onJoin?.mode ?? d.onJoin.mode,
      maxDistancePoints: input.onJoin?.maxDistancePoints ?? d.onJoin.maxDistancePoints,
      expiryMinutes: input.onJoin?.expiryMinutes ?? d.onJoin.expiryMinutes,
    },
    pendingOrders: input.pendingOrders ?? d.pendingOrders,
    pendingOnMasterFill: input.pendingOnMasterFill ?? d.pendingOnMasterFill,
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
  const mv = s.masterVolume;
  if (!positive(mv.min)) problems.push('masterVolume.min must be > 0');
  if (!positive(mv.max)) problems.push('masterVolume.max must be > 0');
  if (mv.min !== null && mv.max !== null && mv.min > mv.max)
    problems.push('masterVolume.min must not exceed masterVolume.max');
  if (!positive(s.onJoin.maxDistancePoints)) problems.push('onJoin.maxDistancePoints must be > 0');
  if (!positive(s.onJoin.expiryMinutes)) problems.push('onJoin.expiryMinutes must be > 0');
  if (s.onJoin.mode === 'market' && s.onJoin.maxDistancePoints === null)
    problems.push('onJoin.maxDistancePoints is required for the market mode');
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

/**
 * Settings that are valid but cannot work yet: the management API refuses them with their own
 * code (`setting_unsupported`) rather than store something that silently does nothing.
 */
export function unsupportedSettings(s: SubscriptionSettings): string[] {
  return s.onJoin.mode === 'limit'
    ? [
        'onJoin.mode limit places a pending order at the master entry; pending orders are not on the EA protocol yet',
      ]
    : [];
}
