/**
 * What master and follower terminals share: an SDK client for the account, the broker-side
 * account and Market Watch, start-up telemetry (`ea.init`, heartbeats with balance and
 * equity, the symbol catalogue) and a graceful or crash-like stop.
 */
import { isoTime } from '@kopitra/contracts';
import type { OutboxEvent, Platform, SessionRole } from '@kopitra/contracts';
import { KopitraClient, type ClientOptions } from '../client.js';
import { systemClock, type Clock } from '../clock.js';
import { KopitraError, SessionShutdownError } from '../errors.js';
import type { FetchLike } from '../transport.js';
import { SimAccount } from './account.js';
import { PriceFeed } from './price-feed.js';
import { Prng } from './prng.js';
import { symbolCatalogue, type SimSymbol } from './symbols.js';

export interface TerminalOptions {
  /** The gateway URL, e.g. `http://localhost:8080`. */
  gateway: string;
  accountId: string;
  authKey: string;
  platform?: Platform;
  broker?: string;
  server?: string;
  /** Seed of every random choice (default: the account id). */
  seed?: number | string;
  /** The broker's symbol suffix (`.m`, `-ECN`). */
  suffix?: string;
  /** Base symbols in Market Watch (default EURUSD, GBPUSD, USDJPY, XAUUSD, US30). */
  symbols?: readonly string[];
  /** Starting balance of a new account (default 10 000). */
  balance?: number;
  /**
   * An MT5 netting account (announced as `marginMode: "netting"`): one position per symbol. A
   * netting master adds to its positions (`position.increased`, see `addRate`); a netting
   * follower's copies grow and shrink its one position per symbol.
   */
  netting?: boolean;
  /** The broker's clock minus UTC in seconds, told in heartbeats (default: not told, as a terminal that cannot know it yet). */
  serverUtcOffsetSec?: number;
  /** The broker account to trade on; pass the previous terminal's to restart on the same book. */
  account?: SimAccount;
  /** How the outbox is read (default `poll`). */
  transport?: 'poll' | 'websocket';
  /** Long-poll hold in seconds (default 20). */
  wait?: number;
  clock?: Clock;
  fetch?: FetchLike;
  /** Receives one line per trade, execution and notable event. */
  log?: (line: string) => void;
  /** Extra client options (retry policy, timeouts, hooks). */
  client?: Partial<ClientOptions>;
}

/** A simulated MetaTrader terminal running an EA in master or follower mode. */
export abstract class SimTerminal {
  readonly client: KopitraClient;
  readonly account: SimAccount;
  readonly feed: PriceFeed;
  readonly symbols: readonly SimSymbol[];
  readonly prng: Prng;
  readonly clock: Clock;
  protected readonly stopper = new AbortController();
  protected readonly loops: Array<Promise<unknown>> = [];
  /** Set when a background loop ended on an error that reading again cannot cure. */
  fatal: unknown = null;
  private pending = false;

  constructor(
    readonly role: SessionRole,
    readonly options: TerminalOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.prng = new Prng(options.seed ?? options.accountId);
    this.symbols = symbolCatalogue({
      suffix: options.suffix ?? '',
      ...(options.symbols ? { symbols: options.symbols } : {}),
    });
    this.feed = new PriceFeed(this.prng.fork('prices'), this.symbols);
    this.account =
      options.account ??
      new SimAccount({
        balance: options.balance ?? 10_000,
        netting: options.netting ?? false,
        ...(options.serverUtcOffsetSec !== undefined
          ? { serverUtcOffsetSec: options.serverUtcOffsetSec }
          : {}),
      });
    this.client = new KopitraClient({
      gateway: options.gateway,
      accountId: options.accountId,
      authKey: options.authKey,
      role,
      platform: options.platform ?? 'MT5',
      eaVersion: 'sim-1.0.0',
      terminalBuild: options.platform === 'MT4' ? 1420 : 4410,
      ...(options.broker !== undefined ? { broker: options.broker } : {}),
      ...(options.server !== undefined ? { server: options.server } : {}),
      clock: this.clock,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...options.client,
    });
  }

  /** True from when `start()` waits for an operator to approve this terminal's new key until approved. */
  get awaitingApproval(): boolean {
    return this.pending;
  }

  /** The stop signal of this terminal's loops. */
  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  /** Writes one log line, prefixed with the time, role and account. */
  protected log(line: string): void {
    this.options.log?.(`${isoTime(this.clock.now())} ${this.role} ${this.options.accountId} ${line}`);
  }

  /** Connects, announces the terminal, waits for approval if the key is new, then sends the symbol catalogue. */
  protected async boot(): Promise<void> {
    const session = await this.client.connect(this.signal);
    this.log(
      `session ${session.sessionId} ${session.status}, heartbeat every ${session.heartbeatIntervalSec} s, resuming after sequence ${session.lastSequence}`,
    );
    await this.client.init(
      {
        eaVersion: 'sim-1.0.0',
        accountCurrency: this.account.currency,
        leverage: this.account.leverage,
        marginMode: this.account.netting ? 'netting' : 'hedging',
        tradeAllowed: true,
        accountName: `sim ${this.options.accountId}`,
      },
      this.signal,
    );
    this.background(
      this.client.startHeartbeats(() => this.account.heartbeat(this.feed), {
        signal: this.signal,
        onError: (err) => this.log(`heartbeat failed: ${describe(err)}`),
      }).done,
    );
    if (session.status === 'pending') {
      this.log('waiting for an operator to approve this terminal');
      this.pending = true;
      await this.client.waitForApproval(this.signal);
      this.pending = false;
      this.log('approved');
    }
    await this.client.symbolCatalog(
      this.symbols.map((s) => s.spec),
      this.signal,
    );
  }

  /** Keeps a background loop; a fatal error is recorded and logged. */
  protected background(loop: Promise<unknown>): void {
    this.loops.push(
      loop.catch((err: unknown) => {
        if (this.signal.aborted) return;
        this.fatal = err;
        this.log(`stopped: ${describe(err)}`);
        if (err instanceof SessionShutdownError) this.stopper.abort();
      }),
    );
  }

  /** Reads the outbox until stopped, handing each event to `handle`. */
  protected consume(handle: (event: OutboxEvent) => Promise<void>): void {
    this.background(
      this.client.consume(handle, {
        signal: this.signal,
        transport: this.options.transport ?? 'poll',
        wait: this.options.wait ?? 20,
        onError: (err, event) =>
          this.log(
            `outbox ${event ? `${event.type} #${event.sequence}` : 'read'} failed, retrying: ${describe(err)}`,
          ),
      }),
    );
  }

  /** Stops every loop; `crash: true` abandons the session without releasing it (a killed terminal). */
  async stop(opts: { crash?: boolean } = {}): Promise<void> {
    this.stopper.abort();
    await this.client.close({ release: opts.crash !== true });
    await Promise.all(this.loops);
    this.log(opts.crash ? 'killed' : 'stopped');
  }
}

/** A short description of an error for a log line. */
export function describe(err: unknown): string {
  if (err instanceof SessionShutdownError) return `${err.reason}: ${err.message}`;
  if (err instanceof KopitraError)
    return `${err.code}${err.status ? ` (${err.status})` : ''}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
