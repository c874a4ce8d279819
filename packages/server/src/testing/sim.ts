/**
 * Simulated terminals for whole-chain tests: a master that sends signals and followers that
 * poll their outbox, execute against a simulated broker book, report executions and ack —
 * as an EA would. Only the broker behind the EA is simulated. Speaks HTTP through `inject`.
 */
import { parsePositionTag, topics } from '@kopitra/contracts';
import { spreadClose } from '@kopitra/ea-sdk';
import type { Platform } from '../runtime.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { getSession } from '../store/sessions.js';
import { BASE, eventually, idem, sessionBody } from './platform.js';

export interface SimPosition {
  ticket: string;
  symbol: string;
  side: 'buy' | 'sell';
  volume: number;
  openPrice: number;
  sl: number | null;
  tp: number | null;
  comment: string;
}

export const spec = (symbol: string, extra: Record<string, unknown> = {}) => ({
  symbol,
  digits: 5,
  point: 0.00001,
  tickSize: 0.00001,
  tickValue: 1,
  contractSize: 100_000,
  volumeMin: 0.01,
  volumeMax: 100,
  volumeStep: 0.01,
  tradeMode: 'full',
  ...extra,
});

class SimTerminal {
  token = '';
  sessionId = '';
  /** `lastSequence` of the latest session: the sequence a new session resumes after. */
  lastSequence = 0;
  constructor(
    readonly platform: Platform,
    readonly accountId: string,
    readonly role: 'master' | 'follower',
  ) {}

  headers(mutating = true): Record<string, string> {
    return {
      'x-tradeagent-account': this.accountId,
      authorization: `Bearer ${this.token}`,
      'content-type': 'application/json',
      ...(mutating ? { 'idempotency-key': idem() } : {}),
    };
  }

  /** Creates a session and has it approved over the bus, as an operator would. */
  async connect(): Promise<this> {
    const res = await this.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions`,
      headers: { 'x-tradeagent-account': this.accountId, 'idempotency-key': idem() },
      payload: sessionBody(`sim-key-${this.accountId}-0123456789`, { role: this.role }),
    });
    if (res.statusCode !== 201) throw new Error(`connect ${this.accountId}: ${res.statusCode} ${res.body}`);
    this.token = res.json().token;
    this.sessionId = res.json().sessionId;
    this.lastSequence = res.json().lastSequence;
    if (res.json().status === 'pending') {
      const s = await getSession(this.platform.database.db, this.sessionId);
      await this.platform.bus.publish(topics.authApprovals, {
        type: 'AuthApproval',
        accountId: this.accountId,
        authKeyFingerprint: s!.key_fingerprint,
        approvedBy: 'sim',
        expiresAt: null,
      });
      await eventually(
        async () => (await getSession(this.platform.database.db, this.sessionId))?.status === 'authenticated',
      );
    }
    return this;
  }

  async inbox(events: unknown[]) {
    const res = await this.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/inbox`,
      headers: this.headers(),
      payload: { events },
    });
    if (res.statusCode !== 202) throw new Error(`inbox ${this.accountId}: ${res.statusCode} ${res.body}`);
    return res.json();
  }

  heartbeat(balance: number, equity = balance) {
    return this.inbox([
      { eventType: 'ea.heartbeat', payload: { balance, equity, margin: 0, openPositions: 0 } },
    ]);
  }
}

export class SimMaster extends SimTerminal {
  constructor(platform: Platform, accountId: string) {
    super(platform, accountId, 'master');
  }

  async signal(body: Record<string, unknown>, key = idem()) {
    const res = await this.platform.app.inject({
      method: 'POST',
      url: `${BASE}/signals`,
      headers: { ...this.headers(false), 'idempotency-key': key },
      payload: { occurredAt: new Date(this.platform.gateway.clock.now()).toISOString(), ...body },
    });
    if (res.statusCode !== 202) throw new Error(`signal: ${res.statusCode} ${res.body}`);
    return res.json();
  }
}

export interface FollowerBehaviour {
  /** Reject the next N opens (the broker refuses). */
  rejectOpens?: number;
  /** Reject the next N adds (`trade.increased`). */
  rejectAdds?: number;
  /** Refuse the next N pending-order modifications (a price inside the stops level). */
  rejectOrderModifies?: number;
  /** Reject the next N closes and partial closes (the broker refuses). */
  rejectExits?: number;
  /** Fill price offset from the master's price. */
  slippage?: number;
  /**
   * The broker's current price per symbol: opens fill there, and one further from the
   * master's price than `maxSlippage` points is refused as the EA refuses it.
   */
  prices?: Record<string, number>;
  /**
   * An MT5 netting account (announced in `ea.init`): one position per symbol, which an open or
   * an add on the same side grows and an exit shrinks by its volume.
   */
  netting?: boolean;
}

