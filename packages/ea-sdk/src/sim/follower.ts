/**
 * A simulated follower terminal: executes the `trade.*` events of its outbox against the
 * simulated broker (latency, slippage, rejections), reports every execution, acknowledges,
 * heartbeats with balance and equity, and sends its book (positions and pending orders) as
 * `ea.sync_snapshot` on `sync.request`, at start and periodically. While it holds pending
 * orders its prices walk a step per trade event, and an order the walk reaches fills and is
 * told as `order_filled`.
 */
import {
  ManualOrderRequest,
  SessionInitAckPayload,
  type ExecutionRequest,
  type OutboxEvent,
  isoTime,
} from '@kopitra/contracts';
import { ConflictError, NotFoundError } from '../errors.js';
import { SimBroker, type BrokerOptions } from './broker.js';
import { FollowerExecutor, type Execution, type ExecutionNotice } from './executor.js';
import { SimTerminal, describe, type TerminalOptions } from './terminal.js';

export interface FollowerOptions extends TerminalOptions, BrokerOptions {
  /** Give the rest of a partial close a new ticket, as MT4 does (default: on MT4). */
  newTicketOnPartialClose?: boolean;
  /** Send `ea.sync_snapshot` this often (default 30 000 ms; 0 = only at start and on request). */
  snapshotIntervalMs?: number;
  /** SYMBOL_TRADE_STOPS_LEVEL: how near the market, in points, a pending order may be placed (default 0). */
  stopsLevelPoints?: number;
  /** Called after each execution was reported. */
  onExecution?: (execution: Execution, event: OutboxEvent) => void;
}

/** Counts of what a follower did. */
export interface FollowerStats {
  events: number;
  executions: number;
  filled: number;
  rejected: number;
  failed: number;
  replayed: number;
  snapshots: number;
  /** Pending orders placed, and filled by the price walk. */
  placed: number;
  ordersFilled: number;
}

/** A follower terminal. */
export class SimFollower extends SimTerminal {
  readonly executor: FollowerExecutor;
  readonly stats: FollowerStats = {
    events: 0,
    executions: 0,
    filled: 0,
    rejected: 0,
    failed: 0,
    replayed: 0,
    snapshots: 0,
    placed: 0,
    ordersFilled: 0,
  };
  private lane: Promise<unknown> = Promise.resolve();

  /** Creates the terminal; `start()` connects it. */
  constructor(readonly followerOptions: FollowerOptions) {
    super('follower', followerOptions);
    const broker = new SimBroker(this.prng.fork('broker'), this.feed, this.clock, {
      rejectRate: followerOptions.rejectRate ?? 0,
      latencyMs: followerOptions.latencyMs ?? [5, 30],
      slippagePoints: followerOptions.slippagePoints ?? 3,
    });
    this.executor = new FollowerExecutor(this.account, this.feed, broker, this.clock, {
      newTicketOnPartialClose: followerOptions.newTicketOnPartialClose ?? followerOptions.platform === 'MT4',
      stopsLevelPoints: followerOptions.stopsLevelPoints ?? 0,
    });
  }

  /** Connects, sends the catalogue and a snapshot, and starts executing. Resolves once running. */
  async start(): Promise<this> {
    await this.boot();
    await this.snapshot();
    this.consume((event) => this.handle(event));
    const every = this.followerOptions.snapshotIntervalMs ?? 30_000;
    if (every > 0) {
      this.background(
        (async () => {
          while (!this.signal.aborted) {
            await this.clock.sleep(every, this.signal);
            if (this.signal.aborted) break;
            await this.snapshot().catch((err: unknown) => this.log(`snapshot failed: ${describe(err)}`));
          }
        })(),
      );
    }
    return this;
  }

  /**
   * One step of the price walk, taken after each trade event while pending orders are on the
   * book (the market moves as the master trades, so a seed replays the same fills): orders it
   * reaches become positions and each copied one is told to the gateway, in turn with
   * executions, as the EA's OnTick does between them.
   */
  private async walk(): Promise<void> {
    if (this.account.orders.size === 0) return;
    this.feed.tick();
    for (const fill of this.executor.fillReached()) {
      this.stats.ordersFilled++;
      this.log(
        `order ${fill.order.ticket} filled: ${fill.position.symbol} ${fill.position.side} ${fill.position.volume} @ ${fill.position.openPrice}`,
      );
      if (fill.notice) await this.notify(fill.notice);
    }
  }

