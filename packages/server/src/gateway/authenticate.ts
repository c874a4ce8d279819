/** The EA's session, from its account header and bearer token. */
import type { FastifyRequest } from 'fastify';
import { accountOf } from '../http/ea-headers.js';
import { clientIpOf } from '../http/client-ip.js';
import type { GatewayDeps } from '../services/deps.js';
import { authenticate, type SessionContext } from '../services/sessions.js';

export function authenticateRequest(
  deps: GatewayDeps,
  request: FastifyRequest,
  allowEnded: boolean,
): Promise<SessionContext> {
  return authenticate(deps, {
    accountId: accountOf(request),
    authorization: request.headers.authorization,
    clientIp: clientIpOf(request),
    allowEnded,
  });
}
