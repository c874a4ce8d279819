/**
 * The broker side of a simulated terminal: balance, open positions and deal history. It
 * outlives any one terminal process, so a restarted terminal finds its positions — and the
 * copy orders it already executed — exactly as an EA finds them in MetaTrader's history.
 */
import type {
  ExecutionRequest,
  HeartbeatPayload,
  Side,
  SnapshotOrder,
  SnapshotPosition,
} from '@kopitra/contracts';
import { snapshotOrder, type SimOrder } from './orders.js';
import type { PriceFeed } from './price-feed.js';
import { roundVolume, type SimSymbol } from './symbols.js';

/** One open position. */
export interface SimPosition {
  ticket: string;
  symbol: string;
  side: Side;
  volume: number;
  openPrice: number;
  sl: number | null;
  tp: number | null;
  comment: string;
  /** A decimal string, as the EA sends it (MT5 magic numbers are 64-bit). */
  magic: string;
  openedAt: number;
}

/** What closing (part of) a position did. */
export interface CloseResult {
  readonly closedVolume: number;
  readonly profit: number;
  /** The rest of a partially closed position; on MT4 it has a new ticket. */
  readonly rest: SimPosition | null;
}

export interface SimAccountOptions {
  balance?: number;
  currency?: string;
  leverage?: number;
  /** First ticket number this account hands out. */
  firstTicket?: number;
  /** First deal number this account hands out. */
  firstDeal?: number;
  /** An MT5 netting account: one position per symbol, which deals grow, shrink or turn (default hedging). */
  netting?: boolean;
  /** The broker's clock minus UTC in seconds, told in heartbeats (as an EA does); absent: not told. */
  serverUtcOffsetSec?: number;
}

/** Everything a `SimAccount` holds, as JSON (to keep a book across process restarts). */
export interface SimAccountState {
  balance: number;
  currency: string;
  leverage: number;
  nextTicket: number;
  nextDeal: number;
  serverUtcOffsetSec?: number;
  positions: SimPosition[];
  /** Absent in books saved before pending orders were simulated. */
  orders?: SimOrder[];
  /** Absent in books saved before netting accounts were simulated (hedging). */
  netting?: boolean;
  executed: ExecutionRequest[];
}

/** A trading account at the simulated broker. */
export class SimAccount {
  balance: number;
  readonly currency: string;
  readonly leverage: number;
  readonly netting: boolean;
  readonly serverUtcOffsetSec: number | undefined;
  readonly positions = new Map<string, SimPosition>();
  /** Pending orders, by ticket. */
  readonly orders = new Map<string, SimOrder>();
  /** Execution reports already produced, by copy order id (the EA's deal history). */
  readonly executed = new Map<string, ExecutionRequest>();
  private nextTicket: number;
  private nextDeal: number;

  /** Opens an account with a starting balance. */
  constructor(opts: SimAccountOptions = {}) {
    this.balance = opts.balance ?? 10_000;
    this.currency = opts.currency ?? 'USD';
    this.leverage = opts.leverage ?? 100;
    this.netting = opts.netting ?? false;
    this.nextTicket = opts.firstTicket ?? 1_000_001;
    this.nextDeal = opts.firstDeal ?? 7_000_001;
    this.serverUtcOffsetSec = opts.serverUtcOffsetSec;
  }

  /** Restores an account saved with `toJSON()`. */
  static fromJSON(state: SimAccountState): SimAccount {
    const a = new SimAccount({
      balance: state.balance,
      currency: state.currency,
      leverage: state.leverage,
      firstTicket: state.nextTicket,
      firstDeal: state.nextDeal,
      netting: state.netting ?? false,
      ...(state.serverUtcOffsetSec !== undefined ? { serverUtcOffsetSec: state.serverUtcOffsetSec } : {}),
    });
    for (const p of state.positions) a.positions.set(p.ticket, { ...p });
    for (const o of state.orders ?? []) a.orders.set(o.ticket, { ...o });
    for (const e of state.executed) a.executed.set(e.orderId, e);
    return a;
  }

