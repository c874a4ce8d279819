/**
 * `POST /api/signals/{accountId}`: external signals for a virtual master, on the gateway
 * (signal intake is its job). The scope keeps the raw body, which an HMAC signature covers.
 */
import type { FastifyInstance } from 'fastify';
import { clientIpOf } from '../http/client-ip.js';
import { installJsonParser, rawBodyOf } from '../http/errors.js';
import type { GatewayDeps } from '../services/deps.js';
import { acceptExternalSignal } from '../services/copy/external-signals.js';

export async function externalSignalRoutes(app: FastifyInstance, opts: { deps: GatewayDeps }): Promise<void> {
  installJsonParser(app, true);
  app.post<{ Params: { accountId: string } }>('/api/signals/:accountId', async (request, reply) => {
    const signature = request.headers['x-kopitra-signature'];
    const result = await acceptExternalSignal(opts.deps, {
      accountId: request.params.accountId,
      authorization: request.headers.authorization,
      signature: typeof signature === 'string' ? signature : undefined,
      rawBody: rawBodyOf(request),
      body: request.body,
      clientIp: clientIpOf(request),
    });
    return reply.status(result.statusCode).send(result.body);
  });
}
