/**
 * The simulated broker's Market Watch: realistic specs for a USD account (tick values are
 * per lot, in USD), and the broker suffixes real brokers add (`EURUSD.m`, `XAUUSD-ECN`).
 */
import type { SymbolSpec } from '@kopitra/contracts';

/** One tradable symbol: its spec as the terminal reports it, and how its price moves. */
export interface SimSymbol {
  /** The instrument without the broker's suffix (`EURUSD`). */
  readonly base: string;
  readonly spec: SymbolSpec;
  /** Starting mid price. */
  readonly price: number;
  /** Standard deviation of one price tick, in points. */
  readonly volatilityPoints: number;
  readonly spreadPoints: number;
  /** Typical lot sizes a trader uses on it. */
  readonly lots: readonly number[];
}

type Base = Omit<SimSymbol, 'spec' | 'base'> & { spec: Omit<SymbolSpec, 'symbol'> };

const FX_LOTS = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2];

/** The instruments the simulator knows, by base name. */
export const BASE_SYMBOLS: Readonly<Record<string, Base>> = Object.freeze({
  EURUSD: {
    spec: {
      digits: 5,
      point: 0.00001,
      tickSize: 0.00001,
      tickValue: 1,
      contractSize: 100_000,
      volumeMin: 0.01,
      volumeMax: 100,
      volumeStep: 0.01,
      tradeMode: 'full',
    },
    price: 1.085,
    volatilityPoints: 6,
    spreadPoints: 8,
    lots: FX_LOTS,
  },
  GBPUSD: {
    spec: {
      digits: 5,
      point: 0.00001,
      tickSize: 0.00001,
      tickValue: 1,
      contractSize: 100_000,
      volumeMin: 0.01,
      volumeMax: 100,
      volumeStep: 0.01,
      tradeMode: 'full',
    },
    price: 1.27,
    volatilityPoints: 8,
    spreadPoints: 12,
    lots: FX_LOTS,
  },
  USDJPY: {
    // Tick value in USD is 100 000 × 0.001 / USDJPY.
    spec: {
      digits: 3,
      point: 0.001,
      tickSize: 0.001,
      tickValue: 0.66,
      contractSize: 100_000,
      volumeMin: 0.01,
      volumeMax: 100,
      volumeStep: 0.01,
      tradeMode: 'full',
    },
    price: 151.3,
    volatilityPoints: 7,
    spreadPoints: 10,
    lots: FX_LOTS,
  },
  XAUUSD: {
    spec: {
      digits: 2,
      point: 0.01,
      tickSize: 0.01,
      tickValue: 1,
      contractSize: 100,
      volumeMin: 0.01,
      volumeMax: 50,
      volumeStep: 0.01,
      tradeMode: 'full',
    },
    price: 2350,
    volatilityPoints: 30,
    spreadPoints: 25,
    lots: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  },
  US30: {
    spec: {
      digits: 1,
      point: 0.1,
      tickSize: 0.1,
      tickValue: 0.1,
      contractSize: 1,
      volumeMin: 0.1,
      volumeMax: 50,
      volumeStep: 0.1,
      tradeMode: 'full',
    },
    price: 39_000,
    volatilityPoints: 40,
    spreadPoints: 20,
    lots: [0.1, 0.2, 0.5, 1, 2, 5],
  },
});

export const DEFAULT_SYMBOLS: readonly string[] = Object.freeze(Object.keys(BASE_SYMBOLS));

/** The catalogue of a broker that names its symbols `<base><suffix>` (suffix `''`, `.m`, `-ECN`, …). */
export function symbolCatalogue(opts: { suffix?: string; symbols?: readonly string[] } = {}): SimSymbol[] {
  const suffix = opts.suffix ?? '';
  return (opts.symbols ?? DEFAULT_SYMBOLS).map((base) => {
    const b = BASE_SYMBOLS[base];
    if (!b) throw new Error(`unknown symbol "${base}" (known: ${DEFAULT_SYMBOLS.join(', ')})`);
    return { ...b, base, spec: { symbol: `${base}${suffix}`, ...b.spec } };
  });
}

/** The subscription `symbolMap` from a master without suffix to a follower broker with `suffix`. */
export function suffixSymbolMap(
  suffix: string,
  symbols: readonly string[] = DEFAULT_SYMBOLS,
): Record<string, string> {
  return Object.fromEntries(symbols.map((s) => [s, `${s}${suffix}`]));
}

/** Decimals that write a volume step exactly (0.01 → 2, 0.1 → 1, 1 → 0). */
export function stepDecimals(step: number): number {
  for (let d = 0; d <= 8; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-9) return d;
  return 8;
}

/** A volume on the step grid, without float tails (0.30000000000000004 → 0.3). */
export const roundVolume = (volume: number, step: number): number =>
  Number((Math.round(volume / step + 1e-9) * step).toFixed(stepDecimals(step)));

/** A volume floored to the step grid. */
export const floorVolume = (volume: number, step: number): number =>
  Number((Math.floor(volume / step + 1e-9) * step).toFixed(stepDecimals(step)));

/** A price rounded to the symbol's digits. */
export const roundPrice = (price: number, digits: number): number => Number(price.toFixed(digits));
