/**
 * Wake-ups across replicas over NATS core subjects, used when the bus is NATS
 * (`KOPITRA_BUS_URL=nats://…`): one subject, `<namespace>.wake`, every replica subscribed.
 * Core NATS, not JetStream: a wake-up is a hint, and one lost (a replica disconnected
 * meanwhile) is covered by the parked readers' periodic re-check of the database
 * (`recheckParked` in services/outbox.ts).
 *
 * A fan-out's wake-up also carries the outbox rows it committed, so a follower parked on
 * another replica is answered from memory there, by the same hand-off as on this replica
 * (`receiveRows`, handoff.ts). The rows are only an offer: the receiver takes them when they
 * continue exactly from what its reader has seen, and reads the database otherwise. A message
 * stays under the server's `max_payload`: a fan-out too big for one is split by follower, and a
 * follower whose rows alone exceed it gets a plain wake-up.
 *
 * Wake-ups written inside a transaction of `inTransaction` are sent once it commits, so a
 * woken replica reads the rows; this process's own listeners are woken directly after the
 * commit (no round trip through the broker), and its own messages are ignored when they come
 * back. While the connection is down `ping` fails (`/health` answers 503); once it is back every
 * waiter is woken, because wake-ups sent meanwhile were lost.
 */
import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { NatsTarget } from '../bus/nats/target.js';
import type { OutboxRow } from '../store/outbox.js';
import type { Db } from '../store/schema.js';
import { afterCommitOf } from '../store/transaction.js';
import { accountChannel, EmitterNotifier, type OutboxRowsOf } from './notifier.js';

/**
 * One message per commit (or per part of a split fan-out): the sender, the channels to wake,
 * and the outbox rows carried for some of them, each
 * `[accountId, eventId, sequence, type, occurredAt, payload, targetSessionId, traceContext]`.
 */
interface WakeMessage {
  o: string;
  c: string[];
  e?: unknown;
}

/** Room left in a message for its envelope (origin, keys, brackets). */
const ENVELOPE_BYTES = 256;

