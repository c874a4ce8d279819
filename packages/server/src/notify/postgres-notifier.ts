/**
 * Wake-ups across replicas through PostgreSQL LISTEN/NOTIFY. The listening connection can
 * break (a restart, a failover, an idle-connection kill): it is re-made with back-off and
 * LISTEN re-issued, `ping` fails meanwhile so `/health` answers 503, and once back every
 * waiter is woken, because notifications sent while away are lost and waiters re-read the
 * database (the truth) when woken.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Db } from '../store/schema.js';
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
    await sql`select pg_notify(${PG_CHANNEL}, ${channel})`.execute(db);
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
    const payloads = channels.map((c) => (handledLocally?.has(c) ? `${c}\t${this.origin}` : c));
    await sql`select pg_notify(${PG_CHANNEL}, c) from unnest(${payloads}::text[]) as c`.execute(db);
  }

  override async ping(): Promise<void> {
    if (!this.client) throw new Error('the notification listener is reconnecting to PostgreSQL');
  }

  override async close(): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    await super.close();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
