/**
 * `GET /sessions/current/stream`: the WebSocket alternative to polling. The server pushes
 * each outbox event once per connection (from `?cursor=`), and the EA may acknowledge on the
 * socket with `{ "type": "ack", "eventId", "sequence"? }`. Unacknowledged events are pushed
 * again on the next connection, as with polling.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { AppError, OutboxQuery, isoTime } from '@kopitra/contracts';
import { stripTrailingNul, toAppError } from '../http/errors.js';
import { parse } from '../http/parse.js';
import { ackOutbox, type OutboxRow } from '../store/outbox.js';
import { continuesFrom } from '../notify/handoff.js';
import { inTransaction } from '../store/transaction.js';
import { accountChannel } from '../notify/notifier.js';
import type { GatewayDeps } from '../services/deps.js';
import { readOutboxOnce, traceAck } from '../services/outbox.js';
import { authenticateRequest } from './authenticate.js';
import type { SessionContext } from '../services/sessions.js';

const SocketAck = z.union([
  z.object({
    type: z.literal('ack'),
    eventId: z.string().min(1).max(64),
    sequence: z.number().int().positive().optional(),
  }),
  z.object({
    eventType: z.literal('OutboxAck'),
    eventId: z.string().min(1).max(64),
    sequence: z.number().int().positive().optional(),
  }),
]);

declare module 'fastify' {
  interface FastifyRequest {
    eaSession?: SessionContext;
    streamQuery?: OutboxQuery;
  }
}

export const CLOSE_SESSION_ENDED = 4001;
/** The standard code for a server that cannot serve the socket for now (RFC 6455 registry). */
const CLOSE_TRY_AGAIN_LATER = 1013;

/** `{ "type": "event", "event": … }` from a stored row, its payload spliced in as stored (no re-parse). */
function eventFrame(r: OutboxRow): string {
  const head = JSON.stringify({
    eventId: r.event_id,
    sequence: Number(r.sequence),
    type: r.type,
    occurredAt: isoTime(r.occurred_at),
  });
  return `{"type":"event","event":${head.slice(0, -1)},"payload":${r.payload}}}`;
}

export async function registerStream(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.route({
    method: 'GET',
    url: '/sessions/current/stream',
    // Authenticate and read the query before the upgrade, so refusals are coded HTTP errors.
    preValidation: async (request) => {
      request.eaSession = await authenticateRequest(deps, request, false);
      request.streamQuery = parse(OutboxQuery, request.query, 'query');
    },
    // A plain GET (no Upgrade: websocket) gets a coded answer instead of an empty 404.
    handler: async () => {
      throw new AppError('upgrade_required');
    },
    wsHandler: (socket: WebSocket, request: FastifyRequest) => streamTo(socket, request),
  });

  function streamTo(socket: WebSocket, request: FastifyRequest): void {
    const query = request.streamQuery as OutboxQuery;
    let ctx = request.eaSession as SessionContext;
    let lastSent = query.cursor;
    let closed = false;
    let pumping = false;
    let again = false;

    const send = (message: unknown) => {
      if (!closed) socket.send(JSON.stringify(message));
    };

    const pump = async () => {
      if (pumping) {
        again = true;
        return;
      }
      pumping = true;
      try {
        do {
          again = false;
          ctx = await authenticateRequest(deps, request, true);
          const events = await readOutboxOnce(deps, ctx, lastSent, 200, 'stream');
          for (const event of events) {
            send({ type: 'event', event });
            lastSent = event.sequence;
          }
          if (ctx.ended) {
            socket.close(CLOSE_SESSION_ENDED, ctx.session.status);
            return;
          }
          if (events.length === 200) again = true;
        } while (again && !closed);
        parkOnceLive();
      } catch (err) {
        const known = toAppError(err);
        if (known) {
          send({ type: 'error', ...known.toBody(request.id) });
          // A dependency that is down (the database, 503) is not the end of the session: the
          // terminal reconnects with the same one once it is back ("try again later").
          socket.close(known.status >= 500 ? CLOSE_TRY_AGAIN_LATER : CLOSE_SESSION_ENDED, known.code);
        } else {
          request.log.error({ err }, 'stream failed');
          socket.close(1011, 'internal_error');
        }
      } finally {
        pumping = false;
      }
    };

    const off = deps.notifier.on(accountChannel(ctx.session.account_id), () => void pump());
    // Between reads the socket takes events a fan-out in this process hands it, in order
    // (they must continue from the last one sent), without reading the outbox again.
    let unpark: (() => void) | undefined;
    const parkOnceLive = () => {
      if (unpark || closed || ctx.ended || ctx.session.status !== 'authenticated') return;
      unpark = deps.handoff.park(ctx.session.account_id, {
        sessionId: ctx.session.session_id,
        get cursor() {
          return lastSent;
        },
        claim: (rows) => {
          if (closed || pumping || ctx.ended || !continuesFrom(rows, lastSent, ctx.session.session_id))
            return false;
          pumping = true;
          return true;
        },
        take: (rows) => {
          for (const row of rows) {
            if (!closed) socket.send(eventFrame(row));
            lastSent = Number(row.sequence);
          }
          pumping = false;
          if (again) void pump();
        },
        release: () => {
          pumping = false;
          void pump();
        },
      });
    };
    socket.on('close', () => {
      closed = true;
      off();
      unpark?.();
    });
    socket.on('message', (data) => {
      void (async () => {
        let parsedJson: unknown;
        try {
          parsedJson = JSON.parse(stripTrailingNul(String(data)));
        } catch {
          send({ type: 'error', error: 'malformed_json', message: 'Socket messages must be JSON.' });
          return;
        }
        const ack = SocketAck.safeParse(parsedJson);
        if (!ack.success) {
          send({
            type: 'error',
            error: 'invalid_request',
            message: 'Expected { "type": "ack", "eventId", "sequence"? }.',
          });
          return;
        }
        try {
          ctx = await authenticateRequest(deps, request, true);
          const accountId = ctx.session.account_id;
          const eventId = ack.data.eventId;
          const result = await inTransaction(deps.db, async (tx) => {
            const acked = await ackOutbox(
              tx.trx,
              {
                accountId,
                sessionId: ctx.session.session_id,
                eventId,
                sequence: ack.data.sequence,
                onlyTargeted: ctx.ended,
              },
              deps.clock.now(),
            );
            if (acked === 'acked') await traceAck(deps, tx, { accountId, eventId, channel: 'stream' });
            return acked;
          });
          send({ type: 'ack_result', eventId: ack.data.eventId, result });
        } catch (err) {
          const known = toAppError(err);
          send({ type: 'error', ...(known ? known.toBody(request.id) : { error: 'internal_error' }) });
        }
      })();
    });
    send({
      type: 'hello',
      sessionId: ctx.session.session_id,
      status: ctx.session.status,
      cursor: lastSent,
    });
    void pump();
  }
}
