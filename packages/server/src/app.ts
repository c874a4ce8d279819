/**
 * `buildApp` assembles the HTTP server from already-open dependencies without listening;
 * `startPlatform` (runtime.ts) owns the resources and the listening socket.
 */
import { randomUUID } from 'node:crypto';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { EA_BASE_PATH } from '@kopitra/contracts';
import type { GatewayDeps } from './services/deps.js';
import { gatewayRoutes } from './gateway/routes.js';
import { externalSignalRoutes } from './gateway/external-signals.js';
import type { HealthCheck } from './http/health.js';
import type { WriteFailures } from './http/write-failures.js';
import { frameworkError, installErrorHandling, installJsonParser } from './http/errors.js';
import { VERSION } from './version.js';
import { managementRoutes } from './management/app.js';
import { serveConsole } from './console.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { installMetrics, type Metrics } from './metrics.js';
import { tokenKeyFrom } from './services/operators.js';
import type { ManagementDeps } from './services/management-deps.js';
import { installHttpTracing } from './telemetry/http.js';
import type { Tracing } from './telemetry/tracing.js';

export interface AppOptions {
  logger: Logger;
  /** One log line per request (off by default: the demo alone makes thousands an hour). */
  logRequests?: boolean;
  bodyLimitBytes: number;
  trustProxy: boolean;
  metrics?: Metrics;
  metricsToken?: string | undefined;
  gateway?: GatewayDeps;
  management?: ManagementDeps;
  checks: HealthCheck[];
  /** Records storage write failures for the `storage` health check. */
  writeFailures?: WriteFailures;
  /** Directory of the built console; unset serves none. */
  consoleDir?: string | undefined;
  /** A span per API request when on (nothing is installed when off). */
  tracing?: Tracing | undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: opts.logRequests !== true }),
    bodyLimit: opts.bodyLimitBytes,
    // Request ids travel across services: honour a caller's, else mint one.
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Only behind a known proxy (App Service, a load balancer) may X-Forwarded-For name the client.
    trustProxy: opts.trustProxy,
    forceCloseConnections: 'idle',
    frameworkErrors: frameworkError,
    return503OnClosing: true,
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });
  if (opts.tracing?.enabled) installHttpTracing(app, opts.tracing);
  installErrorHandling(app, opts.writeFailures);
  await installSecurityHeaders(app);
  if (opts.metrics) installMetrics(app, opts.metrics, opts.metricsToken);
  installJsonParser(app);
  await app.register(fastifyWebsocket, { options: { maxPayload: opts.bodyLimitBytes } });
  const startedAt = Date.now();
  if (opts.gateway) {
    const deps = opts.gateway;
    await app.register(gatewayRoutes, {
      prefix: EA_BASE_PATH,
      deps,
      checks: opts.checks,
      version: VERSION,
      startedAt,
      operators: { db: deps.db, clock: deps.clock, tokenKey: tokenKeyFrom(deps.secret) },
    });
    await app.register(externalSignalRoutes, { deps });
  }
  if (opts.management)
    await app.register(managementRoutes, { deps: opts.management, checks: opts.checks, startedAt });
  if (opts.management && opts.consoleDir) await serveConsole(app, opts.consoleDir);
  return app;
}
