/**
 * Subscription settings ⇄ the editing form. The form keeps what the operator typed; `toSettings`
 * converts without judging — a value that is not a number is sent as typed, so the API's own
 * validation (and its `issues`) is the one the operator reads.
 */
import type { Sizing, SubscriptionSettings } from '@kopitra/contracts';

export type SizingMode = Sizing['mode'];
export const SIZING_MODES: Array<{
  mode: SizingMode;
  label: string;
  param: 'multiplier' | 'lots' | 'percent' | null;
  paramLabel?: string;
  optional?: boolean;
}> = [
  { mode: 'mirror', label: 'mirror — same lots as the master', param: null },
  {
    mode: 'multiplier',
    label: 'multiplier — master lots × k',
    param: 'multiplier',
    paramLabel: 'Multiplier k',
  },
  { mode: 'fixed', label: 'fixed — always the same lots', param: 'lots', paramLabel: 'Lots' },
  {
    mode: 'balance_ratio',
    label: 'balance ratio — × follower/master balance',
    param: 'multiplier',
    paramLabel: 'Extra multiplier k',
    optional: true,
  },
  {
    mode: 'equity_ratio',
    label: 'equity ratio — × follower/master equity',
    param: 'multiplier',
    paramLabel: 'Extra multiplier k',
    optional: true,
  },
  {
    mode: 'contract_size',
    label: 'contract size — keep the master notional',
    param: 'multiplier',
    paramLabel: 'Extra multiplier k',
    optional: true,
  },
  {
    mode: 'risk_percent',
    label: 'risk % — of follower equity between entry and SL',
    param: 'percent',
    paramLabel: 'Risk per trade, %',
  },
];

export interface RiskLimitRow {
  period: 'day' | 'week' | 'month' | 'lifetime';
  metric: 'equity_drawdown' | 'balance_drawdown';
  unit: 'percent' | 'amount';
  value: string;
  action: 'halt_opens' | 'close_all';
}

export const NUMBER_FIELDS = [
  'minVolume',
  'maxVolume',
  'maxOpenPositions',
  'maxTotalLots',
  'maxTradesPerHour',
  'maxSignalAgeSec',
  'maxSlippagePoints',
  'forceMinimumMaxRiskFactor',
] as const;
export type NumberField = (typeof NUMBER_FIELDS)[number];

export const AFFIXES = ['masterPrefix', 'masterSuffix', 'followerPrefix', 'followerSuffix'] as const;
export type Affix = (typeof AFFIXES)[number];
export type JoinMode = 'none' | 'market' | 'limit';

export interface SettingsForm {
  mode: 'active' | 'close_only' | 'frozen';
  sizingMode: SizingMode;
  sizingValue: string;
  symbolMap: Array<{ from: string; to: string }>;
  symbolInclude: string;
  symbolExclude: string;
  magicInclude: string;
  magicExclude: string;
  buy: boolean;
  sell: boolean;
  reverse: boolean;
  copySl: boolean;
  copyTp: boolean;
  forceMinimum: boolean;
  manualClosePolicy: 'detach' | 'reopen';
  numbers: Record<NumberField, string>;
  riskLimits: RiskLimitRow[];
  symbolAuto: boolean;
  affixes: Record<Affix, string>;
  masterVolumeMin: string;
  masterVolumeMax: string;
  joinMode: JoinMode;
  joinDistance: string;
  joinExpiry: string;
  pendingOrders: 'copy' | 'skip' | 'market_on_fill';
  pendingOnMasterFill: 'leave' | 'market';
}

const str = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
const list = (v: ReadonlyArray<string | number> | null | undefined) => (v ?? []).join(', ');

export function toForm(s: SubscriptionSettings = {}): SettingsForm {
  const sizing = s.sizing ?? { mode: 'mirror' };
  const sizingValue =
    'multiplier' in sizing
      ? str(sizing.multiplier)
      : 'lots' in sizing
        ? str(sizing.lots)
        : 'percent' in sizing
          ? str(sizing.percent)
          : '';
  const sides = s.allowedSides ?? ['buy', 'sell'];
  return {
    mode: s.mode ?? 'active',
    sizingMode: sizing.mode,
    sizingValue,
    symbolMap: Object.entries(s.symbolMap ?? {}).map(([from, to]) => ({ from, to })),
    symbolInclude: list(s.symbolFilter?.include),
    symbolExclude: list(s.symbolFilter?.exclude),
    magicInclude: list(s.magicFilter?.include),
    magicExclude: list(s.magicFilter?.exclude),
    buy: sides.includes('buy'),
    sell: sides.includes('sell'),
    reverse: s.reverse ?? false,
    copySl: s.copySl ?? true,
    copyTp: s.copyTp ?? true,
    forceMinimum: s.forceMinimum ?? false,
    manualClosePolicy: s.manualClosePolicy ?? 'detach',
    numbers: Object.fromEntries(NUMBER_FIELDS.map((k) => [k, str(s[k])])) as Record<NumberField, string>,
    symbolAuto: s.symbolRules?.auto ?? false,
    affixes: Object.fromEntries(AFFIXES.map((k) => [k, s.symbolRules?.[k] ?? ''])) as Record<Affix, string>,
    masterVolumeMin: str(s.masterVolume?.min),
    masterVolumeMax: str(s.masterVolume?.max),
    joinMode: s.onJoin?.mode ?? 'none',
    joinDistance: str(s.onJoin?.maxDistancePoints),
    joinExpiry: str(s.onJoin?.expiryMinutes),
    pendingOrders: s.pendingOrders ?? 'copy',
    pendingOnMasterFill: s.pendingOnMasterFill ?? 'leave',
    riskLimits: (s.riskLimits ?? []).map((l) => ({
      period: l.period,
      metric: l.metric,
      action: l.action,
      unit: l.maxPercent != null ? 'percent' : 'amount',
      value: str(l.maxPercent ?? l.maxAmount),
    })),
  };
}

