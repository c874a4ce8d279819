/** A seedable random-walk price feed: one mid price per symbol, quoted with its spread. */
import type { Prng } from './prng.js';
import { roundPrice, type SimSymbol } from './symbols.js';

/** Bid and ask of one symbol. */
export interface Quote {
  readonly bid: number;
  readonly ask: number;
}

/** Prices of a terminal's symbols, moved by `tick()`. */
export class PriceFeed {
  private readonly mids = new Map<string, number>();
  private readonly bySymbol = new Map<string, SimSymbol>();

  /** Starts every symbol at its reference price. */
  constructor(
    private readonly prng: Prng,
    readonly symbols: readonly SimSymbol[],
  ) {
    for (const s of symbols) {
      this.mids.set(s.spec.symbol, s.price);
      this.bySymbol.set(s.spec.symbol, s);
    }
  }

  /** The symbol as this terminal names it, or undefined. */
  symbol(name: string): SimSymbol | undefined {
    return this.bySymbol.get(name);
  }

  /** Moves every price one random step, pulled gently back toward its reference. */
  tick(): void {
    for (const s of this.symbols) {
      const mid = this.mids.get(s.spec.symbol)!;
      const step = this.prng.normal() * s.volatilityPoints * s.spec.point;
      const pull = (s.price - mid) * 0.002;
      this.mids.set(s.spec.symbol, Math.max(s.spec.point, mid + step + pull));
    }
  }

  /** Re-centres a symbol on a price seen elsewhere (the follower's broker tracks the master's market). */
  anchor(symbol: string, mid: number): void {
    if (this.mids.has(symbol) && Number.isFinite(mid) && mid > 0) this.mids.set(symbol, mid);
  }

  /** The current quote, rounded to the symbol's digits. */
  quote(symbol: string): Quote {
    const s = this.bySymbol.get(symbol);
    const mid = this.mids.get(symbol);
    if (!s || mid === undefined) throw new Error(`no price for ${symbol}`);
    const half = (s.spreadPoints * s.spec.point) / 2;
    return { bid: roundPrice(mid - half, s.spec.digits), ask: roundPrice(mid + half, s.spec.digits) };
  }
}
