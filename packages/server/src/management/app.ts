/** The management API as a Fastify plugin: every route under /api. */
import type { FastifyInstance } from 'fastify';
import type { HealthCheck } from '../gateway/routes.js';
import { VERSION } from '../version.js';
import type { ManagementDeps } from './deps.js';
import { openApiDocument } from './openapi.js';
import { registerRoutes, route, type RouteSpec } from './registry.js';
import { accountSessionRoutes } from './routes/accounts-sessions.js';
import { authUserRoutes } from './routes/auth-users.js';
import { groupRoutes } from './routes/groups.js';
import { recordRoutes } from './routes/records.js';
import { taskStreamRoutes } from './routes/tasks-stream.js';
import { webhookRoutes } from './routes/webhooks.js';

export function managementRouteSpecs(deps: ManagementDeps, checks: HealthCheck[] = []): RouteSpec[] {
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
        const results = await Promise.all(
          checks.map(
            async (c) =>
              [
                c.name,
                await c.check().then(
                  () => ({ ok: true }),
                  (e: unknown) => ({ ok: false, error: String(e) }),
                ),
              ] as const,
          ),
        );
        const ok = results.every(([, r]) => r.ok);
        void reply.status(ok ? 200 : 503);
        return {
          status: ok ? 'ok' : 'unavailable',
          version: VERSION,
          checks: Object.fromEntries(results),
          ...(ok ? {} : { error: 'not_ready', message: 'A dependency is not ready.' }),
        };
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
  opts: { deps: ManagementDeps; checks: HealthCheck[] },
): Promise<void> {
  registerRoutes(app, opts.deps, managementRouteSpecs(opts.deps, opts.checks));
}
