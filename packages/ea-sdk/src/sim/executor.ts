/**
 * What a follower EA does with `trade.*` events: open (tagging the position with the
 * event's comment), modify by ticket or tag, partially close (on MT4 the rest gets a new
 * ticket), close, and place, move and delete pending orders (honouring the broker's stops
 * level) — against the simulated broker — and the execution report for each. Its pending
 * orders fill when the price walk reaches them (`fillReached`).
 * A copy order already executed (found in the account's history) is reported again as it
 * was, never executed twice.
 */
import {
  LEGACY_TAG_PREFIX,
  TradeFollowUpPayload,
  TradeIncreasedPayload,
  TradeOrderPayload,
  TradeStartedPayload,
  type ExecutionRequest,
  type OutboxEvent,
  type Side,
  isoTime,
} from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import type { SimAccount, SimPosition } from './account.js';
import type { SimBroker } from './broker.js';
import {
  crossed,
  placementRefusal,
  RETCODE_INVALID_ORDER,
  RETCODE_INVALID_PRICE,
  type SimOrder,
} from './orders.js';
import type { PriceFeed } from './price-feed.js';
import { spreadClose } from './spread.js';
import { roundVolume, type SimSymbol } from './symbols.js';

/** An `ea.execution_notice` an execution leaves to send. */
export interface ExecutionNotice {
  orderId: string;
  /** `order_filled`: a pending order became a position; absent: MT4's new ticket for the rest of a partial close. */
  action?: 'order_filled';
  ticket: string;
  previousTicket?: string;
  symbol: string;
  volume: number;
}

/** A follower pending order the price walk reached: now a position. */
export interface OrderFill {
  readonly order: SimOrder;
  readonly position: SimPosition;
  /** The copy order that placed it, from the account's history; null for an order nobody copied. */
  readonly notice: ExecutionNotice | null;
}

/** What executing one event produced. */
export interface Execution {
  readonly report: ExecutionRequest;
  readonly notice?: ExecutionNotice;
  /** A one-line summary for logs. */
  readonly line: string;
  /** True when the order had been executed before (a replay after a restart). */
  readonly replayed: boolean;
}

const opposite = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/** Executes copy orders for one follower account. */
export class FollowerExecutor {
  constructor(
    readonly account: SimAccount,
    readonly feed: PriceFeed,
    readonly broker: SimBroker,
    readonly clock: Clock,
    readonly options: {
      newTicketOnPartialClose?: boolean;
      /** SYMBOL_TRADE_STOPS_LEVEL: how near the market, in points, a pending order may be placed (default 0). */
      stopsLevelPoints?: number;
    } = {},
  ) {}

  /** Executes a `trade.*` event; null for any other type. */
  async execute(event: OutboxEvent): Promise<Execution | null> {
    switch (event.type) {
      case 'trade.started':
        return this.open(TradeStartedPayload.parse(event.payload));
      case 'trade.increased':
        return this.open(TradeIncreasedPayload.parse(event.payload), true);
      case 'trade.modified':
      case 'trade.partial_close':
      case 'trade.closed':
        return this.followUp(event.type, TradeFollowUpPayload.parse(event.payload));
      case 'trade.order_placed':
        return this.placeOrder(TradeOrderPayload.parse(event.payload));
      case 'trade.order_modified':
      case 'trade.order_cancelled':
        return this.changeOrder(event.type, TradeOrderPayload.parse(event.payload));
      default:
        return null;
    }
  }

  private now(): string {
    return isoTime(this.clock.now());
  }

  private done(report: ExecutionRequest, line: string, notice?: Execution['notice']): Execution {
    this.account.executed.set(report.orderId, report);
    return { report, line, replayed: false, ...(notice ? { notice } : {}) };
  }

  private replay(orderId: string): Execution | null {
    const prior = this.account.executed.get(orderId);
    return prior
      ? { report: prior, line: `replayed ${prior.status} order ${orderId}`, replayed: true }
      : null;
  }