  /** The account as JSON; keeps the last `keepExecuted` execution reports. */
  toJSON(keepExecuted = 1000): SimAccountState {
    return {
      balance: this.balance,
      currency: this.currency,
      leverage: this.leverage,
      nextTicket: this.nextTicket,
      nextDeal: this.nextDeal,
      ...(this.serverUtcOffsetSec !== undefined ? { serverUtcOffsetSec: this.serverUtcOffsetSec } : {}),
      positions: [...this.positions.values()],
      orders: [...this.orders.values()],
      netting: this.netting,
      executed: [...this.executed.values()].slice(-keepExecuted),
    };
  }

  /** A fresh ticket number. */
  issueTicket(): string {
    return String(this.nextTicket++);
  }

  /** A fresh deal number: deal tickets are the master's idempotency keys, so they never repeat. */
  issueDeal(): string {
    return String(this.nextDeal++);
  }

  /** Adds a position at `price` and returns it. */
  open(p: Omit<SimPosition, 'ticket'>): SimPosition {
    const pos: SimPosition = { ...p, ticket: this.issueTicket() };
    this.positions.set(pos.ticket, pos);
    return pos;
  }

  /** Adds a pending order and returns it. */
  placeOrder(o: Omit<SimOrder, 'ticket'>): SimOrder {
    const order: SimOrder = { ...o, ticket: this.issueTicket() };
    this.orders.set(order.ticket, order);
    return order;
  }

  /** The pending order with this ticket, else the one whose comment is this tag (a cut tag matches by prefix). */
  findOrder(ticket: string | null | undefined, tag: string | null | undefined): SimOrder | undefined {
    if (ticket && this.orders.has(ticket)) return this.orders.get(ticket);
    if (!tag) return undefined;
    return [...this.orders.values()].find(
      (o) => o.comment === tag || (o.comment.length >= 31 && tag.startsWith(o.comment)),
    );
  }

  /**
   * The order's price was reached: it becomes a position at `price` with the order's ticket,
   * its stops and its comment, as MetaTrader gives the position its order's ticket.
   */
  fillOrder(ticket: string, price: number, now: number): SimPosition {
    const o = this.orders.get(ticket);
    if (!o) throw new Error(`no order ${ticket}`);
    this.orders.delete(ticket);
    const pos: SimPosition = {
      ticket: o.ticket,
      symbol: o.symbol,
      side: o.side,
      volume: o.volume,
      openPrice: price,
      sl: o.sl,
      tp: o.tp,
      comment: o.comment,
      magic: o.magic,
      openedAt: now,
    };
    this.positions.set(pos.ticket, pos);
    return pos;
  }

  /**
   * A market deal: on a hedging account a new position; on a netting account the symbol's
   * position grows (same side, at the volume-weighted price), shrinks or turns round (the other
   * side), or is opened. Returns the position the deal leaves, null when it closed it.
   */
  deal(p: Omit<SimPosition, 'ticket'>, spec: SimSymbol): SimPosition | null {
    const net = this.netting ? [...this.positions.values()].find((x) => x.symbol === p.symbol) : undefined;
    if (!net) return this.open(p);
    const step = spec.spec.volumeStep;
    if (net.side === p.side) {
      const volume = roundVolume(net.volume + p.volume, step);
      net.openPrice = (net.openPrice * net.volume + p.openPrice * p.volume) / volume;
      net.volume = volume;
      return net;
    }
    const closed = this.close(net.ticket, Math.min(p.volume, net.volume), p.openPrice, spec);
    const beyond = roundVolume(p.volume - closed.closedVolume, step);
    if (closed.rest || beyond < spec.spec.volumeMin - 1e-9) return closed.rest;
    return this.open({ ...p, volume: beyond });
  }

  /** Every open position carrying this tag (a copy the master added to holds several on a hedging account). */
  tagged(tag: string): SimPosition[] {
    return [...this.positions.values()].filter(
      (p) => p.comment === tag || (p.comment.length >= 31 && tag.startsWith(p.comment)),
    );
  }

