/**
 * A master trader on a seeded random schedule: opens, modifies SL/TP, partially closes and
 * closes positions in its own book, places, moves and cancels pending orders (which fill when
 * its price walk reaches them, or expire), and describes each as the `POST /signals` body an
 * EA would send. Pure apart from the book it keeps: the same seed gives the same signals.
 */
import { isoTime } from '@kopitra/contracts';
import type { OrderSignalRequest, SignalRequest } from '@kopitra/contracts';
import type { SimAccount, SimPosition } from './account.js';
import { crossed, type SimOrder } from './orders.js';
import type { PriceFeed } from './price-feed.js';
import type { Prng } from './prng.js';
import { floorVolume, roundPrice, roundVolume, type SimSymbol } from './symbols.js';

export interface MasterScriptOptions {
  /** Most positions open at once (default 6). */
  maxOpenPositions?: number;
  /** Share of opens that set a stop loss (default 0.85). */
  slRate?: number;
  /** Magic number of the master's trades (default 0: placed by hand). */
  magic?: string;
  /** Share of steps that place, move or cancel a pending order (default 0: market trades only). */
  pendingRate?: number;
  /** Most pending orders at once (default 3). */
  maxPendingOrders?: number;
  /** Range of a pending order's own lifetime in ms, for the share that has one (default 1–15 min). */
  orderLifetimeMs?: readonly [number, number];
  /**
   * Share of steps that add to an open position (`position.increased`), as a netting master
   * does (default 0). On a netting account opens also keep to one position per symbol.
   */
  addRate?: number;
}

/** One planned master action. */
export interface MasterStep {
  readonly request: SignalRequest | OrderSignalRequest;
  /** A one-line summary for logs. */
  readonly line: string;
}

/** Decides the master's next trade and applies it to its book. */
export class MasterScript {
  constructor(
    private readonly prng: Prng,
    readonly account: SimAccount,
    readonly feed: PriceFeed,
    private readonly options: MasterScriptOptions = {},
  ) {}

  /** The next action at time `now` (epoch ms), already applied to the book. */
  next(now: number): MasterStep {
    this.feed.tick();
    // The broker comes first: an order whose price was reached fills, one past its time expires.
    const orders = [...this.account.orders.values()];
    const reached = orders.find((o) => crossed(o, this.feed.quote(o.symbol)));
    if (reached) return this.fill(now, reached);
    const lapsed = orders.find((o) => o.expiresAt !== null && o.expiresAt <= now);
    if (lapsed) return this.cancelOrder(now, lapsed, 'expired');
    const rate = this.options.pendingRate ?? 0;
    // Drawn only when pending orders are on, so a seed's market trades stay as they were.
    if (rate > 0 && this.prng.chance(rate)) {
      const room = !this.account.netting || this.freeSymbols().length > 0;
      if (
        room &&
        (orders.length === 0 ||
          (orders.length < (this.options.maxPendingOrders ?? 3) && this.prng.chance(0.5)))
      )
        return this.placeOrder(now);
      if (orders.length > 0) {
        const o = this.prng.pick(orders);
        return this.prng.chance(0.6) ? this.modifyOrder(now, o) : this.cancelOrder(now, o, 'cancelled');
      }
    }
    const open = [...this.account.positions.values()];
    const addRate = this.options.addRate ?? 0;
    // Drawn only when adds are on, so a seed's other trades stay as they were.
    if (addRate > 0 && open.length > 0 && this.prng.chance(addRate)) {
      const pos = this.prng.pick(open);
      const s = this.feed.symbol(pos.symbol)!;
      if (pos.volume < s.spec.volumeMax / 2) return this.add(now, pos, s);
    }
    const max = this.options.maxOpenPositions ?? 6;
    const roll = this.prng.next();
    // A netting account holds one position per symbol: with every symbol taken, nothing opens.
    const full = this.account.netting && this.freeSymbols().length === 0;
    if (open.length === 0 || (open.length < max && roll < 0.4 && !full)) return this.open(now);
    const pos = this.prng.pick(open);
    const s = this.feed.symbol(pos.symbol)!;
    if (roll < 0.6) return this.modify(now, pos, s);
    if (roll < 0.75 && pos.volume >= 2 * s.spec.volumeMin - 1e-9) return this.partial(now, pos, s);
    return this.close(now, pos, s);
  }

  private levels(
    side: 'buy' | 'sell',
    price: number,
    s: SimSymbol,
  ): { sl: number | null; tp: number | null } {
    const pt = s.spec.point;
    const sign = side === 'buy' ? 1 : -1;
    const sl = this.prng.chance(this.options.slRate ?? 0.85)
      ? roundPrice(price - sign * this.prng.int(150, 600) * pt, s.spec.digits)
      : null;
    const tp = this.prng.chance(0.7)
      ? roundPrice(price + sign * this.prng.int(200, 1200) * pt, s.spec.digits)
      : null;
    return { sl, tp };
  }

