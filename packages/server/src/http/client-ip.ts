import type { FastifyRequest } from 'fastify';

/** The caller's address; 'unknown' for in-process WebSocket injection, which has no socket. */
export function clientIpOf(request: FastifyRequest): string {
  try {
    return request.ip ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
