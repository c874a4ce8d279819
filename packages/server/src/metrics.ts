/**
 * Prometheus metrics, one registry per process (no global default registry, so tests and
 * several platforms in one process never share counters). Served at GET /metrics.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly signals: Counter<'type'>;
  readonly copyOrders: Counter<'kind' | 'status'>;
  readonly fanoutDuration: Histogram;
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
  };
}

export function installMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    // Long polls and streams would swamp the latency buckets; they are measured by the benchmarks.
    const route = request.routeOptions.url ?? 'unmatched';
    if (route.endsWith('/stream')) return;
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
