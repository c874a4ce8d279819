/**
 * What a follower EA does with `trade.*` events: open (tagging the position with the
 * event's comment), modify by ticket or tag, partially close (on MT4 the rest gets a new
 * ticket), close — against the simulated broker — and the execution report for each.
 * A copy order already executed (found in the account's history) is reported again as it
 * was, never executed twice.
 */
import {
  TradeFollowUpPayload,
  TradeStartedPayload,
  type ExecutionRequest,
  type OutboxEvent,
  type Side,
  isoTime,
} from '@kopitra/contracts';
import type { Clock } from '../clock.js';
import type { SimAccount, SimPosition } from './account.js';
import type { SimBroker } from './broker.js';
import type { PriceFeed } from './price-feed.js';

/** The tag a copy carries, as the gateway writes it (MetaTrader keeps 31 characters of a comment). */
export const positionTag = (masterPositionId: string): string => `kopitra:${masterPositionId}`.slice(0, 31);

/** What executing one event produced. */
export interface Execution {
  readonly report: ExecutionRequest;
  /** MT4's new ticket for the rest of a partial close. */
  readonly notice?: {
    orderId: string;
    ticket: string;
    previousTicket: string;
    symbol: string;
    volume: number;
  };
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
    readonly options: { newTicketOnPartialClose?: boolean } = {},
  ) {}

  /** Executes a `trade.*` event; null for any other type. */
  async execute(event: OutboxEvent): Promise<Execution | null> {
    switch (event.type) {
      case 'trade.started':
        return this.open(TradeStartedPayload.parse(event.payload));
      case 'trade.modified':
      case 'trade.partial_close':
      case 'trade.closed':
        return this.followUp(event.type, TradeFollowUpPayload.parse(event.payload));
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

  private async open(p: TradeStartedPayload): Promise<Execution> {
    const again = this.replay(p.orderId);
    if (again) return again;
    const base = { orderId: p.orderId };
    // As the EA: the position's tag is looked up before expiry, so an open that executed
    // before a crash (journal lost) is reported filled, never expired.
    const existing = p.comment ? this.account.find(null, p.comment) : undefined;
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
    if (this.clock.now() > Date.parse(p.expiresAt)) {
      return this.done(
        {
          ...base,
          status: 'failed',
          errorCode: 'expired',
          message: `signal expired at ${p.expiresAt}`,
          executedAt: this.now(),
        },
        `refused expired open ${p.symbol}`,
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
        `failed open: unknown symbol ${p.symbol}`,
      );
    const deal = await this.broker.deal(p.symbol, p.side, p.masterPrice);
    if (!deal.ok)
      return this.done(
        { ...base, status: 'rejected', errorCode: deal.code, message: deal.message, executedAt: this.now() },
        `rejected open ${p.symbol} ${p.side} ${p.volume}`,
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
        `refused open ${p.symbol}: slippage`,
      );
    }
    const pos = this.account.open({
      symbol: p.symbol,
      side: p.side,
      volume: p.volume,
      openPrice: deal.price,
      sl: p.sl,
      tp: p.tp,
      comment: p.comment,
      magic: '0',
      openedAt: this.clock.now(),
    });
    return this.done(
      {
        ...base,
        status: 'filled',
        ticket: pos.ticket,
        price: deal.price,
        volume: pos.volume,
        executedAt: this.now(),
      },
      `filled open ${p.symbol} ${p.side} ${p.volume} @ ${deal.price} ticket ${pos.ticket}`,
    );
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
    const pos = this.account.find(p.ticket, positionTag(p.masterPositionId));
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
    const deal = await this.broker.deal(pos.symbol, opposite(pos.side));
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
    const whole = type === 'trade.closed' || p.volume === undefined || p.volume >= pos.volume - 1e-9;
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
}
