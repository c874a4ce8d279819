/** The OpenAPI document, generated from the route declarations and their zod contracts. */
import { errorCatalogue } from '@kopitra/contracts';
import { z } from 'zod';
import { VERSION } from '../version.js';
import type { RouteSpec } from './registry.js';

export function openApiDocument(routes: RouteSpec[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.url.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = r.query
      ? Object.entries(
          (z.toJSONSchema(r.query, { io: 'input' }) as { properties?: Record<string, unknown> }).properties ??
            {},
        ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
      : [];
    (paths[r.url] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.role === 'public' ? { security: [] } : { 'x-required-role': r.role }),
      parameters: [...params, ...query],
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input' }) } },
            },
          }
        : {}),
      responses: {
        [String(r.status ?? 200)]: { description: r.raw ? 'text/event-stream' : 'Success' },
        default: {
          description: 'A coded error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kopitra management API',
      version: VERSION,
      description:
        'Operators: sign in with POST /api/auth/login and send the token as Authorization: Bearer <token>. Roles: viewer reads, operator acts, admin manages users.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string', enum: Object.keys(errorCatalogue) },
            message: { type: 'string' },
            howToFix: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
