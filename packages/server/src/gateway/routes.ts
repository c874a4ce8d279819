/** The EA protocol over HTTP (base `/trade-agent/v1`). Routes only translate; use cases live beside them. */
import {
  AppError,
  CreateSessionRequest,
  ExecutionRequest,
  ManualOrderRequest,
  OrderSignalRequest,
  SignalRequest,
  InboxRequest,
  OutboxQuery,
} from '@kopitra/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientIpOf } from '../http/client-ip.js';
import { readiness, type HealthCheck } from '../http/health.js';
import { noBody, parse } from '../http/parse.js';
import { accountOf, idempotencyKeyOf } from '../http/ea-headers.js';
import type { GatewayDeps } from '../services/deps.js';
import { receiveInbox } from '../services/inbox.js';
import { reportExecution } from '../services/copy/executions.js';
import { operatorOf, queueManualOrder } from '../services/manual-orders.js';
import { acceptSignal } from '../services/copy/fanout.js';
import { acceptOrderSignal } from '../services/copy/order-fanout.js';
import { pollOutbox, readOutboxOnce } from '../services/outbox.js';
import { createSession, releaseSession, type SessionContext } from '../services/sessions.js';
import { authenticateRequest } from './authenticate.js';
import { registerStream } from './stream.js';

const endedCode = (ctx: SessionContext) =>
  ctx.session.status === 'expired' ? 'session_expired' : 'session_terminated';

export async function gatewayRoutes(
  app: FastifyInstance,
  opts: {
    deps: GatewayDeps;
    checks: HealthCheck[];
    version: string;
    startedAt: number;
    operators: { db: GatewayDeps['db']; clock: GatewayDeps['clock']; tokenKey: Uint8Array };
  },
): Promise<void> {
  const { deps } = opts;

  app.post('/sessions', async (request, reply) => {
    const accountId = accountOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = parse(CreateSessionRequest, request.body, 'body');
    const result = await createSession(deps, {
      accountId,
      idempotencyKey,
      request: body,
      clientIp: clientIpOf(request),
    });
    return reply.status(result.statusCode).send(result.body);
  });

  const release = async (request: FastifyRequest, reply: FastifyReply) => {
    accountOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    noBody(request.body);
    const ctx = await authenticateRequest(deps, request, true);
    const result = await releaseSession(deps, ctx, idempotencyKey);
    return reply.status(result.statusCode).send(result.body);
  };
  app.delete('/sessions/current', release);
  // MQL's WebRequest documents only GET, POST and HEAD: the same release as a POST.
  app.post('/sessions/current/release', release);

  app.get('/sessions/current/outbox', async (request, reply) => {
    const ctx = await authenticateRequest(deps, request, true);
    const query = parse(OutboxQuery, request.query, 'query');
    if (ctx.ended) {
      // An ended session may still collect the shutdown addressed to it, once.
      const events = await readOutboxOnce(deps, ctx, query.cursor, query.limit);
      if (events.length === 0) throw new AppError(endedCode(ctx));
      return { status: 'authenticated', events, nextCursor: events.at(-1)?.sequence ?? query.cursor };
    }
    // One controller per poll, aborted by the client leaving or the process stopping. (Not
    // AbortSignal.any with the long-lived shutdown signal: Node keeps every such pairing alive.)
    const abort = new AbortController();
    const onClose = () => abort.abort();
    reply.raw.on('close', onClose);
    deps.shutdownSignal.addEventListener('abort', onClose);
    try {
      return await pollOutbox(deps, ctx, query, () => authenticateRequest(deps, request, true), abort.signal);
    } finally {
      reply.raw.off('close', onClose);
      deps.shutdownSignal.removeEventListener('abort', onClose);
    }
  });

  app.post('/sessions/current/inbox', async (request, reply) => {
    accountOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = parse(InboxRequest, request.body, 'body');
    const ctx = await authenticateRequest(deps, request, true);
    if (ctx.ended && body.events.some((e) => e.eventType !== 'OutboxAck')) throw new AppError(endedCode(ctx));
    const result = await receiveInbox(deps, ctx, idempotencyKey, body);
    return reply.status(result.statusCode).send(result.body);
  });

  app.post('/signals', async (request, reply) => {
    accountOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    // Pending-order signals have their own shape; `type` says which one to hold the body to.
    const type = (request.body as { type?: unknown } | null)?.type;
    if (typeof type === 'string' && type.startsWith('order.')) {
      const body = parse(OrderSignalRequest, request.body, 'body');
      const ctx = await authenticateRequest(deps, request, false);
      const result = await acceptOrderSignal(deps, ctx, idempotencyKey, body);
      return reply.status(result.statusCode).send(result.body);
    }
    const body = parse(SignalRequest, request.body, 'body');
    const ctx = await authenticateRequest(deps, request, false);
    const result = await acceptSignal(deps, ctx, idempotencyKey, body);
    return reply.status(result.statusCode).send(result.body);
  });

  app.post('/executions', async (request, reply) => {
    accountOf(request);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = parse(ExecutionRequest, request.body, 'body');
    const ctx = await authenticateRequest(deps, request, false);
    const result = await reportExecution(deps, ctx, idempotencyKey, body);
    return reply.status(result.statusCode).send(result.body);
  });

  app.post<{ Params: { sessionId: string } }>('/sessions/:sessionId/orders', async (request, reply) => {
    const operator = await operatorOf(deps, opts.operators, request.headers.authorization);
    const idempotencyKey = idempotencyKeyOf(request);
    const body = parse(ManualOrderRequest, request.body, 'body');
    const result = await queueManualOrder(deps, {
      sessionId: request.params.sessionId,
      operator,
      idempotencyKey,
      request: body,
    });
    return reply.status(result.statusCode).send(result.body);
  });

  app.get('/health', async (_request, reply) => {
    const { statusCode, body } = await readiness(opts.checks, opts.version, opts.startedAt);
    return reply.status(statusCode).send(body);
  });

  await registerStream(app, deps);
}
