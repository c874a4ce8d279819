/**
 * Wake-ups for waiting long polls, streams and bus consumers. `notify` is called inside the
 * writing transaction: the PostgreSQL adapter uses pg_notify, which PostgreSQL delivers only
 * on commit, to every replica; the in-process adapter wakes local waiters.
 */
import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type pg from 'pg';
import type { Db } from '../store/schema.js';

export interface Notifier {
  notify(db: Db, channel: string): Promise<void>;
  notifyMany(db: Db, channels: readonly string[]): Promise<void>;
  /** Calls `listener` on every notification of `channel`; returns the unsubscribe function. */
  on(channel: string, listener: () => void): () => void;
  close(): Promise<void>;
}

export const accountChannel = (accountId: string): string => `account:${accountId}`;
export const busChannel = (topic: string): string => `bus:${topic}`;

abstract class EmitterNotifier implements Notifier {
  protected readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  abstract notify(db: Db, channel: string): Promise<void>;
  async notifyMany(db: Db, channels: readonly string[]): Promise<void> {
    for (const channel of channels) await this.notify(db, channel);
  }
  on(channel: string, listener: () => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * For the embedded SQLite default. Waking before commit is safe here: every query runs on the
 * one connection, so a woken reader waits behind the writing transaction and sees its commit.
 */
export class InProcessNotifier extends EmitterNotifier {
  async notify(_db: Db, channel: string): Promise<void> {
    setImmediate(() => this.emitter.emit(channel));
  }
}

const PG_CHANNEL = 'kopitra_wake';

export class PostgresNotifier extends EmitterNotifier {
  private constructor(private readonly client: pg.Client) {
    super();
  }

  static async connect(connect: () => Promise<pg.Client>): Promise<PostgresNotifier> {
    const client = await connect();
    const notifier = new PostgresNotifier(client);
    client.on('notification', (msg) => {
      if (msg.channel === PG_CHANNEL && msg.payload) notifier.emitter.emit(msg.payload);
    });
    await client.query(`listen ${PG_CHANNEL}`);
    return notifier;
  }

  async notify(db: Db, channel: string): Promise<void> {
    await sql`select pg_notify(${PG_CHANNEL}, ${channel})`.execute(db);
  }

  /** One statement for a whole fan-out, however many followers it wakes. */
  override async notifyMany(db: Db, channels: readonly string[]): Promise<void> {
    if (channels.length === 0) return;
    await sql`select pg_notify(${PG_CHANNEL}, c) from unnest(${[...channels]}::text[]) as c`.execute(db);
  }

  override async close(): Promise<void> {
    await super.close();
    await this.client.end().catch(() => undefined);
  }
}

/** Resolves when `channel` is notified, `timeoutMs` passes or `signal` aborts; returns true when woken. */
export function waitFor(
  notifier: Notifier,
  channel: string,
  timeoutMs: number,
  signal?: AbortSignal,
): { promise: Promise<boolean>; cancel: () => void } {
  let cancel = () => undefined as void;
  const promise = new Promise<boolean>((resolve) => {
    const finish = (woken: boolean) => {
      clearTimeout(timer);
      off();
      signal?.removeEventListener('abort', onAbort);
      resolve(woken);
    };
    const onAbort = () => finish(false);
    const off = notifier.on(channel, () => finish(true));
    const timer = setTimeout(() => finish(false), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    cancel = () => finish(false);
  });
  return { promise, cancel };
}