/** A pending order on the simulated follower's book, with the copy order that placed it. */
export interface SimOrder {
  ticket: string;
  placeOrderId: string;
  symbol: string;
  side: 'buy' | 'sell';
  orderType: 'limit' | 'stop' | 'stop_limit';
  volume: number;
  price: number;
  sl: number | null;
  tp: number | null;
  expiresAt: string | null;
  comment: string;
}

export class SimFollower extends SimTerminal {
  book = new Map<string, SimPosition>();
  orders = new Map<string, SimOrder>();
  cursor = 0;
  nextTicket = 1000;
  received: Array<{ eventId: string; type: string; sequence: number; payload: Record<string, any> }> = [];
  constructor(
    platform: Platform,
    accountId: string,
    public behaviour: FollowerBehaviour = {},
  ) {
    super(platform, accountId, 'follower');
  }

  /** Creates a session and, as an EA does, resumes reading after the session's `lastSequence`. */
  override async connect(): Promise<this> {
    await super.connect();
    this.cursor = this.lastSequence;
    if (this.behaviour.netting !== undefined)
      await this.inbox([
        { eventType: 'ea.init', payload: { marginMode: this.behaviour.netting ? 'netting' : 'hedging' } },
      ]);
    return this;
  }

  /** Every position carrying this master position's tag (a hedging copy that was added to holds several). */
  private tagged(ticket: string | null, tag: string | undefined): SimPosition[] {
    return [...this.book.values()].filter(
      (p) => p.ticket === ticket || (tag !== undefined && p.comment === tag),
    );
  }

  /**
   * A market deal: on a hedging account a new position; on a netting account the symbol's one
   * position grows (same side), shrinks or turns round (the other side), as MT5 books it.
   * Returns the position the deal leaves, or null when it closed it.
   */
  private fill(p: Record<string, any>, price: number): SimPosition | null {
    const net = this.behaviour.netting
      ? [...this.book.values()].find((x) => x.symbol === p.symbol)
      : undefined;
    if (net && net.side === p.side) {
      const volume = Math.round((net.volume + p.volume) * 100) / 100;
      net.openPrice = (net.openPrice * net.volume + price * p.volume) / volume;
      net.volume = volume;
      return net;
    }
    let volume = p.volume as number;
    if (net) {
      const closed = Math.min(volume, net.volume);
      this.reduce(net, closed);
      volume = Math.round((volume - closed) * 100) / 100;
      if (volume <= 1e-9) return this.book.get(net.ticket) ?? null;
    }
    const ticket = String(this.nextTicket++);
    const pos = {
      ticket,
      symbol: p.symbol,
      side: p.side,
      volume,
      openPrice: price,
      sl: p.sl ?? null,
      tp: p.tp ?? null,
      comment: p.comment,
    };
    this.book.set(ticket, pos);
    return pos;
  }

  /** Takes `volume` off a position; it goes when nothing is left. */
  private reduce(pos: SimPosition, volume: number): void {
    pos.volume = Math.round((pos.volume - volume) * 100) / 100;
    if (pos.volume <= 1e-9) this.book.delete(pos.ticket);
  }

  /** The specs of the last catalog sent, by symbol. */
  specs = new Map<string, { point: number }>();

  async catalog(specs: Array<{ symbol: string; point: number }>) {
    this.specs = new Map(specs.map((s) => [s.symbol, s]));
    return this.inbox([{ eventType: 'ea.symbol_catalog', payload: { symbols: specs } }]);
  }

  async snapshot() {
    return this.inbox([
      {
        eventType: 'ea.sync_snapshot',
        payload: {
          positions: [...this.book.values()].map((p) => ({ ...p, sl: p.sl, tp: p.tp })),
          orders: [...this.orders.values()].map(({ placeOrderId: _placed, ...o }) => o),
        },
      },
    ]);
  }

  private findOrder(ticket: string | null, masterOrderId: string): SimOrder | undefined {
    if (ticket && this.orders.has(ticket)) return this.orders.get(ticket);
    return [...this.orders.values()].find(
      (o) => parsePositionTag(o.comment)?.masterPositionId === masterOrderId.slice(0, 19),
    );
  }

