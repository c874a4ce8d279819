/**
 * The NATS JetStream adapter of the bus port. One stream per bus topic (subject
 * `<namespace>.<topic>`), one durable pull consumer per bus subscription (replicas sharing a
 * name compete for its messages), de-duplication by message id (`Nats-Msg-Id`).
 *
 * Every publish is first written to the embedded bus (the outbox), in the caller's
 * transaction when there is one, and relayed to JetStream once committed: the database stays
 * the truth. While the broker is down, copying goes on and the outbox keeps what piles up;
 * the relay sends it when the broker is back, and a relay retried after a crash is
 * de-duplicated by message id. A handler runs in a database transaction; the message is
 * acknowledged after it commits, redelivered with back-off when it fails, and after
 * MAX_DELIVERIES handed to `onDeadLetter` (an operator alert) and terminated.
 *
 * Written against server 2.9: streams, durable pull consumers, `Nats-Msg-Id` and delayed
 * naks are all older than that.
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, type NatsConnection } from '@nats-io/transport-node';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from '../../store/schema.js';
import { newId } from '../../store/ids.js';
import { inTransaction } from '../../store/transaction.js';
import type { EmbeddedBus } from '../embedded/embedded-bus.js';
import type { Bus, BusHandler, BusMessage, PublishOptions, Subscription } from '../bus.js';
import type { DeadLetter } from '../service-bus/mapping.js';
import type { NatsTarget } from './target.js';

export interface NatsBusOptions {
  readonly target: NatsTarget;
  readonly db: Kysely<DB>;
  /** Holds every message until it is relayed; closed with this bus. */
  readonly outbox: EmbeddedBus;
  /** Topics relayed from the outbox (every topic this process publishes to). */
  readonly topics: readonly string[];
  readonly logger: Logger;
  readonly onDeadLetter: (deadLetter: DeadLetter) => Promise<void>;
}

/** Deliveries before a message is dead-lettered. */
export const MAX_DELIVERIES = 10;
/** Outbox messages relayed per transaction (the broker drops a re-sent one by message id). */
const RELAY_BATCH = 64;
const RELAY_SUBSCRIPTION = 'nats-relay';
/** A redelivery, and a consumer that failed, wait 250 ms after the first failure, doubling to 30 s. */
const RETRY_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 250, maxMs: 30_000 });
const redeliveryDelayMs = (deliveries: number): number => backoffMs(RETRY_BACKOFF, deliveries);

interface Envelope {
  messageId: string;
  topic: string;
  body: unknown;
  publishedAt: number;
}

/** The trace context headers a relayed message carries (none when the publisher traced nothing). */
function traceHeadersOf(m: JsMsg): { headers?: Record<string, string> } {
  const traceparent = m.headers?.get('traceparent');
  if (!traceparent) return {};
  const tracestate = m.headers?.get('tracestate');
  return { headers: { traceparent, ...(tracestate ? { tracestate } : {}) } };
}

const token = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');

