/**
 * Which master trades a follower takes, under which symbol and on which side. Filters look
 * at the master's trade (what the operator sees in the master's terminal); the map says
 * what the follower's broker calls the same instrument.
 */
import { skip, type Skip } from './reasons.js';
import type { ListFilter, MasterVolumeFilter, Side, SubscriptionSettings } from './subscription.js';

export interface MappedSymbol {
  readonly symbol: string;
  /** True when the subscription's map named it; false when the master's name was kept. */
  readonly mapped: boolean;
}

export function mapSymbol(masterSymbol: string, symbolMap: Readonly<Record<string, string>>): MappedSymbol {
  const target = Object.hasOwn(symbolMap, masterSymbol) ? symbolMap[masterSymbol] : undefined;
  return target !== undefined && target.trim() !== ''
    ? { symbol: target, mapped: true }
    : { symbol: masterSymbol, mapped: false };
}

const escapeRegExp = (s: string): string => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

/**
 * `*` stands for any run of characters; everything else is literal. Case-insensitive,
 * because operators type `eurusd*` and mean the broker's `EURUSD.m`.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  const source = pattern.split('*').map(escapeRegExp).join('.*');
  return new RegExp(`^${source}$`, 'i').test(value);
}

const nonEmpty = <T>(list: readonly T[] | null | undefined): list is readonly T[] =>
  list !== null && list !== undefined && list.length > 0;

export function symbolAllowed(masterSymbol: string, filter: ListFilter<string>): boolean {
  if (nonEmpty(filter.exclude) && filter.exclude.some((p) => wildcardMatch(p, masterSymbol))) return false;
  if (nonEmpty(filter.include)) return filter.include.some((p) => wildcardMatch(p, masterSymbol));
  return true;
}

/**
 * A trade without a magic number was placed by hand in MetaTrader, which means magic 0.
 * Magic numbers compare as decimal strings; settings saved before they were strings hold
 * JSON numbers, which `String` brings to the same form.
 */
export function magicAllowed(magic: string | null | undefined, filter: ListFilter<string | number>): boolean {
  const m = magic ?? '0';
  const has = (list: readonly (string | number)[]) => list.some((x) => String(x) === m);
  if (nonEmpty(filter.exclude) && has(filter.exclude)) return false;
  if (nonEmpty(filter.include)) return has(filter.include);
  return true;
}

export const sideAllowed = (side: Side, allowedSides: readonly Side[]): boolean =>
  allowedSides.includes(side);

export const flipSide = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

export interface Direction {
  readonly side: Side;
  readonly sl: number | null;
  readonly tp: number | null;
}

/**
 * The mirror image of a trade: the master's take-profit is where the reversed position
 * loses, so it becomes the stop loss, and the master's stop loss becomes the target.
 */
export const reverseDirection = (d: Direction): Direction => ({ side: flipSide(d.side), sl: d.tp, tp: d.sl });

/**
 * The master's own volume against the subscription's bounds: a martingale master doubles its
 * lots after each loss, and the outsized steps are the ones a follower wants to sit out.
 * Distinct from `minVolume`/`maxVolume`, which bound (and cap) the follower's sized volume.
 */
export function masterVolumeAllowed(volume: number, filter: MasterVolumeFilter): Skip | null {
  if (filter.min !== null && volume < filter.min - 1e-9)
    return skip('master_volume_below_minimum', `the master opened ${volume} lots, minimum ${filter.min}`);
  if (filter.max !== null && volume > filter.max + 1e-9)
    return skip('master_volume_above_maximum', `the master opened ${volume} lots, maximum ${filter.max}`);
  return null;
}

/** The master-side filters every new open passes, in the order an operator would check them. */
export function filterOpen(
  signal: {
    readonly symbol: string;
    readonly side: Side;
    readonly magic?: string | null;
    readonly volume?: number;
  },
  settings: Pick<SubscriptionSettings, 'symbolFilter' | 'magicFilter' | 'allowedSides'> &
    Partial<Pick<SubscriptionSettings, 'masterVolume'>>,
): Skip | null {
  if (!symbolAllowed(signal.symbol, settings.symbolFilter))
    return skip('symbol_excluded', `${signal.symbol} is filtered out`);
  if (!magicAllowed(signal.magic, settings.magicFilter))
    return skip('magic_excluded', `magic ${signal.magic ?? '0'} is filtered out`);
  // Sides are filtered on the master's side: "copy only the master's buys" stays true when reversed.
  if (!sideAllowed(signal.side, settings.allowedSides))
    return skip('side_not_allowed', `${signal.side} trades are not copied`);
  if (settings.masterVolume && signal.volume !== undefined)
    return masterVolumeAllowed(signal.volume, settings.masterVolume);
  return null;
}
