/**
 * The bus port: publish to a topic; subscribe with a named subscription (each subscription
 * gets every message of the topic once it is created, replicas sharing a name compete);
 * delivery is at least once, so handlers must be idempotent by `messageId`.
 */
import type { Db } from '../store/schema.js';

export interface BusMessage {
  readonly messageId: string;
  readonly topic: string;
  /** Unparsed: consumers parse it with the contracts' schema for the topic. */
  readonly body: unknown;
  readonly publishedAt: number;
  /** What the publisher attached besides the body: its trace context (`traceparent`, `tracestate`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface HandlerContext {
  /** The transaction the offset advances in: effects written through it commit exactly once with the delivery. */
  readonly db: Db;
  /**
   * Runs `fn` once the delivery's transaction commits. A promise it returns is awaited by hosts
   * that must finish the work before answering (an Azure Functions invocation).
   */
  afterCommit(fn: () => void | Promise<void>): void;
}

export type BusHandler = (message: BusMessage, ctx: HandlerContext) => Promise<void>;

export interface PublishOptions {
  /** Publish inside this transaction, so the message exists exactly when the change that caused it commits. */
  readonly db?: Db;
  readonly messageId?: string;
  /** Carried with the message to every consumer (the trace context; see `BusMessage.headers`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface Bus {
  publish(topic: string, body: unknown, options?: PublishOptions): Promise<string>;
  subscribe(topic: string, subscription: string, handler: BusHandler): Subscription;
  ping(): Promise<void>;
  close(): Promise<void>;
}
