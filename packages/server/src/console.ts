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

export const defaultConsoleDir = (): string =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../console/dist');

export async function serveConsole(app: FastifyInstance, dir: string): Promise<void> {
  if (!fs.existsSync(path.join(dir, 'index.html'))) {
    app.log.warn({ dir }, 'console not built; run npm run build to serve it');
    return;
  }
  // Source maps stay out of production: the build makes none, and one copied in is not served.
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    allowedPath: (pathName) => !pathName.endsWith('.map'),
  });
  // A catch-all GET route rather than a second not-found handler: the error handling already
  // owns the app's one not-found handler (Fastify refuses two on the same prefix).
  app.get('/*', async (request, reply) => {
    const url = request.url.split('?')[0] ?? '/';
    if (url.startsWith('/api/') || url.startsWith('/trade-agent/') || url.startsWith('/assets/'))
      throw new AppError('route_not_found', `No route for ${request.method} ${url}.`);
    return reply.type('text/html').header('cache-control', 'no-cache').sendFile('index.html');
  });
}