  /**
   * The broker fills this follower's copy of a master order (its price was reached): the
   * order becomes a position with the order's tag, and the EA tells the gateway.
   */
  async fillOrder(
    masterOrderId: string,
    price?: number,
    opts: { tell?: boolean } = {},
  ): Promise<SimPosition> {
    const order = this.findOrder(null, masterOrderId);
    if (!order) throw new Error(`${this.accountId} holds no copy of master order ${masterOrderId}`);
    this.orders.delete(order.ticket);
    const ticket = String(this.nextTicket++);
    const position: SimPosition = {
      ticket,
      symbol: order.symbol,
      side: order.side,
      volume: order.volume,
      openPrice: price ?? order.price,
      sl: order.sl,
      tp: order.tp,
      comment: order.comment,
    };
    this.book.set(ticket, position);
    // `tell: false`: the notice is lost (the terminal died first); only a snapshot shows the fill.
    if (opts.tell === false) return position;
    await this.inbox([
      {
        eventType: 'ea.execution_notice',
        payload: { orderId: order.placeOrderId, action: 'order_filled', ticket, volume: order.volume },
      },
    ]);
    return position;
  }

  /**
   * By ticket, else by the tag the follow-up carries (it names the copy group), as the EA does;
   * on a netting account by the symbol, whose one position holds every copy on it.
   */
  private find(ticket: string | null, tag: string | undefined, symbol?: string): SimPosition | undefined {
    if (ticket && this.book.has(ticket)) return this.book.get(ticket);
    if (this.behaviour.netting && symbol !== undefined)
      return [...this.book.values()].find((p) => p.symbol === symbol);
    return tag === undefined ? undefined : [...this.book.values()].find((p) => p.comment === tag);
  }

  /**
   * A netting exit: a deal of the copy's volume on the other side of the copy (`side`), which
   * shrinks the net position or, where it stands the other way, grows or turns it.
   */
  private async nettingExit(p: Record<string, any>, pos: SimPosition) {
    const copySide = p.side ?? pos.side;
    const volume = p.volume ?? pos.volume;
    const left = this.fill(
      { symbol: pos.symbol, side: copySide === 'buy' ? 'sell' : 'buy', volume, comment: p.comment },
      pos.openPrice,
    );
    return this.report({ orderId: p.orderId, status: 'filled', ticket: left?.ticket ?? pos.ticket, volume });
  }

  /** Sends one execution report as is and returns the raw response (for protocol tests). */
  execution(body: Record<string, unknown>, key = idem()) {
    return this.platform.app.inject({
      method: 'POST',
      url: `${BASE}/executions`,
      headers: { ...this.headers(false), 'idempotency-key': key },
      payload: { executedAt: new Date(this.platform.gateway.clock.now()).toISOString(), ...body },
    });
  }

  private async report(body: Record<string, unknown>) {
    const res = await this.execution(body);
    if (res.statusCode !== 200) throw new Error(`execution: ${res.statusCode} ${res.body}`);
  }