  private base(now: number, pos: SimPosition) {
    return {
      masterPositionId: pos.ticket,
      symbol: pos.symbol,
      side: pos.side,
      occurredAt: isoTime(now),
      magic: pos.magic,
    };
  }

  /**
   * Symbols a netting account may open or place an order on: neither held nor waiting for a
   * pending order, so an order's fill is a position of its own, as on a hedging account.
   */
  private freeSymbols(): SimSymbol[] {
    const held = new Set(
      [...this.account.positions.values(), ...this.account.orders.values()].map((p) => p.symbol),
    );
    return this.feed.symbols.filter((s) => !held.has(s.spec.symbol));
  }

  /** A netting add: a deal on the position's side grows it (at the volume-weighted price). */
  private add(now: number, pos: SimPosition, s: SimSymbol): MasterStep {
    const volume = this.prng.pick(s.lots.filter((l) => l >= s.spec.volumeMin));
    const q = this.feed.quote(pos.symbol);
    const price = pos.side === 'buy' ? q.ask : q.bid;
    const total = roundVolume(pos.volume + volume, s.spec.volumeStep);
    pos.openPrice = roundPrice((pos.openPrice * pos.volume + price * volume) / total, s.spec.digits);
    pos.volume = total;
    const deal = this.account.issueDeal();
    return {
      request: {
        ...this.base(now, pos),
        type: 'position.increased',
        volume,
        remainingVolume: total,
        price,
        sl: pos.sl,
        tp: pos.tp,
        dealTicket: deal,
      },
      line: `add #${pos.ticket} ${pos.symbol} ${pos.side} ${volume} @ ${price} (now ${total})`,
    };
  }

  private open(now: number): MasterStep {
    const s = this.prng.pick(this.account.netting ? this.freeSymbols() : this.feed.symbols);
    const side = this.prng.chance(0.5) ? 'buy' : 'sell';
    const volume = this.prng.pick(s.lots.filter((l) => l >= s.spec.volumeMin));
    const q = this.feed.quote(s.spec.symbol);
    const price = side === 'buy' ? q.ask : q.bid;
    const { sl, tp } = this.levels(side, price, s);
    const pos = this.account.open({
      symbol: s.spec.symbol,
      side,
      volume,
      openPrice: price,
      sl,
      tp,
      comment: '',
      magic: this.options.magic ?? '0',
      openedAt: now,
    });
    const deal = this.account.issueDeal();
    return {
      request: { ...this.base(now, pos), type: 'position.opened', volume, price, sl, tp, dealTicket: deal },
      line: `open #${pos.ticket} ${pos.symbol} ${side} ${volume} @ ${price}${sl !== null ? ` sl ${sl}` : ''}${tp !== null ? ` tp ${tp}` : ''}`,
    };
  }

  private modify(now: number, pos: SimPosition, s: SimSymbol): MasterStep {
    const q = this.feed.quote(pos.symbol);
    const { sl, tp } = this.levels(pos.side, pos.side === 'buy' ? q.bid : q.ask, s);
    pos.sl = sl;
    pos.tp = tp;
    const signalId = `mod-${pos.ticket}-${this.account.issueDeal()}`;
    return {
      request: {
        ...this.base(now, pos),
        type: 'position.modified',
        signalId,
        volume: pos.volume,
        price: pos.openPrice,
        sl,
        tp,
      },
      line: `modify #${pos.ticket} ${pos.symbol} sl ${sl ?? '-'} tp ${tp ?? '-'}`,
    };
  }

  private partial(now: number, pos: SimPosition, s: SimSymbol): MasterStep {
    const step = s.spec.volumeStep;
    const fraction = this.prng.pick([0.25, 0.5, 0.5, 0.75]);
    const volume = Math.max(s.spec.volumeMin, floorVolume(pos.volume * fraction, step));
    const q = this.feed.quote(pos.symbol);
    const price = pos.side === 'buy' ? q.bid : q.ask;
    const ticket = pos.ticket;
    const result = this.account.close(ticket, volume, price, s);
    const deal = this.account.issueDeal();
    const remaining = result.rest?.volume ?? 0;
    const type = result.rest ? 'position.partially_closed' : 'position.closed';
    return {
      request: {
        ...this.base(now, pos),
        type,
        volume: result.closedVolume,
        remainingVolume: remaining,
        price,
        dealTicket: deal,
      },
      line: `${result.rest ? 'partial close' : 'close'} #${ticket} ${pos.symbol} ${result.closedVolume} of ${pos.volume} @ ${price} (rest ${remaining}) profit ${result.profit}`,
    };
  }

