/**
 * The Azure Service Bus adapter of the bus port. One topic per bus topic and one Service Bus
 * subscription per bus subscription (replicas sharing a name compete for its messages);
 * sessions keep each account's messages in order; the message id is the duplicate-detection
 * key, so a message sent twice (a relay retried after a crash) is delivered once.
 *
 * Publishing inside a transaction cannot reach the broker atomically, so messages are first
 * written to the embedded bus (the outbox), in the caller's transaction when there is one,
 * and relayed to Service Bus once committed. A handler runs in a database transaction; the message is completed
 * after it commits and abandoned when it fails, until Service Bus dead-letters it; dead
 * letters are handed to `onDeadLetter` (an operator alert).
 */
import {
  isServiceBusError,
  ServiceBusAdministrationClient,
  ServiceBusClient,
  type ServiceBusReceivedMessage,
  type ServiceBusSender,
  type ServiceBusSessionReceiver,
} from '@azure/service-bus';
import { DefaultAzureCredential } from '@azure/identity';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.js';
import type { DB } from '../../store/schema.js';
import { newId } from '../../store/ids.js';
import { inTransaction } from '../../store/transaction.js';
import type { EmbeddedBus } from '../embedded/embedded-bus.js';
import type { Bus, BusHandler, BusMessage, PublishOptions, Subscription } from '../bus.js';
import {
  deadLetterOf,
  fromServiceBusMessage,
  toServiceBusMessage,
  type DeadLetter,
  type ServiceBusTarget,
} from './mapping.js';

export interface ServiceBusBusOptions {
  readonly target: ServiceBusTarget;
  readonly db: Kysely<DB>;
  /** Holds messages published inside a transaction until they are relayed; closed with this bus. */
  readonly outbox: EmbeddedBus;
  /** Topics whose outbox messages are relayed (every topic this process publishes to). */
  readonly topics: readonly string[];
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onDeadLetter: (deadLetter: DeadLetter) => Promise<void>;
  /** Sessions served at once per subscription. */
  readonly concurrentSessions?: number;
  /** Create missing topics and subscriptions (needs Manage rights: connection strings only). */
  readonly provision?: boolean;
}

/** A receive that failed is tried again after 500 ms, doubling to 30 s. */
const RECEIVE_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 500, maxMs: 30_000 });
/** Deliveries before Service Bus dead-letters a message (also set on subscriptions it creates). */
export const MAX_DELIVERY_COUNT = 10;
/** Outbox messages relayed per transaction (the broker drops a re-sent one by message id). */
const RELAY_BATCH = 64;
const RELAY_SUBSCRIPTION = 'service-bus-relay';
const RECEIVE_WAIT_MS = 1000;

export function serviceBusClients(target: ServiceBusTarget): {
  client: ServiceBusClient;
  admin: ServiceBusAdministrationClient;
} {
  if (target.auth === 'connectionString')
    return {
      client: new ServiceBusClient(target.connectionString),
      admin: new ServiceBusAdministrationClient(target.connectionString),
    };
  // Managed identity on Azure (AZURE_CLIENT_ID selects a user-assigned one), developer sign-in elsewhere.
  const credential = new DefaultAzureCredential();
  return {
    client: new ServiceBusClient(target.namespace, credential),
    admin: new ServiceBusAdministrationClient(target.namespace, credential),
  };
}

export class ServiceBusBus implements Bus {
  private readonly client: ServiceBusClient;
  private readonly admin: ServiceBusAdministrationClient;
  private readonly senders = new Map<string, ServiceBusSender>();
  private readonly provisioned = new Map<string, Promise<void>>();
  private readonly closers = new Set<() => Promise<void>>();
  private readonly relays: Subscription[] = [];
  private closed = false;

  constructor(private readonly opts: ServiceBusBusOptions) {
    ({ client: this.client, admin: this.admin } = serviceBusClients(opts.target));
    for (const topic of opts.topics)
      this.relays.push(
        opts.outbox.subscribe(topic, RELAY_SUBSCRIPTION, (m) => this.send(m), { batch: RELAY_BATCH }),
      );
  }