  private async poll(): Promise<
    Array<{ eventId: string; sequence: number; type: string; payload: Record<string, any> }>
  > {
    const res = await this.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${this.cursor}`,
      headers: this.headers(false),
    });
    if (res.statusCode !== 200) throw new Error(`poll ${this.accountId}: ${res.statusCode} ${res.body}`);
    return res.json().events;
  }

  /**
   * Polls once and records what arrived, but neither executes nor acknowledges it nor moves
   * the cursor: a terminal that dies right after fetching a batch.
   */
  async peek(): Promise<
    Array<{ eventId: string; sequence: number; type: string; payload: Record<string, any> }>
  > {
    const events = await this.poll();
    for (const e of events)
      this.received.push({ eventId: e.eventId, type: e.type, sequence: e.sequence, payload: e.payload });
    return events;
  }

  /** Polls once and executes everything received, in order; returns the events handled. */
  async step(): Promise<number> {
    const events = await this.poll();
    for (const e of events) {
      this.received.push({ eventId: e.eventId, type: e.type, sequence: e.sequence, payload: e.payload });
      await this.execute(e.type, e.payload);
      await this.inbox([{ eventType: 'OutboxAck', eventId: e.eventId, sequence: e.sequence }]);
      this.cursor = e.sequence;
    }
    return events.length;
  }

  /** Steps until the outbox is empty. */
  async drain(): Promise<void> {
    while ((await this.step()) > 0) {
      // keep going
    }
  }

  /** The broker refuses this exit (`rejectExits` left). */
  private refusesExit(): boolean {
    if (!this.behaviour.rejectExits || this.behaviour.rejectExits <= 0) return false;
    this.behaviour.rejectExits--;
    return true;
  }

  /** The broker's refusal of a request (MT5 10006). */
  private rejected(orderId: string) {
    return this.report({ orderId, status: 'rejected', errorCode: 10006, message: 'Request rejected' });
  }

  private async execute(type: string, p: Record<string, any>): Promise<void> {
    switch (type) {
      case 'trade.order_placed': {
        const ticket = String(this.nextTicket++);
        this.orders.set(ticket, {
          ticket,
          placeOrderId: p.orderId,
          symbol: p.symbol,
          side: p.side,
          orderType: p.orderType,
          volume: p.volume,
          price: p.price,
          sl: p.sl,
          tp: p.tp,
          expiresAt: p.expiresAt ?? null,
          comment: p.comment,
        });
        return this.report({
          orderId: p.orderId,
          status: 'placed',
          ticket,
          price: p.price,
          volume: p.volume,
        });
      }
      case 'trade.order_modified': {
        const order = this.findOrder(p.ticket, p.masterOrderId);
        if (!order) return this.report({ orderId: p.orderId, status: 'failed', message: 'order not found' });
        if (this.behaviour.rejectOrderModifies && this.behaviour.rejectOrderModifies > 0) {
          this.behaviour.rejectOrderModifies--;
          return this.report({
            orderId: p.orderId,
            status: 'rejected',
            errorCode: 10016,
            message: 'Invalid stops: the price is inside the stops level',
            ticket: order.ticket,
          });
        }
        Object.assign(order, { price: p.price, sl: p.sl, tp: p.tp, expiresAt: p.expiresAt ?? null });
        return this.report({ orderId: p.orderId, status: 'filled', ticket: order.ticket });
      }
      case 'trade.order_cancelled': {
        const order = this.findOrder(p.ticket, p.masterOrderId);
        if (!order) return this.report({ orderId: p.orderId, status: 'failed', message: 'order not found' });
        this.orders.delete(order.ticket);
        return this.report({ orderId: p.orderId, status: 'filled', ticket: order.ticket });
      }
      case 'trade.started': {
        // Replacing the unfilled copy of a master order: delete it first, as the EA does.
        if (p.replacesOrder) {
          const order = this.findOrder(p.replacesOrder.ticket, p.replacesOrder.masterOrderId);
          if (order) this.orders.delete(order.ticket);
        }
        if (this.behaviour.rejectOpens && this.behaviour.rejectOpens > 0) {
          this.behaviour.rejectOpens--;
          return this.rejected(p.orderId);
        }
        const market = this.behaviour.prices?.[p.symbol];
        const point = this.specs.get(p.symbol)?.point;
        if (market !== undefined && point && p.maxSlippage !== null) {
          const points = Math.abs(market - p.masterPrice) / point;
          if (points > p.maxSlippage + 1e-9)
            return this.report({
              orderId: p.orderId,
              status: 'rejected',
              errorCode: 'slippage_exceeded',
              message: `price ${market} is ${points.toFixed(1)} points from ${p.masterPrice}, maximum ${p.maxSlippage}`,
            });
        }
        const price = market ?? p.masterPrice + (this.behaviour.slippage ?? 0) * (p.side === 'buy' ? 1 : -1);
        const pos = this.fill(p, price);
        return this.report({
          orderId: p.orderId,
          status: 'filled',
          ...(pos ? { ticket: pos.ticket } : {}),
          price,
          volume: p.volume,
        });
      }
      case 'trade.increased': {
        if (this.behaviour.rejectAdds && this.behaviour.rejectAdds > 0) {
          this.behaviour.rejectAdds--;
          return this.report({
            orderId: p.orderId,
            status: 'rejected',
            errorCode: 10019,
            message: 'No money',
          });
        }
        // As the EA: an add needs its copy (by ticket or tag; netting: the symbol's position).
        const copy = this.behaviour.netting
          ? [...this.book.values()].find((x) => x.symbol === p.symbol)
          : this.find(p.ticket, p.comment);
        if (!copy)
          return this.report({
            orderId: p.orderId,
            status: 'failed',
            errorCode: 'position_not_found',
            message: `nothing of the copy of master position ${p.masterPositionId} is open to add to`,
          });
        // Hedging: a position of its own with the same tag. Netting: the net position grows.
        const price = p.masterPrice + (this.behaviour.slippage ?? 0) * (p.side === 'buy' ? 1 : -1);
        const pos = this.fill(p, price);
        return this.report({
          orderId: p.orderId,
          status: 'filled',
          ...(pos ? { ticket: pos.ticket } : {}),
          price,
          volume: p.volume,
        });
      }
      case 'trade.modified': {
        const pos = this.find(p.ticket, p.comment);
        if (!pos) return this.report({ orderId: p.orderId, status: 'failed', message: 'position not found' });
        if ('sl' in p) pos.sl = p.sl;
        if ('tp' in p) pos.tp = p.tp;
        return this.report({ orderId: p.orderId, status: 'filled', ticket: pos.ticket });
      }
      case 'trade.partial_close': {
        const pos = this.find(p.ticket, p.comment, p.symbol);
        if (!pos) return this.report({ orderId: p.orderId, status: 'failed', message: 'position not found' });
        if (this.refusesExit()) return this.rejected(p.orderId);
        if (this.behaviour.netting) return this.nettingExit(p, pos);
        const legs = p.positions > 1 ? this.tagged(pos.ticket, p.comment) : [pos];
        // Several positions of one copy: spread as the EA spreads it (adds whole, newest first).
        const spread = (l: SimPosition) => ({
          ticket: l.ticket,
          volume: l.volume,
          openedAt: Number(l.ticket),
        });
        const plan =
          legs.length > 1
            ? spreadClose(spread(pos), legs.filter((l) => l !== pos).map(spread), p.volume, {
                volumeMin: 0.01,
                volumeStep: 0.01,
              })
            : [{ ticket: pos.ticket, volume: Math.min(p.volume, pos.volume) }];
        for (const c of plan) this.reduce(this.book.get(c.ticket)!, c.volume);
        const closed = Math.round(plan.reduce((sum, c) => sum + c.volume, 0) * 100) / 100;
        return this.report({ orderId: p.orderId, status: 'filled', ticket: pos.ticket, volume: closed });
      }
      case 'trade.closed': {
        const pos = this.find(p.ticket, p.comment, p.symbol);
        if (!pos) return this.report({ orderId: p.orderId, status: 'failed', message: 'position not found' });
        if (this.refusesExit()) return this.rejected(p.orderId);
        // Netting: only this copy's volume leaves the net position. Hedging: every position of the copy.
        if (this.behaviour.netting) return this.nettingExit(p, pos);
        const legs = p.positions > 1 ? this.tagged(pos.ticket, p.comment) : [pos];
        for (const l of legs) this.book.delete(l.ticket);
        const volume = Math.round(legs.reduce((sum, l) => sum + l.volume, 0) * 100) / 100;
        return this.report({ orderId: p.orderId, status: 'filled', ticket: pos.ticket, volume });
      }
      case 'sync.request':
        await this.snapshot();
        return;
      default:
        return;
    }
  }
}

/** A master terminal, connected and heartbeating. */
export async function connectMaster(platform: Platform, accountId: string): Promise<SimMaster> {
  const master = await new SimMaster(platform, accountId).connect();
  await master.heartbeat(20_000);
  return master;
}

/** A follower terminal, connected, its symbol catalog sent, heartbeating and its outbox read. */
export async function connectFollower(
  platform: Platform,
  accountId: string,
  behaviour: FollowerBehaviour = {},
  specs = [spec('EURUSD')],
): Promise<SimFollower> {
  const follower = await new SimFollower(platform, accountId, behaviour).connect();
  await follower.catalog(specs);
  await follower.heartbeat(10_000);
  await follower.drain();
  return follower;
}

/** A copy group of this master, each follower subscribed with default settings; its id. */
export async function copyGroup(
  platform: Platform,
  name: string,
  master: SimMaster,
  followers: SimFollower[],
): Promise<string> {
  const db = platform.database.db;
  const now = platform.gateway.clock.now();
  const group = await insertGroup(db, { name, masterAccountId: master.accountId }, now);
  for (const f of followers)
    await putSubscription(db, { groupId: group.group_id, followerAccountId: f.accountId, settings: {} }, now);
  return group.group_id;
}
