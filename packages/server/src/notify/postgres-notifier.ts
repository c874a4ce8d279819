/**
 * Wake-ups across replicas through PostgreSQL LISTEN/NOTIFY. The listening connection can
 * break (a restart, a failover, an idle-connection kill): it is re-made with back-off and
 * LISTEN re-issued, `ping` fails meanwhile so `/health` answers 503, and once back every
 * waiter is woken, because notifications sent while away are lost and waiters re-read the
 * database (the truth) when woken.
 *
 * Sending: a transaction that runs NOTIFY takes a database-wide lock at commit and holds it
 * until its commit is flushed, so every notifying transaction of every replica commits one
 * after another, each waiting for its own WAL flush (with five processes on a busy disk this
 * capped the whole deployment at ~15 follower events/s). Wake-ups written inside a
 * transaction of `inTransaction` are therefore sent after it commits, coalesced, from one
 * connection of this process, in a transaction with `synchronous_commit = off`: a wake-up is
 * a hint, and one lost in a crash is covered by the waiters' periodic re-read.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../store/schema.js';
import { afterCommitOf } from '../store/transaction.js';
import { EmitterNotifier } from './notifier.js';

const PG_CHANNEL = 'kopitra_wake';

/** Reconnection delay: 100 ms before the first attempt, doubling to 5 s. */
const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 100, maxMs: 5_000 });
const reconnectDelayMs = (attempt: number): number => backoffMs(RECONNECT_BACKOFF, attempt + 1);

export class PostgresNotifier extends EmitterNotifier {
  /** Tells this process's notifications from other replicas'. */
  readonly origin = randomUUID();
  private client: pg.Client | undefined;
  private closed = false;
  private readonly stopping = new AbortController();
  /** Payloads committed and not yet sent; one send at a time takes them all. */
  private readonly unsent = new Set<string>();
  private sending: Promise<void> | undefined;
  private sender: pg.Client | undefined;

  private constructor(
    private readonly connectClient: () => Promise<pg.Client>,
    private readonly logger: Logger,
  ) {
    super();
  }

  static async connect(connect: () => Promise<pg.Client>, logger: Logger): Promise<PostgresNotifier> {
    const notifier = new PostgresNotifier(connect, logger);
    await notifier.listen();
    return notifier;
  }

  private async listen(): Promise<void> {
    const client = await this.connectClient();
    client.on('notification', (msg) => {
      if (msg.channel !== PG_CHANNEL || !msg.payload) return;
      // `channel<TAB>origin`: handed off in process `origin` already; only others wake.
      const tab = msg.payload.indexOf('\t');
      if (tab < 0) this.emitter.emit(msg.payload);
      else if (msg.payload.slice(tab + 1) !== this.origin) this.emitter.emit(msg.payload.slice(0, tab));
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.query(`listen ${PG_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.logger.warn({ err }, 'notification listener lost its connection; reconnecting');
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      await sleep(reconnectDelayMs(attempt), undefined, { signal: this.stopping.signal }).catch(
        () => undefined,
      );
      if (this.closed) return;
      try {
        await this.listen();
        this.logger.info({ attempts: attempt + 1 }, 'notification listener re-established');
        for (const channel of this.emitter.eventNames()) this.emitter.emit(channel);
        return;
      } catch (err) {
        this.logger.warn({ err, attempt: attempt + 1 }, 'notification listener reconnect failed');
      }
    }
  }

  async notify(db: Db, channel: string): Promise<void> {
    await this.send(db, [channel]);
  }

  /**
   * One statement for a whole fan-out, however many followers it wakes. Channels handed off
   * in this process carry its origin, so its own listener leaves them alone.
   */
  override async notifyMany(
    db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
  ): Promise<void> {
    if (channels.length === 0) return;
    await this.send(
      db,
      channels.map((c) => (handledLocally?.has(c) ? `${c}\t${this.origin}` : c)),
    );
  }

  private async send(db: Db, payloads: readonly string[]): Promise<void> {
    const afterCommit = afterCommitOf(db);
    if (!afterCommit) {
      await sql`select pg_notify(${PG_CHANNEL}, c) from unnest(${payloads}::text[]) as c`.execute(db);
      return;
    }
    afterCommit(() => {
      for (const p of payloads) this.unsent.add(p);
      this.sending ??= this.sendUnsent().finally(() => (this.sending = undefined));
    });
  }

  private async connectSender(): Promise<pg.Client> {
    const client = await this.connectClient();
    // A broken idle connection must not become an unhandled 'error' event: drop it, and the
    // next send makes a new one.
    client.on('error', () => {
      if (this.sender === client) this.sender = undefined;
      client.end().catch(() => undefined);
    });
    return client;
  }

  private async sendUnsent(): Promise<void> {
    while (this.unsent.size > 0 && !this.closed) {
      const payloads = [...this.unsent];
      this.unsent.clear();
      try {
        this.sender ??= await this.connectSender();
        await this.sender.query('begin');
        await this.sender.query('set local synchronous_commit = off');
        await this.sender.query(`select pg_notify($1, c) from unnest($2::text[]) as c`, [
          PG_CHANNEL,
          payloads,
        ]);
        await this.sender.query('commit');
      } catch (err) {
        // Lost wake-ups: the waiters re-read on their next periodic look.
        this.logger.warn({ err, wakeUps: payloads.length }, 'sending wake-ups failed');
        const broken = this.sender;
        this.sender = undefined;
        await broken?.end().catch(() => undefined);
      }
    }
  }

  override async ping(): Promise<void> {
    if (!this.client) throw new Error('the notification listener is reconnecting to PostgreSQL');
  }

  override async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    await super.close();
    await this.sending;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
    await this.sender?.end().catch(() => undefined);
    this.sender = undefined;
  }
}
