/**
 * Wake-ups across replicas over NATS core subjects, used when the bus is NATS
 * (`KOPITRA_BUS_URL=nats://…`): one subject, `<namespace>.wake`, every replica subscribed.
 * Core NATS, not JetStream: a wake-up is a hint, and one lost (a replica disconnected
 * meanwhile) is covered by the waiters' periodic re-read of the database.
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
import type { Db } from '../store/schema.js';
import { afterCommitOf } from '../store/transaction.js';
import { EmitterNotifier } from './notifier.js';

/** One message per commit: the sender, and the channels to wake. */
interface WakeMessage {
  o: string;
  c: string[];
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
  ) {
    super();
  }

  static async connect(target: NatsTarget, logger: Logger): Promise<NatsNotifier> {
    const nc = await connect({
      servers: [...target.servers],
      name: `kopitra-wake-${process.pid}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const notifier = new NatsNotifier(nc, `${target.namespace}.wake`, logger);
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
        for (const channel of wake.c) if (typeof channel === 'string') this.emitter.emit(channel);
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

  async notify(db: Db, channel: string): Promise<void> {
    this.send(db, [channel]);
  }

  /**
   * One message for a whole fan-out. Channels handed off in this process are not woken here
   * again; other replicas still wake for them.
   */
  override async notifyMany(
    db: Db,
    channels: readonly string[],
    handledLocally?: ReadonlySet<string>,
  ): Promise<void> {
    if (channels.length === 0) return;
    this.send(db, channels, handledLocally);
  }

  private send(db: Db, channels: readonly string[], handledLocally?: ReadonlySet<string>): void {
    const go = () => {
      for (const c of channels) if (!handledLocally?.has(c)) this.emitter.emit(c);
      if (this.closed) return;
      try {
        this.nc.publish(
          this.subject,
          JSON.stringify({ o: this.origin, c: [...channels] } satisfies WakeMessage),
        );
      } catch (err) {
        // Lost wake-ups: the other replicas' waiters re-read on their next periodic look.
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
