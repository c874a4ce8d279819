/** The management API as a Fastify plugin: every route under /api. */
import type { FastifyInstance } from 'fastify';
import { readiness, type HealthCheck } from '../http/health.js';
import { VERSION } from '../version.js';
import type { ManagementDeps } from '../services/management-deps.js';
import { openApiDocument } from './openapi.js';
import { registerRoutes, route, type RouteSpec } from './registry.js';
import { accountSessionRoutes } from './routes/accounts-sessions.js';
import { authUserRoutes } from './routes/auth-users.js';
import { groupRoutes } from './routes/groups.js';
import { recordRoutes } from './routes/records.js';
import { taskStreamRoutes } from './routes/tasks-stream.js';
import { webhookRoutes } from './routes/webhooks.js';

export function managementRouteSpecs(
  deps: ManagementDeps,
  checks: HealthCheck[] = [],
  startedAt = Date.now(),
): RouteSpec[] {
  const routes: RouteSpec[] = [
    ...authUserRoutes(deps),
    ...accountSessionRoutes(deps),
    ...groupRoutes(deps),
    ...recordRoutes(deps),
    ...taskStreamRoutes(deps),
    ...webhookRoutes(deps),
  ];
  routes.push(
    route({
      method: 'GET',
      url: '/api/health',
      role: 'public',
      tag: 'meta',
      summary: 'Readiness with each dependency',
      handler: async ({ reply }) => {
        const { statusCode, body } = await readiness(checks, VERSION, startedAt);
        void reply.status(statusCode);
        return body;
      },
    }),
    route({
      method: 'GET',
      url: '/api/openapi.json',
      role: 'public',
      tag: 'meta',
      summary: 'This OpenAPI document',
      handler: async () => openApiDocument(routes),
    }),
  );
  return routes;
}

export async function managementRoutes(
  app: FastifyInstance,
  opts: { deps: ManagementDeps; checks: HealthCheck[]; startedAt: number },
): Promise<void> {
  registerRoutes(app, opts.deps, managementRouteSpecs(opts.deps, opts.checks, opts.startedAt));
}
