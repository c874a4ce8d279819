/**
 * A follower's (or master's) symbol as its terminal reports it in `ea.symbol_catalog`, and
 * the volume-step arithmetic every sized or closed volume goes through.
 */

export type SymbolTradeMode = 'full' | 'long_only' | 'short_only' | 'close_only' | 'disabled';

export interface SymbolSpec {
  readonly symbol?: string;
  readonly digits: number;
  readonly point: number;
  readonly tickSize: number;
  /** Value of one tick for one lot, in the account's currency. */
  readonly tickValue: number;
  readonly contractSize: number;
  readonly volumeMin: number;
  readonly volumeMax: number;
  readonly volumeStep: number;
  readonly tradeMode: SymbolTradeMode;
}

/** Callers hold catalogs either as a Map or as a parsed JSON object; both work. */
export type SymbolCatalog = ReadonlyMap<string, SymbolSpec> | Readonly<Record<string, SymbolSpec>>;

const isMap = (c: SymbolCatalog): c is ReadonlyMap<string, SymbolSpec> => c instanceof Map;

export function lookupSymbol(catalog: SymbolCatalog, symbol: string): SymbolSpec | null {
  if (isMap(catalog)) return catalog.get(symbol) ?? null;
  return Object.hasOwn(catalog, symbol) ? ((catalog as Record<string, SymbolSpec>)[symbol] ?? null) : null;
}

export const catalogSize = (catalog: SymbolCatalog): number =>
  isMap(catalog) ? catalog.size : Object.keys(catalog).length;

// --- volume steps -----------------------------------------------------------------------------
//
// Lots are decimal quantities held in binary floats: 0.07 / 0.01 is 7.000000000000001 and
// 0.3 / 0.1 is 2.9999999999999996. Counting whole steps with a small tolerance and printing
// the result with the step's own decimals keeps 0.3 from flooring to 0.2 and keeps
// 0.30000000000000004 off the wire.

/** Smallest number of decimals that writes the step exactly (0.01 → 2, 0.05 → 2, 1 → 0). */
export function stepDecimals(step: number): number {
  for (let d = 0; d <= 12; d++) {
    const scaled = step * 10 ** d;
    const whole = Math.round(scaled);
    if (whole >= 1 && Math.abs(whole - scaled) <= 1e-9 * scaled) return d;
  }
  return 12;
}

const tolerance = (steps: number): number => 1e-9 + Math.abs(steps) * 1e-12;

const fromSteps = (n: number, step: number): number => {
  const value = Number((n * step).toFixed(stepDecimals(step)));
  return value === 0 ? 0 : value;
};

export function floorToStep(volume: number, step: number): number {
  const steps = volume / step;
  return fromSteps(Math.floor(steps + tolerance(steps)), step);
}

/** The nearest whole number of steps; a volume exactly half-way rounds up. */
export function roundToStep(volume: number, step: number): number {
  const steps = volume / step;
  return fromSteps(Math.floor(steps + 0.5 + tolerance(steps)), step);
}

export function ceilToStep(volume: number, step: number): number {
  const steps = volume / step;
  return fromSteps(Math.ceil(steps - tolerance(steps)), step);
}

/** `a - b` for two volumes, without the float tail (1.1 - 1 → 0.1). */
export const subtractVolumes = (a: number, b: number, step: number): number =>
  Number((a - b).toFixed(Math.max(stepDecimals(step), 8)));

export function isOnStep(volume: number, step: number): boolean {
  const steps = volume / step;
  return Math.abs(steps - Math.round(steps)) <= tolerance(steps);
}

/** Volumes this close are the same volume; anything below a step is rounding noise. */
export const volumesEqual = (a: number, b: number, step: number): boolean => Math.abs(a - b) < step / 2;

export const roundToDigits = (price: number, digits: number): number =>
  Number(price.toFixed(Math.max(0, Math.min(10, digits))));