  private async notify(notice: ExecutionNotice): Promise<void> {
    await this.client.executionNotice({ ...notice }, this.signal);
  }

  /**
   * Runs `fn` after everything queued before it. An MQL EA is single-threaded (WebRequest
   * blocks), so its snapshots never overtake its execution reports; the gateway dates a
   * snapshot by its arrival, and one taken before a fill but arriving after its report would
   * look like a position closed by hand.
   */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn, fn);
    this.lane = run.catch(() => undefined);
    return run;
  }

  /** Sends the book as `ea.sync_snapshot`, in turn with executions. */
  snapshot(): Promise<void> {
    return this.serial(() => this.sendSnapshot());
  }

  private async sendSnapshot(): Promise<void> {
    await this.client.syncSnapshot(this.account.snapshot(), this.signal, this.account.snapshotOrders());
    this.stats.snapshots++;
  }

  /** Handles one outbox event (in turn with snapshots); throwing leaves it unacknowledged for a retry. */
  handle(event: OutboxEvent): Promise<void> {
    return this.serial(() => this.handleNow(event));
  }

  private async handleNow(event: OutboxEvent): Promise<void> {
    this.stats.events++;
    switch (event.type) {
      case 'trade.started':
      case 'trade.increased':
      case 'trade.modified':
      case 'trade.partial_close':
      case 'trade.closed':
      case 'trade.order_placed':
      case 'trade.order_modified':
      case 'trade.order_cancelled': {
        const execution = await this.executor.execute(event);
        if (execution) await this.report(execution, event);
        await this.walk();
        return;
      }
      case 'sync.request':
        await this.sendSnapshot();
        this.log('sent sync snapshot on request');
        return;
      case 'session.init_ack': {
        const ack = SessionInitAckPayload.safeParse(event.payload);
        if (ack.success && ack.data.symbolCatalogRequested)
          await this.client.symbolCatalog(
            this.symbols.map((s) => s.spec),
            this.signal,
          );
        if (ack.success && ack.data.syncSnapshotRequested) await this.sendSnapshot();
        return;
      }
      case 'order.command':
        return this.manual(event);
      case 'order.cancel':
        return this.cancel(event);
      case 'error.alert':
        this.log(`alert: ${String(event.payload['message'] ?? event.payload['code'] ?? '')}`);
        return;
      case 'session.shutdown':
        this.log(
          `session shut down: ${String(event.payload['reason'])} ${String(event.payload['message'] ?? '')}`,
        );
        return;
      default:
        return this.unknown(event);
    }
  }

  /**
   * `order.cancel`: a copy order not executed yet will not be (a later `trade.started` for it
   * is reported failed: cancelled), as the EA does; the outcome goes back as a notice.
   */
  private async cancel(event: OutboxEvent): Promise<void> {
    const orderId = typeof event.payload['orderId'] === 'string' ? event.payload['orderId'] : '';
    const already = orderId !== '' && this.account.executed.has(orderId);
    if (orderId !== '' && !already)
      this.account.executed.set(orderId, {
        orderId,
        status: 'failed',
        errorCode: 'cancelled',
        message: 'cancelled by order.cancel before it was executed',
        executedAt: isoTime(this.clock.now()),
      });
    await this.client.executionNotice(
      {
        ...(orderId ? { orderId } : {}),
        action: 'cancel',
        status: already ? 'failed' : 'filled',
        message: already
          ? `copy order ${orderId} was already executed`
          : `copy order ${orderId} will not be executed`,
      },
      this.signal,
    );
  }

  /**
   * A type this terminal does not know (a newer gateway): never acknowledged silently. As the
   * EA does, an `ea.error` names it and a copy order it carries is reported failed, leaving
   * the rest to the gateway's policy; then it is acknowledged.
   */
  private async unknown(event: OutboxEvent): Promise<void> {
    const message = `outbox event ${event.type} (${event.eventId}) is not known to this terminal; nothing was executed`;
    await this.client.reportError(message, 'unknown_event_type', this.signal);
    const orderId = event.payload['orderId'];
    if (typeof orderId === 'string' && orderId !== '') {
      const execution: Execution = {
        report: {
          orderId,
          status: 'failed',
          errorCode: 'unsupported_event_type',
          message,
          executedAt: isoTime(this.clock.now()),
        },
        line: `failed ${event.type}: unknown event type`,
        replayed: false,
      };
      await this.report(execution, event);
    }
    this.log(message);
  }

  private async report(execution: Execution, event: OutboxEvent): Promise<void> {
    const r: ExecutionRequest = execution.report;
    try {
      await this.client.reportExecution(r, { signal: this.signal });
    } catch (err) {
      // The gateway already closed this order (expired, or reported before): nothing to redo.
      if (!(err instanceof ConflictError) && !(err instanceof NotFoundError)) throw err;
      this.log(`execution report for ${r.orderId} not taken: ${describe(err)}`);
    }
    if (execution.notice && !execution.replayed) await this.notify(execution.notice);
    this.stats.executions++;
    if (execution.replayed) this.stats.replayed++;
    else if (r.status === 'filled') this.stats.filled++;
    else if (r.status === 'placed') this.stats.placed++;
    else if (r.status === 'rejected') this.stats.rejected++;
    else this.stats.failed++;
    this.log(`${execution.line} (order ${r.orderId}, ${event.type} #${event.sequence})`);
    this.followerOptions.onExecution?.(execution, event);
  }

  /** A manual `order.command` from an operator: executed on the book; its outcome goes back as an `ea.execution_notice`. */
  private async manual(event: OutboxEvent): Promise<void> {
    const parsed = ManualOrderRequest.safeParse(event.payload);
    const commandId = String(event.payload['commandId'] ?? event.eventId);
    if (!parsed.success) {
      await this.client.executionNotice(
        {
          commandId,
          action: String(event.payload['action'] ?? 'unknown').slice(0, 32),
          status: 'failed',
          message: 'order.command not understood',
        },
        this.signal,
      );
      return;
    }
    const c = parsed.data;
    const outcome = this.executeManual(c);
    await this.client.executionNotice({ commandId, action: c.action, ...outcome }, this.signal);
    this.log(`manual ${c.action} ${outcome.status}: ${outcome.message}`);
  }

  private executeManual(c: ManualOrderRequest): {
    status: 'filled' | 'failed';
    ticket?: string;
    message: string;
  } {
    const now = this.clock.now();
    switch (c.action) {
      case 'open': {
        if (!this.feed.symbol(c.symbol)) return { status: 'failed', message: `unknown symbol ${c.symbol}` };
        const q = this.feed.quote(c.symbol);
        const pos = this.account.open({
          symbol: c.symbol,
          side: c.side,
          volume: c.volume,
          openPrice: c.side === 'buy' ? q.ask : q.bid,
          sl: c.sl ?? null,
          tp: c.tp ?? null,
          comment: c.comment ?? '',
          magic: '0',
          openedAt: now,
        });
        return { status: 'filled', ticket: pos.ticket, message: `opened ticket ${pos.ticket}` };
      }
      case 'close':
      case 'close_all': {
        const targets =
          c.action === 'close'
            ? [this.account.positions.get(c.ticket)].filter((p) => p !== undefined)
            : [...this.account.positions.values()].filter((p) => !c.symbol || p.symbol === c.symbol);
        if (c.action === 'close' && targets.length === 0)
          return { status: 'failed', message: `no ticket ${c.ticket}` };
        for (const p of targets) {
          const q = this.feed.quote(p.symbol);
          this.account.close(
            p.ticket,
            c.action === 'close' ? (c.volume ?? p.volume) : p.volume,
            p.side === 'buy' ? q.bid : q.ask,
            this.feed.symbol(p.symbol)!,
          );
        }
        return {
          status: 'filled',
          ...(c.action === 'close' ? { ticket: c.ticket } : {}),
          message: `closed ${targets.map((p) => p.ticket).join(', ') || 'nothing'}`,
        };
      }
      case 'modify': {
        const pos = this.account.positions.get(c.ticket);
        if (!pos) return { status: 'failed', message: `no ticket ${c.ticket}` };
        if (c.sl !== undefined) pos.sl = c.sl;
        if (c.tp !== undefined) pos.tp = c.tp;
        return { status: 'filled', ticket: pos.ticket, message: `modified ticket ${c.ticket}` };
      }
    }
  }
}