  /** The position with this ticket, else the one whose comment is this tag (a cut tag matches by prefix). */
  find(ticket: string | null | undefined, tag: string | null | undefined): SimPosition | undefined {
    if (ticket && this.positions.has(ticket)) return this.positions.get(ticket);
    if (!tag) return undefined;
    return [...this.positions.values()].find(
      (p) => p.comment === tag || (p.comment.length >= 31 && tag.startsWith(p.comment)),
    );
  }

  /**
   * Closes `volume` of a position at `price` (all of it when `volume` is at least what is
   * open). With `newTicket` the rest gets a new ticket, as MT4 does.
   */
  close(
    ticket: string,
    volume: number,
    price: number,
    spec: SimSymbol,
    opts: { newTicket?: boolean } = {},
  ): CloseResult {
    const pos = this.positions.get(ticket);
    if (!pos) throw new Error(`no position ${ticket}`);
    const step = spec.spec.volumeStep;
    const closedVolume = Math.min(pos.volume, roundVolume(volume, step));
    const profit = profitOf(pos, price, spec, closedVolume);
    this.balance = Math.round((this.balance + profit) * 100) / 100;
    const restVolume = roundVolume(pos.volume - closedVolume, step);
    this.positions.delete(ticket);
    if (restVolume < spec.spec.volumeMin - 1e-9) return { closedVolume: pos.volume, profit, rest: null };
    const rest: SimPosition = {
      ...pos,
      volume: restVolume,
      ticket: opts.newTicket ? this.issueTicket() : pos.ticket,
    };
    this.positions.set(rest.ticket, rest);
    return { closedVolume, profit, rest };
  }

  /** Floating profit of every position at current prices. */
  floating(feed: PriceFeed): number {
    let sum = 0;
    for (const p of this.positions.values()) {
      const s = feed.symbol(p.symbol);
      if (!s) continue;
      const q = feed.quote(p.symbol);
      sum += profitOf(p, p.side === 'buy' ? q.bid : q.ask, s, p.volume);
    }
    return Math.round(sum * 100) / 100;
  }

  /** Margin in use: notional (price × volume × tick value ÷ tick size) over leverage. */
  margin(feed: PriceFeed): number {
    let sum = 0;
    for (const p of this.positions.values()) {
      const s = feed.symbol(p.symbol);
      if (!s) continue;
      sum += (p.openPrice * p.volume * s.spec.tickValue) / s.spec.tickSize / this.leverage;
    }
    return Math.round(sum * 100) / 100;
  }

  /** The `ea.heartbeat` payload for this account now. */
  heartbeat(feed: PriceFeed, latencyMs?: number): HeartbeatPayload {
    const equity = Math.round((this.balance + this.floating(feed)) * 100) / 100;
    const margin = this.margin(feed);
    return {
      balance: this.balance,
      equity,
      margin,
      freeMargin: Math.round((equity - margin) * 100) / 100,
      openPositions: this.positions.size,
      ...(latencyMs !== undefined ? { latencyMs } : {}),
      ...(this.serverUtcOffsetSec !== undefined ? { serverUtcOffsetSec: this.serverUtcOffsetSec } : {}),
    };
  }

  /** The `ea.sync_snapshot` orders. */
  snapshotOrders(): SnapshotOrder[] {
    return [...this.orders.values()].map(snapshotOrder);
  }

  /** The `ea.sync_snapshot` positions. */
  snapshot(): SnapshotPosition[] {
    return [...this.positions.values()].map((p) => ({
      ticket: p.ticket,
      symbol: p.symbol,
      side: p.side,
      volume: p.volume,
      openPrice: p.openPrice,
      sl: p.sl,
      tp: p.tp,
      magic: p.magic,
      ...(p.comment ? { comment: p.comment } : {}),
    }));
  }
}

/** Profit in account currency of closing `volume` of `pos` at `price`. */
export function profitOf(
  pos: Pick<SimPosition, 'side' | 'openPrice'>,
  price: number,
  symbol: SimSymbol,
  volume: number,
): number {
  const diff = pos.side === 'buy' ? price - pos.openPrice : pos.openPrice - price;
  return Math.round((diff / symbol.spec.tickSize) * symbol.spec.tickValue * volume * 100) / 100;
}
