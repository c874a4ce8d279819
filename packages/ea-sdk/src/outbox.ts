/**
 * Reading the outbox as a stream of events. An event is acknowledged only after the code
 * that received it finished, so a terminal that dies mid-trade gets it again (handlers
 * must therefore be idempotent — the simulator looks its own book up first, as an EA does).
 */
import type { OutboxEvent } from '@kopitra/contracts';
import type { KopitraClient } from './client.js';
import {
  AbortedError,
  AuthenticationError,
  ForbiddenError,
  SessionConflictError,
  SessionShutdownError,
} from './errors.js';
import { linkSignals } from './signals.js';
import { streamEvents } from './stream.js';
import { backoffDelay } from './transport.js';

export interface EventsOptions {
  /** `poll` (long poll, default) or `websocket` (`GET /sessions/current/stream`). */
  transport?: 'poll' | 'websocket';
  /** Long-poll hold in seconds (default 20). */
  wait?: number;
  /** Events per poll (default 100). */
  limit?: number;
  signal?: AbortSignal;
}

export interface ConsumeOptions extends EventsOptions {
  /** Told about a failed handler or read; the event is read again after a backoff. */
  onError?: (err: unknown, event: OutboxEvent | null) => void;
}

/** Handles one outbox event; throwing leaves it unacknowledged, so it is delivered again. */
export type OutboxHandler = (event: OutboxEvent) => unknown;

/** Errors after which reading again cannot help. */
export const isFatal = (err: unknown): boolean =>
  err instanceof SessionShutdownError ||
  err instanceof ForbiddenError ||
  err instanceof AuthenticationError ||
  err instanceof SessionConflictError ||
  err instanceof AbortedError;

/** Long-poll iterator: events are acknowledged in one batch before the next poll. */
async function* pollEvents(
  client: KopitraClient,
  opts: EventsOptions,
  signal: AbortSignal,
): AsyncGenerator<OutboxEvent, void, undefined> {
  let handled: OutboxEvent[] = [];
  const flush = async () => {
    if (handled.length === 0) return;
    const batch = handled;
    handled = [];
    await client.ack(batch, signal);
  };
  try {
    while (!signal.aborted) {
      await flush();
      const res = await client.poll({ wait: opts.wait ?? 20, limit: opts.limit ?? 100, signal });
      if (res.events.length === 0) {
        // A poll answered early (shutdown, no wait) is not a reason to spin.
        if ((opts.wait ?? 20) === 0) await client.clock.sleep((res.retryAfter ?? 1) * 1000, signal);
        continue;
      }
      for (const event of res.events) {
        yield event;
        handled.push(event);
        const final = client.noteHandled(event);
        if (final) {
          await flush();
          throw final;
        }
      }
    }
  } finally {
    // Leaving early (break, a throwing loop body, a stop): acknowledge what was finished. Not
    // tied to `signal`, which may be what stopped us; `close()` still cuts it short.
    if (handled.length) await client.ack(handled, AbortSignal.timeout(2000)).catch(() => undefined);
  }
}

/** The outbox as an async iterator over the chosen transport. */
export async function* outboxEvents(
  client: KopitraClient,
  opts: EventsOptions = {},
): AsyncGenerator<OutboxEvent, void, undefined> {
  const { signal, dispose } = linkSignals(opts.signal, client.closed);
  try {
    if (opts.transport === 'websocket') yield* streamEvents(client, signal);
    else yield* pollEvents(client, opts, signal);
  } finally {
    dispose();
  }
}

/** Runs `handler` over the outbox until aborted; a failure is reported and the outbox read again after a backoff. */
export async function consumeEvents(
  client: KopitraClient,
  handler: OutboxHandler,
  opts: ConsumeOptions = {},
): Promise<void> {
  const { signal, dispose } = linkSignals(opts.signal, client.closed);
  let failures = 0;
  try {
    while (!signal.aborted) {
      let current: OutboxEvent | null = null;
      try {
        for await (const event of outboxEvents(client, { ...opts, signal })) {
          current = event;
          await handler(event);
          current = null;
          failures = 0;
        }
        return;
      } catch (err) {
        if (signal.aborted) return;
        if (isFatal(err)) throw err;
        failures++;
        opts.onError?.(err, current);
        await client.clock.sleep(
          backoffDelay(client.transport.options.retry, failures, client.random),
          signal,
        );
      }
    }
  } finally {
    dispose();
  }
}
