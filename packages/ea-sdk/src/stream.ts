/**
 * The WebSocket alternative to polling (`GET /sessions/current/stream`): the gateway pushes
 * each outbox event once per connection; the EA acknowledges on the socket. The cursor moves
 * only on the gateway's `ack_result`, so a connection lost between the two replays the event.
 */
import { OutboxEvent } from '@kopitra/contracts';
import WebSocket from 'ws';
import type { KopitraClient } from './client.js';
import { AbortedError, KopitraError, NetworkError, SessionEndedError, errorFromResponse } from './errors.js';
import { backoffDelay } from './transport.js';

/** Close code the gateway uses when the session ended. */
export const CLOSE_SESSION_ENDED = 4001;

type Item =
  { kind: 'message'; data: Record<string, unknown> } | { kind: 'closed'; code: number; reason: string };

/** Socket messages as a pull queue. */
class Feed {
  private readonly queue: Item[] = [];
  private waiter: ((item: Item) => void) | null = null;

  push(item: Item): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w(item);
    } else this.queue.push(item);
  }

  next(): Promise<Item> {
    const item = this.queue.shift();
    if (item) return Promise.resolve(item);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

function open(
  client: KopitraClient,
  token: string,
  signal: AbortSignal,
): Promise<{ socket: WebSocket; feed: Feed }> {
  const url = client.transport
    .url('/sessions/current/stream', { cursor: client.cursor })
    .replace(/^http/, 'ws');
  const socket = new WebSocket(url, {
    headers: client.transport.headers({ token }),
    handshakeTimeout: client.transport.options.timeoutMs,
  });
  const feed = new Feed();
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      socket.terminate();
      settle(() => reject(new AbortedError()));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // Errors after the handshake surface as a close; before it, they reject the open.
    socket.on('error', (err) =>
      settle(() => reject(new NetworkError('network_error', `stream: ${err.message}`, { cause: err }))),
    );
    socket.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        settle(() => reject(errorFromResponse(res.statusCode ?? 0, body)));
        socket.terminate();
      });
    });
    socket.on('message', (data) => {
      try {
        const parsed = JSON.parse(String(data)) as unknown;
        if (parsed && typeof parsed === 'object')
          feed.push({ kind: 'message', data: parsed as Record<string, unknown> });
      } catch {
        // Not JSON: nothing the protocol sends; ignore.
      }
    });
    socket.on('close', (code, reason) => feed.push({ kind: 'closed', code, reason: reason.toString() }));
    socket.on('open', () => settle(() => resolve({ socket, feed })));
  });
}

/** Outbox events pushed over WebSocket; reconnects (and re-creates an ended session) as needed. */
export async function* streamEvents(
  client: KopitraClient,
  signal: AbortSignal,
): AsyncGenerator<OutboxEvent, void, undefined> {
  let failures = 0;
  while (!signal.aborted) {
    const session = await client.connect(signal);
    let conn: { socket: WebSocket; feed: Feed };
    try {
      conn = await open(client, session.token, signal);
    } catch (err) {
      if (err instanceof SessionEndedError) {
        await client.renew(session.token, signal);
        continue;
      }
      if (!(err instanceof KopitraError) || !err.retryable) throw err;
      failures++;
      await client.clock.sleep(backoffDelay(client.transport.options.retry, failures, client.random), signal);
      continue;
    }
    const { socket, feed } = conn;
    const onAbort = () => feed.push({ kind: 'closed', code: -1, reason: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    const sequences = new Map<string, number>();
    const ackResult = (msg: Record<string, unknown>): boolean => {
      if (msg['type'] !== 'ack_result' || typeof msg['eventId'] !== 'string') return false;
      const seq = sequences.get(msg['eventId']);
      sequences.delete(msg['eventId']);
      if (seq !== undefined && (msg['result'] === 'acked' || msg['result'] === 'already_acked'))
        client.noteAcked(seq);
      return true;
    };
    try {
      for (;;) {
        const item = await feed.next();
        if (item.kind === 'closed') {
          if (item.code === CLOSE_SESSION_ENDED) await client.renew(session.token, signal);
          else if (!signal.aborted) {
            failures++;
            await client.clock.sleep(
              backoffDelay(client.transport.options.retry, failures, client.random),
              signal,
            );
          }
          break;
        }
        const msg = item.data;
        if (ackResult(msg)) continue;
        if (msg['type'] !== 'event') continue;
        const parsed = OutboxEvent.safeParse(msg['event']);
        if (!parsed.success) continue;
        failures = 0;
        const event = parsed.data;
        yield event;
        sequences.set(event.eventId, event.sequence);
        if (socket.readyState === WebSocket.OPEN)
          socket.send(JSON.stringify({ type: 'ack', eventId: event.eventId, sequence: event.sequence }));
        const final = client.noteHandled(event);
        if (final) {
          // Let the acknowledgement of the shutdown reach the gateway before leaving.
          await client.clock.sleep(100, signal);
          throw final;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Leaving (a stop, a break): wait briefly for the answers to acknowledgements already sent.
      const deadline = Date.now() + 1000;
      while (sequences.size > 0 && socket.readyState === WebSocket.OPEN && Date.now() < deadline) {
        const item = await Promise.race([
          feed.next(),
          new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now())).unref()),
        ]);
        if (!item || item.kind === 'closed') break;
        ackResult(item.data);
      }
      socket.close();
    }
  }
}
