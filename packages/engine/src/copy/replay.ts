/**
 * What-if replay: a master's recorded signals run through `planCopy` — the function live
 * fan-out calls — for one follower with given settings, as if every copy filled at the
 * master's price. The answer is the orders those settings would have produced (sizes, skips
 * with their reasons) and the follower's exposure and estimated equity after each signal.
 */
import type { ReasonCode } from './reasons.js';
import { planCopy, type FollowerContext, type LinkedPosition, type MasterSignal } from './plan.js';
import { lookupSymbol, type SymbolCatalog } from './symbol-spec.js';
import type { Side } from './subscription.js';

/** A recorded master signal: its id and when the gateway received it (the fan-out's "now"). */
export interface RecordedSignal extends MasterSignal {
  readonly signalId: string;
  readonly receivedAt: number;
}

export type ReplayAction = 'open' | 'increase' | 'modify' | 'partial_close' | 'close' | 'skip';

/** One copy order as the replay (or live copying) produced it. */
export interface ReplayOrder {
  readonly signalId: string;
  readonly at: number;
  readonly masterPositionId: string;
  readonly action: ReplayAction;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number | null;
  readonly reason: ReasonCode | null;
}

/** The follower's book after one signal: exposure and equity estimated at the master's prices. */
export interface EquityPoint {
  readonly at: number;
  readonly equity: number;
  readonly openPositions: number;
  readonly openLots: number;
}

export type ReplayContext = Omit<
  FollowerContext,
  | 'link'
  | 'openPositions'
  | 'openLots'
  | 'recentOpenTimes'
  | 'now'
  | 'activeStopOut'
  | 'quote'
  | 'masterSymbol'
> & {
  /** The master's catalog: each signal's spec is looked up in it (only `contract_size` sizing needs one). */
  readonly masterSymbols: SymbolCatalog;
};

const HOUR_MS = 3_600_000;

/** Plans every signal in order, carrying the follower's simulated links, exposure and trade rate. */
export function replayOrders(signals: readonly RecordedSignal[], ctx: ReplayContext): ReplayOrder[] {
  const links = new Map<string, LinkedPosition>();
  let opens: number[] = [];
  const orders: ReplayOrder[] = [];
  for (const signal of signals) {
    const now = signal.receivedAt;
    opens = opens.filter((t) => t > now - HOUR_MS);
    const link = links.get(signal.masterPositionId) ?? null;
    const { masterSymbols, ...follower } = ctx;
    const d = planCopy(signal, {
      ...follower,
      masterSymbol: lookupSymbol(masterSymbols, signal.symbol),
      link,
      openPositions: links.size,
      openLots: [...links.values()].reduce((sum, l) => sum + l.openVolume, 0),
      recentOpenTimes: opens,
      activeStopOut: null,
      now,
    });
    const base = { signalId: signal.signalId, at: now, masterPositionId: signal.masterPositionId };
    switch (d.action) {
      case 'skip':
        // A skipped add still grows the master's position: later partial closes are fractions of it.
        if (link && signal.type === 'position.increased')
          links.set(signal.masterPositionId, {
            ...link,
            masterVolume:
              signal.remainingVolume ??
              (link.masterVolume != null ? link.masterVolume + signal.volume : null),
          });
        orders.push({
          ...base,
          action: 'skip',
          symbol: signal.symbol,
          side: signal.side,
          volume: null,
          reason: d.reason,
        });
        continue;
      case 'open':
        links.set(signal.masterPositionId, {
          ticket: null,
          openVolume: d.volume,
          symbol: d.symbol,
          side: d.side,
          masterVolume: signal.volume,
        });
        opens.push(now);
        orders.push({
          ...base,
          action: 'open',
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          reason: null,
        });
        continue;
      case 'increase':
        if (link)
          links.set(signal.masterPositionId, {
            ...link,
            openVolume: Number((link.openVolume + d.volume).toFixed(8)),
            masterVolume:
              signal.remainingVolume ??
              (link.masterVolume != null ? link.masterVolume + signal.volume : null),
          });
        opens.push(now);
        orders.push({
          ...base,
          action: 'increase',
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          reason: null,
        });
        continue;
      case 'modify':
        orders.push({
          ...base,
          action: 'modify',
          symbol: d.symbol,
          side: d.side,
          volume: null,
          reason: null,
        });
        continue;
      case 'partial_close':
        if (link)
          links.set(signal.masterPositionId, {
            ...link,
            openVolume: d.remainingVolume,
            masterVolume:
              signal.remainingVolume ??
              (link.masterVolume != null ? Math.max(0, link.masterVolume - signal.volume) : null),
          });
        orders.push({
          ...base,
          action: 'partial_close',
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          reason: null,
        });
        continue;
      case 'close':
        links.delete(signal.masterPositionId);
        orders.push({
          ...base,
          action: 'close',
          symbol: d.symbol,
          side: d.side,
          volume: d.volume,
          reason: d.reason ?? null,
        });
        continue;
    }
  }
  return orders;
}

/**
 * The follower's estimated equity after each signal: every non-skipped order fills at the
 * master's recorded price, and open positions are valued at the latest recorded price of
 * their master symbol (tick value per tick size from the follower's catalog).
 */
export function equityCurve(
  signals: readonly RecordedSignal[],
  orders: readonly ReplayOrder[],
  symbols: SymbolCatalog,
  startingEquity: number,
): EquityPoint[] {
  const bySignal = new Map<string, ReplayOrder[]>();
  for (const o of orders) {
    const list = bySignal.get(o.signalId);
    if (list) list.push(o);
    else bySignal.set(o.signalId, [o]);
  }
  const lastPrice = new Map<string, number>();
  const book = new Map<
    string,
    { masterSymbol: string; dir: 1 | -1; volume: number; openPrice: number; value: number }
  >();
  let realized = 0;
  const curve: EquityPoint[] = [];
  for (const s of signals) {
    lastPrice.set(s.symbol, s.price);
    for (const o of bySignal.get(s.signalId) ?? []) {
      const held = book.get(o.masterPositionId);
      if (o.action === 'open' && o.volume !== null) {
        const spec = lookupSymbol(symbols, o.symbol);
        const value = spec && spec.tickSize > 0 ? spec.tickValue / spec.tickSize : 0;
        book.set(o.masterPositionId, {
          masterSymbol: s.symbol,
          dir: o.side === 'buy' ? 1 : -1,
          volume: o.volume,
          openPrice: s.price,
          value,
        });
      } else if (held && o.action === 'increase' && o.volume !== null) {
        const volume = held.volume + o.volume;
        const openPrice = (held.openPrice * held.volume + s.price * o.volume) / volume;
        book.set(o.masterPositionId, { ...held, volume, openPrice });
      } else if (held && (o.action === 'partial_close' || o.action === 'close') && o.volume !== null) {
        const closed = Math.min(held.volume, o.volume);
        realized += (s.price - held.openPrice) * held.dir * closed * held.value;
        const rest = o.action === 'close' ? 0 : held.volume - closed;
        if (rest <= 1e-9) book.delete(o.masterPositionId);
        else book.set(o.masterPositionId, { ...held, volume: rest });
      }
    }
    let floating = 0;
    let lots = 0;
    for (const p of book.values()) {
      floating += ((lastPrice.get(p.masterSymbol) ?? p.openPrice) - p.openPrice) * p.dir * p.volume * p.value;
      lots += p.volume;
    }
    curve.push({
      at: s.receivedAt,
      equity: round2(startingEquity + realized + floating),
      openPositions: book.size,
      openLots: Math.round(lots * 1e8) / 1e8,
    });
  }
  return curve;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
