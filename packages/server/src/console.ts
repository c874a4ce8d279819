/**
 * Serves the ops console (packages/console/dist) at `/`, with the single-page app's
 * index.html for any other GET that is not an API route.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { AppError } from '@kopitra/contracts';

export const defaultConsoleDir = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

export async function serveConsole(app: FastifyInstance, dir: string): Promise<void> {
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'console not built; run npm run build to serve it');
    return;
  }
  await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: ['index.html'] });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0] ?? '/';
    if (request.method !== 'GET' || url.startsWith('/api/') || url.startsWith('/trade-agent/')) {
      return reply.status(404).send(new AppError('route_not_found', `No route for ${request.method} ${url}.`).toBody(request.id));
    }
    return reply.type('text/html').sendFile('index.html');
  });
}
