/**
 * A server span for every request of the EA plane (`/trade-agent/…`) and the management API
 * (`/api/…`), health checks and the console's files aside. A caller's `traceparent` /
 * `tracestate` is continued; the span is active while the route runs, so the services' spans
 * and the bus messages they publish belong to it. Installed only when traces are on.
 */
import { context, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EA_BASE_PATH } from '@kopitra/contracts';
import { contextOf, type Tracing } from './tracing.js';

const UNTRACED = new Set([`${EA_BASE_PATH}/health`, '/api/health']);

function traced(request: FastifyRequest): boolean {
  const path = request.url.split('?', 1)[0]!;
  if (UNTRACED.has(path)) return false;
  return path.startsWith(`${EA_BASE_PATH}/`) || path.startsWith('/api/');
}

export function installHttpTracing(app: FastifyInstance, tracing: Tracing): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  const finish = (request: FastifyRequest, statusCode: number | undefined) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    if (statusCode !== undefined) {
      span.setAttribute('http.response.status_code', statusCode);
      if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };

  app.addHook('onRequest', (request, _reply, done) => {
    if (!traced(request)) return done();
    const route = request.routeOptions.url;
    const parent = contextOf(tracing, request.headers);
    const span = tracing.tracer.startSpan(
      `${request.method} ${route ?? request.url.split('?', 1)[0]}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?', 1)[0],
          ...(route ? { 'http.route': route } : {}),
          'kopitra.plane': request.url.startsWith('/api/') ? 'management' : 'gateway',
          'kopitra.request_id': request.id,
          ...(typeof request.headers['x-tradeagent-account'] === 'string'
            ? { 'kopitra.account_id': request.headers['x-tradeagent-account'] }
            : {}),
        },
      },
      parent,
    );
    spans.set(request, span);
    // Fastify runs the rest of the request (hooks, handler) from `done`: inside this context.
    context.with(trace.setSpan(parent, span), done);
  });
  app.addHook('onError', async (request, _reply, error) => {
    const span = spans.get(request);
    if (span && (error.statusCode === undefined || error.statusCode >= 500)) span.recordException(error);
  });
  // A WebSocket upgrade gets no response Fastify sees: its span ends once authenticated, as the
  // handshake completes (the stream's deliveries and acknowledgements are spans of their own).
  app.addHook('preHandler', async (request) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket') finish(request, 101);
  });
  app.addHook('onResponse', async (request, reply) => finish(request, reply.statusCode));
  // A client that leaves before the answer (a long poll given up) still ends the span.
  app.addHook('onRequestAbort', async (request) => finish(request, undefined));
}