export class NatsBus implements Bus {
  private readonly connection: Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }>;
  private readonly streams = new Map<string, Promise<void>>();
  private readonly closers = new Set<() => Promise<void>>();
  private readonly relays: Subscription[];
  private nc: NatsConnection | undefined;
  private connected = false;
  private closed = false;

  constructor(private readonly opts: NatsBusOptions) {
    this.connection = this.open();
    // Not awaited by anyone until first use: keep an early failure from being unhandled.
    this.connection.catch(() => undefined);
    this.relays = opts.topics.map((topic) =>
      opts.outbox.subscribe(topic, RELAY_SUBSCRIPTION, (m) => this.send(m), { batch: RELAY_BATCH }),
    );
  }

  private async open() {
    // The first connection is retried like any later one: a broker down at start-up is an
    // outage like any other, and the outbox holds the messages meanwhile.
    const nc = await connect({
      servers: [...this.opts.target.servers],
      name: `kopitra-${process.pid}`,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    this.nc = nc;
    this.connected = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.opts.logger.warn({ server: s.server }, 'NATS disconnected; reconnecting');
        } else if (s.type === 'reconnect') {
          this.connected = true;
          this.opts.logger.info({ server: s.server }, 'NATS reconnected');
        }
      }
    })();
    return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
  }

  private streamName(topic: string): string {
    return `${token(this.opts.target.namespace)}_${token(topic)}`;
  }

  private subject(topic: string): string {
    return `${this.opts.target.namespace}.${token(topic)}`;
  }

  private ensureStream(topic: string): Promise<void> {
    let ready = this.streams.get(topic);
    if (!ready) {
      ready = (async () => {
        const { jsm } = await this.connection;
        const name = this.streamName(topic);
        try {
          await jsm.streams.info(name);
        } catch (err) {
          if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.StreamNotFound) throw err;
          await jsm.streams.add({
            name,
            subjects: [this.subject(topic)],
            // A relay retried within this window is recognised by message id.
            duplicate_window: nanos(10 * 60_000),
            max_age: nanos(7 * 24 * 3600_000),
          });
        }
      })();
      ready.catch(() => this.streams.delete(topic));
      this.streams.set(topic, ready);
    }
    return ready;
  }

  async publish(topic: string, body: unknown, options: PublishOptions = {}): Promise<string> {
    if (!this.opts.topics.includes(topic))
      throw new Error(`bus topic ${topic} is not relayed to NATS; add it to the relayed topics`);
    return this.opts.outbox.publish(topic, body, {
      ...(options.db ? { db: options.db } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
      messageId: options.messageId ?? newId('msg'),
    });
  }

  /** The relay: one outbox message to JetStream; a failure leaves it in the outbox for a retry. */
  private async send(message: BusMessage): Promise<void> {
    await this.ensureStream(message.topic);
    const { js } = await this.connection;
    const envelope: Envelope = {
      messageId: message.messageId,
      topic: message.topic,
      body: message.body,
      publishedAt: message.publishedAt,
    };
    // The trace context travels as NATS headers, where other NATS tools look for it.
    let h: ReturnType<typeof natsHeaders> | undefined;
    for (const [key, value] of Object.entries(message.headers ?? {})) (h ??= natsHeaders()).set(key, value);
    await js.publish(this.subject(message.topic), JSON.stringify(envelope), {
      msgID: message.messageId,
      timeout: 5000,
      ...(h ? { headers: h } : {}),
    });
  }

  subscribe(topic: string, subscription: string, handler: BusHandler): Subscription {
    const abort = new AbortController();
    const loop = this.consume(topic, subscription, handler, abort.signal);
    const close = async () => {
      abort.abort();
      await loop;
    };
    this.closers.add(close);
    return {
      close: async () => {
        this.closers.delete(close);
        await close();
      },
    };
  }

  private async consume(
    topic: string,
    subscription: string,
    handler: BusHandler,
    signal: AbortSignal,
  ): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await this.ensureStream(topic);
        const { js, jsm } = await this.connection;
        const stream = this.streamName(topic);
        const durable = token(subscription);
        try {
          await jsm.consumers.info(stream, durable);
        } catch (err) {
          if (!(err instanceof JetStreamApiError) || err.code !== JetStreamApiCodes.ConsumerNotFound)
            throw err;
          await jsm.consumers.add(stream, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            max_deliver: MAX_DELIVERIES,
            // A replica that dies holding a message gives it up after this long.
            ack_wait: nanos(30_000),
          });
        }
        const consumer = await js.consumers.get(stream, durable);
        const messages = await consumer.consume({ max_messages: 32 });
        const stop = () => void messages.close();
        signal.addEventListener('abort', stop, { once: true });
        try {
          for await (const m of messages) {
            await this.handle(topic, subscription, m, handler);
            if (signal.aborted) break;
          }
        } finally {
          signal.removeEventListener('abort', stop);
          await messages.close();
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted || this.closed) break;
        failures++;
        this.opts.logger.warn({ err, topic, subscription }, 'NATS consumer failed; retrying');
        await sleep(backoffMs(RETRY_BACKOFF, failures + 1), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private async handle(topic: string, subscription: string, m: JsMsg, handler: BusHandler): Promise<void> {
    const deliveries = m.info.deliveryCount;
    let message: BusMessage;
    try {
      const e = m.json<Envelope>();
      if (typeof e.messageId !== 'string' || typeof e.publishedAt !== 'number')
        throw new Error('not an envelope');
      message = {
        messageId: e.messageId,
        topic,
        body: e.body,
        publishedAt: e.publishedAt,
        ...traceHeadersOf(m),
      };
    } catch (err) {
      await this.deadLetter(topic, subscription, m, 'unreadable', String(err));
      return;
    }
    try {
      await inTransaction(this.opts.db, ({ trx, afterCommit }) => handler(message, { db: trx, afterCommit }));
    } catch (err) {
      if (deliveries >= MAX_DELIVERIES) {
        await this.deadLetter(
          topic,
          subscription,
          m,
          'MaxDeliveryCountExceeded',
          String(err),
          message.messageId,
        );
        return;
      }
      this.opts.logger.warn(
        { err, topic, subscription, messageId: message.messageId, deliveries },
        'bus handler failed; the message will be redelivered',
      );
      m.nak(redeliveryDelayMs(deliveries));
      return;
    }
    // Only after the handler's transaction committed: a crash before this redelivers.
    m.ack();
  }

  private async deadLetter(
    topic: string,
    subscription: string,
    m: JsMsg,
    reason: string,
    description: string,
    messageId = m.headers?.get('Nats-Msg-Id') ?? `stream-seq-${m.seq}`,
  ): Promise<void> {
    const deadLetter: DeadLetter = {
      topic,
      subscription,
      messageId,
      reason,
      description,
      deliveryCount: m.info.deliveryCount,
      subject: m.subject,
    };
    try {
      await this.opts.onDeadLetter(deadLetter);
      m.term(reason);
    } catch (err) {
      // Not recorded: keep the message, so the dead letter is raised on a later delivery.
      this.opts.logger.error({ err, deadLetter }, 'could not record a dead letter');
      m.nak(redeliveryDelayMs(m.info.deliveryCount));
    }
  }

  async ping(): Promise<void> {
    if (!this.connected) throw new Error('NATS is not connected (reconnecting)');
    const { nc } = await this.connection;
    await nc.rtt();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.relays.map((r) => r.close()));
    await Promise.all([...this.closers].map((c) => c()));
    this.closers.clear();
    if (this.nc) {
      await this.nc.close();
    } else {
      // Never connected: stop the first-connection retries.
      void this.connection.then(
        ({ nc }) => nc.close(),
        () => undefined,
      );
    }
    await this.opts.outbox.close();
  }
}
