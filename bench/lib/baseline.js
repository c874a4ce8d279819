/** The same-run baseline: a bare Fastify app with one small JSON route, no plugins, no logger. */
import fastify from 'fastify';

export async function startBareApp() {
  const app = fastify({ logger: false });
  app.get('/ping', async () => ({ ok: true, service: 'bench-baseline' }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url, close: () => app.close() };
}
