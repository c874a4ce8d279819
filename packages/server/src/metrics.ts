/**
 * Prometheus metrics, one registry per process (no global default registry, so tests and
 * several platforms in one process never share counters). Served at GET /metrics.
 */
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '@kopitra/contracts';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly signals: Counter<'type'>;
  readonly copyOrders: Counter<'kind' | 'status'>;
  readonly fanoutDuration: Histogram;
  readonly outboxHandoffs: Counter<'outcome'>;
  readonly outboxReads: Counter<'channel'>;
  readonly outboxRecheckWakeups: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kopitra_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'kopitra_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers: [registry],
    }),
    signals: new Counter({
      name: 'kopitra_signals_total',
      help: 'Master signals accepted',
      labelNames: ['type'],
      registers: [registry],
    }),
    copyOrders: new Counter({
      name: 'kopitra_copy_orders_total',
      help: 'Copy orders written by fan-out, by kind and initial status',
      labelNames: ['kind', 'status'],
      registers: [registry],
    }),
    fanoutDuration: new Histogram({
      name: 'kopitra_fanout_duration_seconds',
      help: 'Signal received to all copy orders committed',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxHandoffs: new Counter({
      name: 'kopitra_outbox_handoffs_total',
      help: 'Fan-out events for followers waiting in this process: taken from memory, or read from the outbox after a wake-up',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    outboxReads: new Counter({
      name: 'kopitra_outbox_reads_total',
      help: 'Reads of a follower outbox by a poll or stream (hand-offs answer without one)',
      labelNames: ['channel'],
      registers: [registry],
    }),
    outboxRecheckWakeups: new Counter({
      name: 'kopitra_outbox_recheck_wakeups_total',
      help: 'Parked followers the periodic re-check found behind their outbox (a wake-up was lost or raced)',
      registers: [registry],
    }),
  };
}

const isLoopback = (ip: string | undefined): boolean =>
  ip !== undefined && (ip === '::1' || /^(::ffff:)?127\./.test(ip));

function bearerMatches(authorization: string | undefined, token: string): boolean {
  const presented = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

export function installMetrics(app: FastifyInstance, metrics: Metrics, token?: string): void {
  app.addHook('onResponse', async (request, reply) => {
    // Long polls and streams would swamp the latency buckets; they are measured by the benchmarks.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route.endsWith('/stream')) return;
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  // Metrics describe traffic and accounts: a scraper presents the configured token, else
  // only a caller on this host may read them.
  app.get('/metrics', async (request, reply) => {
    if (token === undefined ? !isLoopback(request.ip) : !bearerMatches(request.headers.authorization, token))
      throw new AppError('unauthorized', 'GET /metrics needs the metrics token (KOPITRA_METRICS_TOKEN).');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