  private close(now: number, pos: SimPosition, s: SimSymbol): MasterStep {
    const q = this.feed.quote(pos.symbol);
    const price = pos.side === 'buy' ? q.bid : q.ask;
    const result = this.account.close(pos.ticket, pos.volume, price, s);
    const deal = this.account.issueDeal();
    return {
      request: {
        ...this.base(now, pos),
        type: 'position.closed',
        volume: result.closedVolume,
        remainingVolume: 0,
        price,
        dealTicket: deal,
      },
      line: `close #${pos.ticket} ${pos.symbol} ${result.closedVolume} @ ${price} profit ${result.profit}`,
    };
  }

  /** A limit or stop order some volatility steps away from the market, on its proper side. */
  private orderPrice(side: 'buy' | 'sell', orderType: 'limit' | 'stop', s: SimSymbol): number {
    const q = this.feed.quote(s.spec.symbol);
    const distance = this.prng.int(2, 10) * s.volatilityPoints * s.spec.point;
    const below = side === 'buy' ? orderType === 'limit' : orderType === 'stop';
    const market = side === 'buy' ? q.ask : q.bid;
    return roundPrice(below ? market - distance : market + distance, s.spec.digits);
  }

  private orderBase(now: number, o: SimOrder): Omit<OrderSignalRequest, 'type'> {
    return {
      masterOrderId: o.ticket,
      symbol: o.symbol,
      side: o.side,
      orderType: o.orderType,
      volume: o.volume,
      price: o.price,
      sl: o.sl,
      tp: o.tp,
      expiresAt: o.expiresAt === null ? null : isoTime(o.expiresAt),
      magic: o.magic,
      occurredAt: isoTime(now),
    };
  }

  private placeOrder(now: number): MasterStep {
    const s = this.prng.pick(this.account.netting ? this.freeSymbols() : this.feed.symbols);
    const side = this.prng.chance(0.5) ? 'buy' : 'sell';
    const orderType = this.prng.chance(0.5) ? 'limit' : 'stop';
    const volume = this.prng.pick(s.lots.filter((l) => l >= s.spec.volumeMin));
    const price = this.orderPrice(side, orderType, s);
    const { sl, tp } = this.levels(side, price, s);
    const [lo, hi] = this.options.orderLifetimeMs ?? [60_000, 900_000];
    const expiresAt = this.prng.chance(0.3) ? now + this.prng.int(lo, hi) : null;
    const o = this.account.placeOrder({
      symbol: s.spec.symbol,
      side,
      orderType,
      volume,
      price,
      sl,
      tp,
      expiresAt,
      comment: '',
      magic: this.options.magic ?? '0',
      placedAt: now,
    });
    return {
      request: { ...this.orderBase(now, o), type: 'order.placed', signalId: `oplace-${o.ticket}` },
      line: `place #${o.ticket} ${o.symbol} ${side} ${orderType} ${volume} @ ${price}${expiresAt !== null ? ` until ${isoTime(expiresAt)}` : ''}`,
    };
  }

  private modifyOrder(now: number, o: SimOrder): MasterStep {
    const s = this.feed.symbol(o.symbol)!;
    o.price = this.orderPrice(o.side, o.orderType, s);
    Object.assign(o, this.levels(o.side, o.price, s));
    return {
      request: {
        ...this.orderBase(now, o),
        type: 'order.modified',
        signalId: `omod-${o.ticket}-${this.account.issueDeal()}`,
      },
      line: `move order #${o.ticket} ${o.symbol} to ${o.price} sl ${o.sl ?? '-'} tp ${o.tp ?? '-'}`,
    };
  }

  private cancelOrder(now: number, o: SimOrder, why: 'cancelled' | 'expired'): MasterStep {
    this.account.orders.delete(o.ticket);
    return {
      request: { ...this.orderBase(now, o), type: 'order.cancelled', signalId: `ocancel-${o.ticket}` },
      line: `${why === 'expired' ? 'expired' : 'cancel'} order #${o.ticket} ${o.symbol} ${o.side} ${o.orderType}`,
    };
  }

  private fill(now: number, o: SimOrder): MasterStep {
    const q = this.feed.quote(o.symbol);
    const price = o.side === 'buy' ? q.ask : q.bid;
    const pos = this.account.fillOrder(o.ticket, price, now);
    return {
      request: {
        ...this.orderBase(now, o),
        type: 'order.filled',
        masterPositionId: pos.ticket,
        price,
        dealTicket: this.account.issueDeal(),
      },
      line: `order #${o.ticket} filled: ${o.symbol} ${o.side} ${o.volume} @ ${price}`,
    };
  }
}
