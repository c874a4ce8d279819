/** The simulated broker's dealing desk: fills after a latency, with slippage, or rejects. */
import type { Side } from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import type { PriceFeed } from './price-feed.js';
import type { Prng } from './prng.js';
import { roundPrice } from './symbols.js';

export interface BrokerOptions {
  /** Share of trade requests refused (0–1). */
  rejectRate?: number;
  /** Fill latency range in ms. */
  latencyMs?: readonly [number, number];
  /** Largest adverse slippage in points (a fill may also improve by a quarter of it). */
  slippagePoints?: number;
}

/** One dealing outcome. */
export type Deal =
  | { readonly ok: true; readonly price: number; readonly latencyMs: number }
  | { readonly ok: false; readonly code: number; readonly message: string; readonly latencyMs: number };

/** MetaTrader 5's TRADE_RETCODE_REJECT. */
export const RETCODE_REJECT = 10006;

/** Fills deals for one account. */
export class SimBroker {
  constructor(
    private readonly prng: Prng,
    private readonly feed: PriceFeed,
    private readonly clock: Clock,
    readonly options: BrokerOptions = {},
  ) {}

  /**
   * Deals `side` (buy at the ask, sell at the bid) on `symbol`, around `reference` when given
   * (the master's price the follower's broker tracks), after the configured latency.
   */
  async deal(symbol: string, side: Side, reference?: number): Promise<Deal> {
    const [lo, hi] = this.options.latencyMs ?? [0, 0];
    const latencyMs = hi > 0 ? this.prng.int(lo, hi) : 0;
    const reject = this.prng.chance(this.options.rejectRate ?? 0);
    const slipDraw = this.prng.uniform(-0.25, 1);
    if (latencyMs > 0) await this.clock.sleep(latencyMs);
    if (reject) return { ok: false, code: RETCODE_REJECT, message: 'Request rejected', latencyMs };
    const s = this.feed.symbol(symbol);
    if (!s) return { ok: false, code: 10013, message: `Unknown symbol ${symbol}`, latencyMs };
    if (reference !== undefined) this.feed.anchor(symbol, reference);
    const q = this.feed.quote(symbol);
    const base = reference ?? (side === 'buy' ? q.ask : q.bid);
    const slip = slipDraw * (this.options.slippagePoints ?? 0) * s.spec.point;
    return {
      ok: true,
      price: roundPrice(side === 'buy' ? base + slip : base - slip, s.spec.digits),
      latencyMs,
    };
  }
}