  /**
   * An open, or with `add` an add to the copy (`trade.increased`): on a hedging account a
   * position of its own with the copy's tag, on a netting account more volume on the symbol's
   * position. The account's history (`executed`) answers a replay of either.
   */
  private async open(p: TradeStartedPayload | TradeIncreasedPayload, add = false): Promise<Execution> {
    const again = this.replay(p.orderId);
    if (again) return again;
    const base = { orderId: p.orderId };
    const what = add ? 'add' : 'open';
    // As the EA: the position's tag is looked up before expiry, so an open that executed
    // before a crash (journal lost) is reported filled, never expired. (An add's tag is its
    // copy's, found whether or not the add happened: its history entry answers instead. On a
    // netting account an open is a deal on the symbol's position, which may carry any copy's
    // tag: there too only the history answers.)
    const existing =
      p.comment && !add && !this.account.netting ? this.account.find(null, p.comment) : undefined;
    if (existing)
      return this.done(
        {
          ...base,
          status: 'filled',
          ticket: existing.ticket,
          price: existing.openPrice,
          volume: existing.volume,
          message: 'already open (found by its comment tag); not opened twice',
          executedAt: this.now(),
        },
        `found open ${existing.symbol} ticket ${existing.ticket} by its tag`,
      );
    // An add needs the copy it adds to: when the copy's open was refused just before, the add
    // would open a position of its own that no link stands for (as the EA, FindPosition).
    if (add && 'ticket' in p && !this.copyOf(p)) {
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 'position_not_found',
          message: `nothing of the copy of master position ${p.masterPositionId} is open to add to`,
          executedAt: this.now(),
        },
        `refused add ${p.symbol}: no copy of master ${p.masterPositionId} open`,
      );
    }
    // Replacing the unfilled copy of a master order: it is deleted first (found gone, it
    // filled — and then the tag lookup above already reported that position).
    if ('replacesOrder' in p && p.replacesOrder) {
      const order = this.account.findOrder(p.replacesOrder.ticket, p.comment);
      if (order) this.account.orders.delete(order.ticket);
    }
    if (this.clock.now() > Date.parse(p.expiresAt)) {
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 'expired',
          message: `signal expired at ${p.expiresAt}`,
          executedAt: this.now(),
        },
        `refused expired ${what} ${p.symbol}`,
      );
    }
    const symbol = this.feed.symbol(p.symbol);
    if (!symbol)
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 10013,
          message: `unknown symbol ${p.symbol}`,
          executedAt: this.now(),
        },
        `failed ${what}: unknown symbol ${p.symbol}`,
      );
    const deal = await this.broker.deal(p.symbol, p.side, p.masterPrice);
    if (!deal.ok)
      return this.done(
        { ...base, status: 'rejected', errorCode: deal.code, message: deal.message, executedAt: this.now() },
        `rejected ${what} ${p.symbol} ${p.side} ${p.volume}`,
      );
    const slipPoints =
      (p.side === 'buy' ? deal.price - p.masterPrice : p.masterPrice - deal.price) / symbol.spec.point;
    if (p.maxSlippage !== null && slipPoints > p.maxSlippage + 1e-9) {
      return this.done(
        {
          ...base,
          status: 'rejected',
          errorCode: 'slippage',
          message: `price moved ${slipPoints.toFixed(1)} points, maximum ${p.maxSlippage}`,
          executedAt: this.now(),
        },
        `refused ${what} ${p.symbol}: slippage`,
      );
    }
    const pos = this.account.deal(
      {
        symbol: p.symbol,
        side: p.side,
        volume: p.volume,
        openPrice: deal.price,
        sl: p.sl,
        tp: p.tp,
        comment: p.comment,
        magic: '0',
        openedAt: this.clock.now(),
      },
      symbol,
    );
    // The deal's own volume: on a netting account the position holds more (or, turned, less).
    return this.done(
      {
        ...base,
        status: 'filled',
        ...(pos ? { ticket: pos.ticket } : {}),
        price: deal.price,
        volume: p.volume,
        executedAt: this.now(),
      },
      `filled ${what} ${p.symbol} ${p.side} ${p.volume} @ ${deal.price} ticket ${pos?.ticket ?? '(closed)'}`,
    );
  }

  /** The copy an add grows: by ticket or tag, or on a netting account the symbol's position. */
  private copyOf(p: TradeIncreasedPayload): SimPosition | undefined {
    if (this.account.netting) return [...this.account.positions.values()].find((x) => x.symbol === p.symbol);
    return this.account.find(p.ticket, p.comment ?? `${LEGACY_TAG_PREFIX}${p.masterPositionId}`);
  }

  private async followUp(
    type: 'trade.modified' | 'trade.partial_close' | 'trade.closed',
    p: TradeFollowUpPayload,
  ): Promise<Execution> {
    const again = this.replay(p.orderId);
    if (again) return again;
    const kind = {
      'trade.modified': 'modify',
      'trade.partial_close': 'partial close',
      'trade.closed': 'close',
    }[type];
    // The payload's tag names the copy group; a gateway that sends none predates group tags. On
    // a netting account every copy on the symbol lives in its one position, as the EA finds it.
    const pos = this.account.netting
      ? (this.account.find(p.ticket, null) ??
        [...this.account.positions.values()].find((x) => x.symbol === p.symbol))
      : this.account.find(p.ticket, p.comment ?? `${LEGACY_TAG_PREFIX}${p.masterPositionId}`);
    if (!pos) {
      return this.done(
        {
          orderId: p.orderId,
          status: 'failed',
          errorCode: 4108,
          message: `position not found (ticket ${p.ticket ?? 'unknown'}, master ${p.masterPositionId})`,
          executedAt: this.now(),
        },
        `failed ${kind}: no position for master ${p.masterPositionId}`,
      );
    }
    const symbol = this.feed.symbol(pos.symbol);
    if (type === 'trade.modified') return this.modify(p, pos);
    if (!symbol)
      return this.done(
        {
          orderId: p.orderId,
          status: 'failed',
          errorCode: 10013,
          message: `unknown symbol ${pos.symbol}`,
          executedAt: this.now(),
        },
        `failed ${kind}: unknown symbol`,
      );
    const copySide = (this.account.netting ? p.side : undefined) ?? pos.side;
    const deal = await this.broker.deal(pos.symbol, opposite(copySide));
    if (!deal.ok)
      return this.done(
        {
          orderId: p.orderId,
          status: 'rejected',
          errorCode: deal.code,
          message: deal.message,
          ticket: pos.ticket,
          executedAt: this.now(),
        },
        `rejected ${kind} ticket ${pos.ticket}`,
      );
    if ((p.positions ?? 1) > 1 && !this.account.netting)
      return this.spread(type === 'trade.closed' ? 'close' : 'partial close', p, pos, symbol, deal.price);
    // Netting: the copy's exit is a deal of its volume on the other side of the copy. Where
    // the net position stands the other way (another copy holds more on it) or holds less
    // than the copy, the deal grows or turns it rather than closing it.
    if (
      this.account.netting &&
      p.volume !== undefined &&
      (copySide !== pos.side || p.volume > pos.volume + 1e-9)
    ) {
      const left = this.account.deal(
        {
          symbol: pos.symbol,
          side: opposite(copySide),
          volume: p.volume,
          openPrice: deal.price,
          sl: null,
          tp: null,
          comment: p.comment ?? '',
          magic: '0',
          openedAt: this.clock.now(),
        },
        symbol,
      );
      return this.done(
        {
          orderId: p.orderId,
          status: 'filled',
          ticket: left?.ticket ?? pos.ticket,
          price: deal.price,
          volume: p.volume,
          executedAt: this.now(),
        },
        `filled ${kind} deal ${opposite(copySide)} ${p.volume} on ${pos.symbol} @ ${deal.price}, position ${left ? `${left.ticket} ${left.side} ${left.volume}` : 'closed'}`,
      );
    }
    // Netting: the net position may hold other copies; only this copy's volume leaves it.
    const whole =
      (type === 'trade.closed' && !(this.account.netting && p.volume !== undefined)) ||
      p.volume === undefined ||
      p.volume >= pos.volume - 1e-9;
    const volume = whole ? pos.volume : p.volume!;
    const ticket = pos.ticket;
    const result = this.account.close(ticket, volume, deal.price, symbol, {
      newTicket: this.options.newTicketOnPartialClose === true,
    });
    const rest = result.rest;
    const report: ExecutionRequest = {
      orderId: p.orderId,
      status: 'filled',
      ticket: rest ? rest.ticket : ticket,
      price: deal.price,
      volume: result.closedVolume,
      profit: result.profit,
      executedAt: this.now(),
    };
    const what = rest
      ? `partial close ${result.closedVolume} of ticket ${ticket}${rest.ticket !== ticket ? ` (rest ${rest.volume} → new ticket ${rest.ticket})` : ` (rest ${rest.volume})`}`
      : `close ticket ${ticket} ${result.closedVolume}`;
    const notice =
      rest && rest.ticket !== ticket
        ? {
            orderId: p.orderId,
            ticket: rest.ticket,
            previousTicket: ticket,
            symbol: pos.symbol,
            volume: rest.volume,
          }
        : undefined;
    return this.done(report, `filled ${what} @ ${deal.price} profit ${result.profit}`, notice);
  }

  /**
   * An exit of a copy spanning several positions (`positions`): a close closes every position
   * with the copy's tag; a partial close is spread by `spreadClose` (the adds whole, newest
   * first, then the first position, then the adds left), as the MQL EAs do.
   */
  private spread(
    kind: 'close' | 'partial close',
    p: TradeFollowUpPayload,
    first: SimPosition,
    symbol: SimSymbol,
    price: number,
  ): Execution {
    const later = this.account
      .tagged(p.comment ?? `${LEGACY_TAG_PREFIX}${p.masterPositionId}`)
      .filter((x) => x !== first);
    const plan =
      kind === 'close'
        ? [first, ...later].map((x) => ({ ticket: x.ticket, volume: x.volume }))
        : spreadClose(first, later, p.volume ?? 0, symbol.spec);
    let closed = 0;
    let profit = 0;
    let ticket = first.ticket;
    let notice: Execution['notice'];
    for (const c of plan) {
      const result = this.account.close(c.ticket, c.volume, price, symbol, {
        newTicket: this.options.newTicketOnPartialClose === true,
      });
      closed += result.closedVolume;
      profit += result.profit;
      // MT4: the rest of the first position has a new ticket, which the gateway's link follows.
      if (c.ticket === first.ticket && result.rest && result.rest.ticket !== first.ticket) {
        ticket = result.rest.ticket;
        notice = {
          orderId: p.orderId,
          ticket,
          previousTicket: first.ticket,
          symbol: first.symbol,
          volume: result.rest.volume,
        };
      }
    }
    const volume = roundVolume(closed, symbol.spec.volumeStep);
    return this.done(
      {
        orderId: p.orderId,
        status: 'filled',
        ticket,
        price,
        volume,
        profit: Math.round(profit * 100) / 100,
        executedAt: this.now(),
      },
      `filled ${kind} of ${plan.length} positions (${plan.map((c) => `${c.ticket}: ${c.volume}`).join(', ')}) @ ${price}`,
      notice,
    );
  }

  private async modify(p: TradeFollowUpPayload, pos: SimPosition): Promise<Execution> {
    const deal = await this.broker.deal(pos.symbol, pos.side);
    if (!deal.ok)
      return this.done(
        {
          orderId: p.orderId,
          status: 'rejected',
          errorCode: deal.code,
          message: deal.message,
          ticket: pos.ticket,
          executedAt: this.now(),
        },
        `rejected modify ticket ${pos.ticket}`,
      );
    if (p.sl !== undefined) pos.sl = p.sl;
    if (p.tp !== undefined) pos.tp = p.tp;
    return this.done(
      { orderId: p.orderId, status: 'filled', ticket: pos.ticket, executedAt: this.now() },
      `filled modify ticket ${pos.ticket} sl ${pos.sl ?? '-'} tp ${pos.tp ?? '-'}`,
    );
  }

  /** `trade.order_placed`: a pending order of the follower's own, unless the broker refuses its price. */
  private placeOrder(p: TradeOrderPayload): Execution {
    const again = this.replay(p.orderId);
    if (again) return again;
    const base = { orderId: p.orderId };
    const existing = this.account.findOrder(null, p.comment);
    if (existing)
      return this.done(
        {
          ...base,
          status: 'placed',
          ticket: existing.ticket,
          price: existing.price,
          volume: existing.volume,
          message: 'already placed (found by its comment tag); not placed twice',
          executedAt: this.now(),
        },
        `found order ${existing.symbol} ticket ${existing.ticket} by its tag`,
      );
    const filled = this.account.find(null, p.comment);
    if (filled)
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 'order_filled',
          message: `the order already filled as position ${filled.ticket}`,
          executedAt: this.now(),
        },
        `refused placement ${p.symbol}: already filled as ${filled.ticket}`,
      );
    if (p.placeBy !== undefined && this.clock.now() > Date.parse(p.placeBy))
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 'expired',
          message: `placement expired at ${p.placeBy}`,
          executedAt: this.now(),
        },
        `refused expired placement ${p.symbol}`,
      );
    const symbol = this.feed.symbol(p.symbol);
    if (!symbol)
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 10013,
          message: `unknown symbol ${p.symbol}`,
          executedAt: this.now(),
        },
        `failed placement: unknown symbol ${p.symbol}`,
      );
    if (p.orderType === 'stop_limit')
      return this.done(
        {
          ...base,
          status: 'rejected',
          errorCode: RETCODE_INVALID_PRICE,
          message: 'this broker takes no stop-limit orders',
          executedAt: this.now(),
        },
        `rejected stop-limit ${p.symbol}`,
      );
    const shape = { side: p.side, orderType: p.orderType, price: p.price };
    const refusal = placementRefusal(
      shape,
      this.feed.quote(p.symbol),
      symbol.spec.point,
      this.options.stopsLevelPoints ?? 0,
    );
    if (refusal)
      return this.done(
        {
          ...base,
          status: 'rejected',
          errorCode: refusal.code,
          message: refusal.message,
          executedAt: this.now(),
        },
        `rejected placement ${p.symbol} ${p.side} ${p.orderType} @ ${p.price}: ${refusal.code}`,
      );
    const order = this.account.placeOrder({
      symbol: p.symbol,
      side: p.side,
      orderType: p.orderType,
      volume: p.volume,
      price: p.price,
      sl: p.sl,
      tp: p.tp,
      expiresAt: p.expiresAt ? Date.parse(p.expiresAt) : null,
      comment: p.comment,
      magic: '0',
      placedAt: this.clock.now(),
    });
    return this.done(
      {
        ...base,
        status: 'placed',
        ticket: order.ticket,
        price: order.price,
        volume: order.volume,
        executedAt: this.now(),
      },
      `placed ${p.symbol} ${p.side} ${p.orderType} ${p.volume} @ ${p.price} ticket ${order.ticket}`,
    );
  }

  /** `trade.order_modified` / `trade.order_cancelled`: the order found by ticket, else by its tag. */
  private changeOrder(
    type: 'trade.order_modified' | 'trade.order_cancelled',
    p: TradeOrderPayload,
  ): Execution {
    const again = this.replay(p.orderId);
    if (again) return again;
    const kind = type === 'trade.order_modified' ? 'modify order' : 'delete order';
    const order = this.account.findOrder(p.ticket, p.comment);
    if (!order)
      return this.done(
        {
          orderId: p.orderId,
          status: 'failed',
          errorCode: RETCODE_INVALID_ORDER,
          message: `order not found (ticket ${p.ticket ?? 'unknown'}, master order ${p.masterOrderId})`,
          executedAt: this.now(),
        },
        `failed ${kind}: no order for master order ${p.masterOrderId}`,
      );
    if (type === 'trade.order_cancelled') {
      this.account.orders.delete(order.ticket);
      return this.done(
        { orderId: p.orderId, status: 'filled', ticket: order.ticket, executedAt: this.now() },
        `deleted order ${order.ticket}`,
      );
    }
    const symbol = this.feed.symbol(order.symbol);
    const refusal = symbol
      ? placementRefusal(
          { side: order.side, orderType: order.orderType, price: p.price },
          this.feed.quote(order.symbol),
          symbol.spec.point,
          this.options.stopsLevelPoints ?? 0,
        )
      : null;
    if (refusal)
      return this.done(
        {
          orderId: p.orderId,
          status: 'rejected',
          errorCode: refusal.code,
          message: refusal.message,
          ticket: order.ticket,
          executedAt: this.now(),
        },
        `rejected modify order ${order.ticket} @ ${p.price}: ${refusal.code}`,
      );
    order.price = p.price;
    order.sl = p.sl;
    order.tp = p.tp;
    order.expiresAt = p.expiresAt ? Date.parse(p.expiresAt) : null;
    return this.done(
      { orderId: p.orderId, status: 'filled', ticket: order.ticket, executedAt: this.now() },
      `modified order ${order.ticket} @ ${order.price} sl ${order.sl ?? '-'} tp ${order.tp ?? '-'}`,
    );
  }

  /**
   * The broker's side of the price walk: every order the market reached becomes a position
   * (with the order's ticket), and orders past their own expiry are deleted. A copied order's
   * fill is to be told to the gateway as `order_filled` of the copy order that placed it.
   */
  fillReached(): OrderFill[] {
    const now = this.clock.now();
    const fills: OrderFill[] = [];
    for (const order of [...this.account.orders.values()]) {
      if (order.expiresAt !== null && order.expiresAt <= now) {
        this.account.orders.delete(order.ticket);
        continue;
      }
      if (!this.feed.symbol(order.symbol)) continue;
      const q = this.feed.quote(order.symbol);
      if (!crossed(order, q)) continue;
      const position = this.account.fillOrder(order.ticket, order.side === 'buy' ? q.ask : q.bid, now);
      const placement = [...this.account.executed.values()].find(
        (r) => r.status === 'placed' && r.ticket === order.ticket,
      );
      fills.push({
        order,
        position,
        notice: placement
          ? {
              orderId: placement.orderId,
              action: 'order_filled',
              ticket: position.ticket,
              symbol: position.symbol,
              volume: position.volume,
            }
          : null,
      });
    }
    return fills;
  }
}