/** One account's rows as the comma-separated tuples of a message's `e`. */
function rowTuples(rows: readonly OutboxRow[]): string {
  return rows
    .map((r) =>
      JSON.stringify([
        r.account_id,
        r.event_id,
        Number(r.sequence),
        r.type,
        r.occurred_at,
        r.payload,
        r.target_session_id,
        r.trace_context,
      ]),
    )
    .join(',');
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTextOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/**
 * The rows of a message, by account, or null when any of them is malformed (the message is
 * then a plain wake-up: the receivers read).
 */
function parseCarriedRows(e: unknown): Map<string, OutboxRow[]> | null {
  if (!Array.isArray(e)) return null;
  const rowsOf = new Map<string, OutboxRow[]>();
  for (const t of e) {
    if (!Array.isArray(t) || t.length !== 8) return null;
    const [accountId, eventId, sequence, type, occurredAt, payload, target, trace] = t as unknown[];
    if (
      !isText(accountId) ||
      !isText(eventId) ||
      !Number.isSafeInteger(sequence) ||
      (sequence as number) < 1 ||
      !isText(type) ||
      !Number.isSafeInteger(occurredAt) ||
      !isText(payload) ||
      !isTextOrNull(target) ||
      !isTextOrNull(trace)
    )
      return null;
    const row: OutboxRow = {
      event_id: eventId,
      account_id: accountId,
      sequence: sequence as number,
      type,
      payload,
      target_session_id: target,
      occurred_at: occurredAt as number,
      delivered_at: null,
      acked_at: null,
      acked_by_session: null,
      trace_context: trace,
    };
    const list = rowsOf.get(accountId);
    if (list) list.push(row);
    else rowsOf.set(accountId, [row]);
  }
  return rowsOf;
}

export class NatsNotifier extends EmitterNotifier {
  /** Tells this process's wake-ups from other replicas'. */
  readonly origin = randomUUID();
  private connected = true;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly logger: Logger,
    private readonly maxMessageBytes: number,
  ) {
    super();
  }

  /** `maxMessageBytes` caps a message below the server's `max_payload` (tests split with a small one). */
  static async connect(
    target: NatsTarget,
    logger: Logger,
    opts: { maxMessageBytes?: number } = {},
  ): Promise<NatsNotifier> {
    const nc = await connect({
      servers: [...target.servers],
      name: `kopitra-wake-${process.pid}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const serverMax = nc.info?.max_payload ?? 1024 * 1024;
    const notifier = new NatsNotifier(
      nc,
      `${target.namespace}.wake`,
      logger,
      Math.min(opts.maxMessageBytes ?? serverMax, serverMax),
    );
    notifier.listen();
    await nc.flush();
    return notifier;
  }

  private listen(): void {
    this.nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return;
        let wake: WakeMessage;
        try {
          wake = msg.json<WakeMessage>();
        } catch {
          return;
        }
        if (wake.o === this.origin || !Array.isArray(wake.c)) return;
        const taken = this.takeCarried(wake.e);
        for (const channel of wake.c)
          if (typeof channel === 'string' && !taken?.has(channel)) this.emitter.emit(channel);
      },
    });
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          if (!this.closed)
            this.logger.warn({ server: s.server }, 'NATS wake-ups disconnected; reconnecting');
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.logger.info({ server: s.server }, 'NATS wake-ups reconnected');
          for (const channel of this.emitter.eventNames()) this.emitter.emit(channel);
        }
      }
    })();
  }

  /** Offers a message's rows to this process's receiver; returns the channels it took over. */
  private takeCarried(e: unknown): ReadonlySet<string> | undefined {
    if (e === undefined || !this.peerRows) return undefined;
    const rowsOf = parseCarriedRows(e);
    if (!rowsOf?.size) return undefined;
    try {
      return this.peerRows(rowsOf);
    } catch (err) {
      this.logger.warn({ err }, 'taking carried outbox rows failed; the followers read instead');
      return undefined;
    }
  }

  async notify(db: Db, channel: string): Promise<void> {
    this.send(db, [channel]);
  }

  /**
   * One message for a whole fan-out (more only past the size cap), carrying its rows.
   * Channels handed off in this process are not woken here again; other replicas still wake
   * for them, without their rows (their followers are answered here).
   */
  override async notifyMany(
    db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
    rowsOf?: OutboxRowsOf,
  ): Promise<void> {
    if (channels.length === 0) return;
    this.send(db, channels, handledLocally, rowsOf);
  }

  /** The messages for `channels`: each under the cap, each channel in exactly one. */
  private messages(
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
    rowsOf?: OutboxRowsOf,
  ): string[] {
    const carried = new Map<string, string>();
    if (rowsOf)
      for (const [accountId, rows] of rowsOf) {
        const channel = accountChannel(accountId);
        if (rows.length === 0 || handledLocally?.has(channel)) continue;
        carried.set(channel, rowTuples(rows));
      }
    const room = this.maxMessageBytes - ENVELOPE_BYTES;
    const out: string[] = [];
    let c: string[] = [];
    let e: string[] = [];
    let size = 0;
    const flush = () => {
      if (c.length === 0) return;
      out.push(
        e.length
          ? `{"o":"${this.origin}","c":${JSON.stringify(c)},"e":[${e.join(',')}]}`
          : JSON.stringify({ o: this.origin, c } satisfies WakeMessage),
      );
      c = [];
      e = [];
      size = 0;
    };
    for (const channel of channels) {
      const hint = Buffer.byteLength(channel) + 4;
      let tuples = carried.get(channel);
      // Rows that cannot fit in any message travel as a plain wake-up: the follower reads.
      if (tuples !== undefined && hint + Buffer.byteLength(tuples) + 1 > room) tuples = undefined;
      const cost = hint + (tuples === undefined ? 0 : Buffer.byteLength(tuples) + 1);
      if (size + cost > room) flush();
      c.push(channel);
      if (tuples !== undefined) e.push(tuples);
      size += cost;
    }
    flush();
    return out;
  }

  private send(
    db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
    rowsOf?: OutboxRowsOf,
  ): void {
    const go = () => {
      for (const c of channels) if (!handledLocally?.has(c)) this.emitter.emit(c);
      if (this.closed) return;
      try {
        for (const message of this.messages(channels, handledLocally, rowsOf))
          this.nc.publish(this.subject, message);
      } catch (err) {
        // Lost wake-ups: the other replicas' parked readers find the rows on their next re-check.
        this.logger.warn({ err, wakeUps: channels.length }, 'sending wake-ups failed');
      }
    };
    const afterCommit = afterCommitOf(db);
    if (afterCommit) afterCommit(go);
    else go();
  }

  override async ping(): Promise<void> {
    if (!this.connected || this.nc.isClosed()) throw new Error('the NATS wake-up connection is reconnecting');
  }

  override async close(): Promise<void> {
    this.closed = true;
    await super.close();
    await this.nc.drain().catch(() => undefined);
  }
}