  /**
   * Every message goes through the outbox, inside the caller's transaction when there is one:
   * it is in the database (where the live stream reads it) before it reaches Service Bus.
   */
  async publish(topic: string, body: unknown, options: PublishOptions = {}): Promise<string> {
    if (!this.opts.topics.includes(topic))
      throw new Error(`bus topic ${topic} is not relayed to Service Bus; add it to the relayed topics`);
    return this.opts.outbox.publish(topic, body, {
      messageId: options.messageId ?? newId('msg'),
      ...(options.db ? { db: options.db } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
  }

  subscribe(topic: string, subscription: string, handler: BusHandler): Subscription {
    const abort = new AbortController();
    const loops = Array.from({ length: this.opts.concurrentSessions ?? 4 }, () =>
      this.serveSessions(topic, subscription, handler, abort.signal),
    );
    const deadLetters = this.watchDeadLetters(topic, subscription);
    const close = async () => {
      abort.abort();
      await Promise.all(loops);
      await deadLetters.close();
    };
    this.closers.add(close);
    return {
      close: async () => {
        this.closers.delete(close);
        await close();
      },
    };
  }

  async ping(): Promise<void> {
    // Opening a send link proves the namespace answers and this identity may send.
    const topic = this.opts.topics[0];
    if (!topic) return;
    const batch = await this.sender(topic).createMessageBatch();
    if (batch.maxSizeInBytes <= 0) throw new Error('Service Bus returned no usable batch size');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.relays.map((r) => r.close()));
    await Promise.all([...this.closers].map((c) => c()));
    this.closers.clear();
    await Promise.all([...this.senders.values()].map((s) => s.close()));
    await this.client.close();
    await this.opts.outbox.close();
  }

  private sender(topic: string): ServiceBusSender {
    let s = this.senders.get(topic);
    if (!s) {
      s = this.client.createSender(topic);
      this.senders.set(topic, s);
    }
    return s;
  }

  private async send(message: BusMessage): Promise<void> {
    await this.ensureTopic(message.topic);
    await this.sender(message.topic).sendMessages(toServiceBusMessage(message));
  }

  private ensureTopic(topic: string, subscription?: string): Promise<void> {
    if (!this.opts.provision) return Promise.resolve();
    const key = subscription ? `${topic}/${subscription}` : topic;
    let p = this.provisioned.get(key);
    if (!p) {
      p = (async () => {
        if (!(await this.admin.topicExists(topic)))
          await this.admin
            .createTopic(topic, {
              requiresDuplicateDetection: true,
              duplicateDetectionHistoryTimeWindow: 'PT1H',
            })
            .catch(ignoreExists);
        if (subscription && !(await this.admin.subscriptionExists(topic, subscription)))
          await this.admin
            .createSubscription(topic, subscription, {
              requiresSession: true,
              maxDeliveryCount: MAX_DELIVERY_COUNT,
              deadLetteringOnMessageExpiration: true,
            })
            .catch(ignoreExists);
      })();
      p.catch(() => this.provisioned.delete(key));
      this.provisioned.set(key, p);
    }
    return p;
  }

  /** Takes the next session with messages, drains it, lets it go so other sessions get served. */
  private async serveSessions(
    topic: string,
    subscription: string,
    handler: BusHandler,
    signal: AbortSignal,
  ): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let receiver: ServiceBusSessionReceiver | undefined;
      try {
        await this.ensureTopic(topic, subscription);
        receiver = await this.client.acceptNextSession(topic, subscription, {
          receiveMode: 'peekLock',
          abortSignal: signal,
        });
        for (;;) {
          if (signal.aborted) break;
          const batch = await receiver.receiveMessages(16, { maxWaitTimeInMs: RECEIVE_WAIT_MS });
          if (batch.length === 0) break;
          for (const m of batch) await this.handle(receiver, topic, subscription, m, handler);
        }
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        // No session has messages right now: ask again.
        if (isServiceBusError(err) && (err.code === 'SessionCannotBeLocked' || err.code === 'ServiceTimeout'))
          continue;
        failures++;
        this.opts.logger.warn({ err, topic, subscription }, 'Service Bus receive failed; retrying');
        await abortableDelay(backoffMs(RECEIVE_BACKOFF, failures), signal);
      } finally {
        await receiver?.close().catch(() => undefined);
      }
    }
  }

  private async handle(
    receiver: ServiceBusSessionReceiver,
    topic: string,
    subscription: string,
    received: ServiceBusReceivedMessage,
    handler: BusHandler,
  ): Promise<void> {
    try {
      const message = fromServiceBusMessage(topic, received);
      await inTransaction(this.opts.db, ({ trx, afterCommit }) => handler(message, { db: trx, afterCommit }));
    } catch (err) {
      this.opts.logger.warn(
        { err, topic, subscription, messageId: received.messageId, deliveryCount: received.deliveryCount },
        'bus handler failed; the message will be redelivered',
      );
      await receiver.abandonMessage(received);
      return;
    }
    await receiver.completeMessage(received);
  }

  private watchDeadLetters(topic: string, subscription: string): { close(): Promise<void> } {
    const receiver = this.client.createReceiver(topic, subscription, { subQueueType: 'deadLetter' });
    const handle = receiver.subscribe(
      {
        processMessage: async (m) => {
          await this.opts.onDeadLetter(deadLetterOf(topic, subscription, m));
          await receiver.completeMessage(m);
        },
        processError: async ({ error }) => {
          this.opts.logger.warn(
            { err: error, topic, subscription },
            'Service Bus dead-letter receive failed',
          );
        },
      },
      { autoCompleteMessages: false },
    );
    return {
      close: async () => {
        await handle.close();
        await receiver.close();
      },
    };
  }
}

function ignoreExists(err: unknown): void {
  if (isServiceBusError(err) && err.code === 'MessagingEntityAlreadyExists') return;
  throw err;
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
