/**
 * Wake-ups for waiting long polls, streams and bus consumers. `notify` is called inside the
 * writing transaction: the PostgreSQL adapter (postgres-notifier.ts) uses pg_notify, which
 * PostgreSQL delivers only on commit, to every replica; the in-process adapter wakes local
 * waiters.
 */
import { EventEmitter } from 'node:events';
import type { OutboxRow } from '../store/outbox.js';
import type { Db } from '../store/schema.js';

/** A fan-out's committed outbox rows, by follower account (ascending sequences each). */
export type OutboxRowsOf = ReadonlyMap<string, readonly OutboxRow[]>;

/**
 * Takes outbox rows another process committed and carried in its wake-up, and returns the
 * channels it will wake itself (the accounts it hands the rows to, see handoff.ts); the
 * adapter wakes the rest at once.
 */
export type PeerRowsReceiver = (rowsOf: OutboxRowsOf) => ReadonlySet<string>;

export interface Notifier {
  notify(db: Db, channel: string): Promise<void>;
  /**
   * Notifies many channels in one go. Channels in `handledLocally` were already handed to
   * this process's waiters (see handoff.ts): an adapter need not wake local listeners for
   * them, but must still wake other processes. `rowsOf` are the rows the wake-ups are for: an
   * adapter that reaches other processes may carry them (NATS does), so a follower parked there
   * is answered without a read; a wake-up that cannot carry them is a plain hint.
   */
  notifyMany(
    db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
    rowsOf?: OutboxRowsOf,
  ): Promise<void>;
  /** Wakes this process's listeners of `channels` now, and no other process. */
  wakeHere(channels: Iterable<string>): void;
  /** Sets who takes rows carried from other processes; an adapter that never carries any ignores it. */
  receiveRows(receiver: PeerRowsReceiver): void;
  /** Calls `listener` on every notification of `channel`; returns the unsubscribe function. */
  on(channel: string, listener: () => void): () => void;
  /** Rejects while notifications from other processes cannot arrive (for `/health`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const accountChannel = (accountId: string): string => `account:${accountId}`;
export const busChannel = (topic: string): string => `bus:${topic}`;
/** Notified whenever an operator's access shrinks: tokens revoked, operator disabled or re-roled. */
export const OPERATOR_ACCESS_CHANNEL = 'operator-access';

export abstract class EmitterNotifier implements Notifier {
  protected readonly emitter = new EventEmitter();
  protected peerRows: PeerRowsReceiver | undefined;
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  abstract notify(db: Db, channel: string): Promise<void>;
  // Waking a listener that has nothing to read is always safe: the hint may be ignored.
  async notifyMany(db: Db, channels: readonly string[]): Promise<void> {
    for (const channel of channels) await this.notify(db, channel);
  }
  wakeHere(channels: Iterable<string>): void {
    for (const channel of channels) this.emitter.emit(channel);
  }
  receiveRows(receiver: PeerRowsReceiver): void {
    this.peerRows = receiver;
  }
  on(channel: string, listener: () => void): () => void {
    this.emitter.on(channel, listener);
    return () => this.emitter.off(channel, listener);
  }
  async ping(): Promise<void> {}
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

  /** One timer for a whole fan-out; the channels handed off in process are left alone. */
  override async notifyMany(
    _db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
  ): Promise<void> {
    const wake = handledLocally?.size ? channels.filter((c) => !handledLocally.has(c)) : channels;
    if (wake.length) setImmediate(() => wake.forEach((c) => this.emitter.emit(c)));
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