/** '' → unset; a number → that number; anything else → as typed, for the API to refuse by name. */
const num = (v: string): number | string | undefined => {
  const t = v.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
};
const words = (v: string) =>
  v
    .split(/[\s,]+/)
    .map((w) => w.trim())
    .filter(Boolean);
const filter = <T>(include: T[], exclude: T[]) =>
  include.length || exclude.length
    ? { ...(include.length ? { include } : {}), ...(exclude.length ? { exclude } : {}) }
    : undefined;

export function toSettings(f: SettingsForm): Record<string, unknown> {
  const param = SIZING_MODES.find((m) => m.mode === f.sizingMode)?.param;
  const sizing: Record<string, unknown> = { mode: f.sizingMode };
  if (param) sizing[param] = num(f.sizingValue);
  const out: Record<string, unknown> = {
    mode: f.mode,
    sizing,
    allowedSides: [...(f.buy ? ['buy'] : []), ...(f.sell ? ['sell'] : [])],
    reverse: f.reverse,
    copySl: f.copySl,
    copyTp: f.copyTp,
    forceMinimum: f.forceMinimum,
    manualClosePolicy: f.manualClosePolicy,
  };
  const map = f.symbolMap.filter((r) => r.from.trim() !== '' || r.to.trim() !== '');
  if (map.length) out['symbolMap'] = Object.fromEntries(map.map((r) => [r.from.trim(), r.to.trim()]));
  const symbols = filter(words(f.symbolInclude), words(f.symbolExclude));
  if (symbols) out['symbolFilter'] = symbols;
  // Magic numbers go as typed: 64-bit ones would lose digits as JavaScript numbers.
  const magic = filter(words(f.magicInclude), words(f.magicExclude));
  if (magic) out['magicFilter'] = magic;
  for (const k of NUMBER_FIELDS) {
    const v = num(f.numbers[k]);
    if (v !== undefined) out[k] = v;
  }
  const affixes = Object.fromEntries(
    AFFIXES.map((k) => [k, f.affixes[k].trim()] as const).filter(([, v]) => v !== ''),
  );
  if (f.symbolAuto || Object.keys(affixes).length)
    out['symbolRules'] = { ...(f.symbolAuto ? { auto: true } : {}), ...affixes };
  const masterMin = num(f.masterVolumeMin);
  const masterMax = num(f.masterVolumeMax);
  if (masterMin !== undefined || masterMax !== undefined)
    out['masterVolume'] = {
      ...(masterMin !== undefined ? { min: masterMin } : {}),
      ...(masterMax !== undefined ? { max: masterMax } : {}),
    };
  if (f.joinMode !== 'none') {
    const distance = num(f.joinDistance);
    const expiry = num(f.joinExpiry);
    out['onJoin'] = {
      mode: f.joinMode,
      ...(distance !== undefined ? { maxDistancePoints: distance } : {}),
      ...(expiry !== undefined ? { expiryMinutes: expiry } : {}),
    };
  }
  // Defaults stay unsaid, so a subscription saved before pending orders reads the same.
  if (f.pendingOrders !== 'copy') out['pendingOrders'] = f.pendingOrders;
  if (f.pendingOnMasterFill !== 'leave') out['pendingOnMasterFill'] = f.pendingOnMasterFill;
  if (f.riskLimits.length) {
    out['riskLimits'] = f.riskLimits.map((l) => ({
      period: l.period,
      metric: l.metric,
      action: l.action,
      [l.unit === 'percent' ? 'maxPercent' : 'maxAmount']: num(l.value),
    }));
  }
  return out;
}

/** One line an operator can scan in a table: "multiplier ×2 · close only · 1 symbol mapped". */
export function summarize(s: SubscriptionSettings): string {
  const sz = s.sizing ?? { mode: 'mirror' };
  const sizing =
    sz.mode === 'fixed'
      ? `fixed ${sz.lots} lots`
      : sz.mode === 'risk_percent'
        ? `risk ${sz.percent} %`
        : 'multiplier' in sz && sz.multiplier != null
          ? `${sz.mode.replace(/_/g, ' ')} ×${sz.multiplier}`
          : sz.mode.replace(/_/g, ' ');
  const parts = [sizing];
  if (s.reverse) parts.push('reversed');
  const mapped = Object.keys(s.symbolMap ?? {}).length;
  if (mapped) parts.push(`${mapped} symbol${mapped > 1 ? 's' : ''} mapped`);
  if (s.symbolRules?.auto) parts.push('symbols resolved automatically');
  else if (s.symbolRules && AFFIXES.some((k) => s.symbolRules?.[k])) parts.push('symbol affix rules');
  if (s.masterVolume?.min != null || s.masterVolume?.max != null)
    parts.push(`master lots ${s.masterVolume.min ?? 0}–${s.masterVolume.max ?? '∞'}`);
  if (s.onJoin && s.onJoin.mode !== 'none')
    parts.push(`joins at ${s.onJoin.mode} within ${s.onJoin.maxDistancePoints ?? '?'} points`);
  if (s.maxSignalAgeSec !== undefined) parts.push(`max age ${s.maxSignalAgeSec} s`);
  const limits = s.riskLimits?.length ?? 0;
  if (limits) parts.push(`${limits} risk limit${limits > 1 ? 's' : ''}`);
  return parts.join(' · ');
}
