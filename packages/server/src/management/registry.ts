/**
 * Management routes are declared once — method, path, role, schemas, handler — and that one
 * declaration both registers the Fastify route and generates the OpenAPI document. A route's
 * answer is the contract `managementResponses` holds under its `METHOD path`: the handler must
 * return that type, and the document describes it.
 */
import { AppError, managementResponses, type ManagementResponses, type Role } from '@kopitra/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { noBody, parse } from '../http/parse.js';
import { authenticateOperator, requireRole, type Operator } from '../services/operators.js';
import type { ManagementDeps } from '../services/management-deps.js';
import { redeemStreamTicket } from '../services/stream-access.js';

export interface HandlerArgs<B, Q> {
  request: FastifyRequest;
  reply: FastifyReply;
  operator: Operator;
  body: B;
  query: Q;
  params: Record<string, string>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The answer a route owes: its contract's type, or nothing for a route that streams its own. */
type Answer<K extends string> = K extends keyof ManagementResponses ? ManagementResponses[K] : undefined;

export interface RouteSpec<B = unknown, Q = unknown, R = unknown> {
  method: Method;
  url: string;
  role: Role | 'public';
  summary: string;
  tag: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  status?: number;
  /** Streams its own response (Server-Sent Events). */
  raw?: boolean;
  /** Also opens with `?ticket=` from `POST /api/admin/stream/ticket`, for clients that cannot send headers. */
  ticket?: boolean;
  handler(args: HandlerArgs<B, Q>): Promise<R>;
}

export const route = <B = undefined, Q = undefined, M extends Method = Method, U extends string = string>(
  spec: RouteSpec<B, Q, Answer<`${M} ${U}`>> & { method: M; url: U },
): RouteSpec => spec as unknown as RouteSpec;

/** The contract of a route's answer; undefined for a route that streams its own. */
export function responseOf(spec: RouteSpec): z.ZodType | undefined {
  const key = `${spec.method} ${spec.url}`;
  const schema = Object.hasOwn(managementResponses, key)
    ? managementResponses[key as keyof typeof managementResponses]
    : undefined;
  if (!spec.raw && !schema) throw new Error(`management route ${key} has no response contract`);
  return spec.raw ? undefined : schema;
}

export function registerRoutes(app: FastifyInstance, deps: ManagementDeps, routes: RouteSpec[]): void {
  for (const spec of routes) {
    responseOf(spec);
    app.route({
      method: spec.method,
      url: spec.url.replace(/\{(\w+)\}/g, ':$1'),
      handler: async (request, reply) => {
        let operator: Operator = { userId: 'anonymous', email: '', role: 'viewer', tokenId: '' };
        if (spec.role !== 'public') {
          // EventSource cannot send headers: a stream takes a single-use ticket (never a token) in the URL.
          operator =
            spec.ticket && request.headers.authorization === undefined
              ? await redeemStreamTicket(
                  deps,
                  (request.query as Record<string, unknown> | undefined)?.['ticket'],
                )
              : await authenticateOperator(deps, request.headers.authorization);
          requireRole(operator, spec.role);
        }
        if (!spec.body && spec.method !== 'GET') noBody(request.body);
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
