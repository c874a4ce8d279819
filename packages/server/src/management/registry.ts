/**
 * Management routes are declared once — method, path, role, schemas, handler — and that one
 * declaration both registers the Fastify route and generates the OpenAPI document.
 */
import { AppError, type Role } from '@kopitra/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { parse } from '../http/parse.js';
import { authenticateOperator, requireRole, type Operator } from '../services/operators.js';
import type { ManagementDeps } from '../services/management-deps.js';

export interface HandlerArgs<B, Q> {
  request: FastifyRequest;
  reply: FastifyReply;
  operator: Operator;
  body: B;
  query: Q;
  params: Record<string, string>;
}

export interface RouteSpec<B = unknown, Q = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  role: Role | 'public';
  summary: string;
  tag: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  status?: number;
  /** Streams its own response (Server-Sent Events). */
  raw?: boolean;
  handler(args: HandlerArgs<B, Q>): Promise<unknown>;
}

export const route = <B = undefined, Q = undefined>(spec: RouteSpec<B, Q>): RouteSpec =>
  spec as unknown as RouteSpec;

export function registerRoutes(app: FastifyInstance, deps: ManagementDeps, routes: RouteSpec[]): void {
  for (const spec of routes) {
    app.route({
      method: spec.method,
      url: spec.url.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (request, reply) => {
        let operator: Operator = { userId: 'anonymous', email: '', role: 'viewer', tokenId: '' };
        if (spec.role !== 'public') {
          // EventSource cannot send headers: the stream also takes the token as ?access_token=.
          const fromQuery = spec.raw
            ? (request.query as Record<string, string> | undefined)?.['access_token']
            : undefined;
          operator = await authenticateOperator(
            deps,
            request.headers.authorization ?? (fromQuery ? `Bearer ${fromQuery}` : undefined),
          );
          requireRole(operator, spec.role);
        }
        const body = spec.body ? parse(spec.body, request.body, 'body') : undefined;
        const query = spec.query ? parse(spec.query, request.query ?? {}, 'query') : undefined;
        const result = await spec.handler({
          request,
          reply,
          operator,
          body,
          query,
          params: request.params as Record<string, string>,
        });
        if (spec.raw) return reply;
        if (result === undefined) throw new AppError('internal_error');
        // A handler may have chosen the status itself (readiness answers 503).
        return reply.status(reply.statusCode !== 200 ? reply.statusCode : (spec.status ?? 200)).send(result);
      },
    });
  }
}
