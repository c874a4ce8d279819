import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { serveConsole } from './console.js';
import { installErrorHandling } from './http/errors.js';
import { installSecurityHeaders } from './http/security-headers.js';
import { tempDir } from './testing/databases.js';

describe('serving the console', () => {
  const apps: Array<ReturnType<typeof Fastify>> = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function appWithConsole() {
    const dir = tempDir('kopitra-console-');
    fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
    fs.mkdirSync(path.join(dir, 'assets'));
    fs.writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(dir, 'assets', 'app.js.map'), '{"version":3}');
    const app = Fastify();
    apps.push(app);
    // The error handling owns the one not-found handler; the console must coexist with it.
    installErrorHandling(app);
    await installSecurityHeaders(app);
    app.get('/api/health', async () => ({ status: 'ok' }));
    await serveConsole(app, dir);
    await app.ready();
    return app;
  }

  it('serves index.html for the root and for client-side routes', async () => {
    const app = await appWithConsole();
    for (const url of ['/', '/sessions', '/groups/grp_1?tab=followers']) {
      const res = await app.inject({ method: 'GET', url });
      expect([url, res.statusCode, res.headers['content-type']]).toEqual([
        url,
        200,
        expect.stringContaining('text/html'),
      ]);
      expect(res.body).toContain('id="root"');
    }
    expect((await app.inject({ method: 'GET', url: '/assets/app.js' })).body).toBe('console.log(1)');
    expect((await app.inject({ method: 'GET', url: '/api/health' })).json()).toEqual({ status: 'ok' });
  });

  it('answers unknown API routes, missing assets and other methods with the coded 404', async () => {
    const app = await appWithConsole();
    for (const [method, url] of [
      ['GET', '/api/nope'],
      ['GET', '/trade-agent/v1/nope'],
      ['GET', '/assets/missing.js'],
      ['POST', '/sessions'],
    ] as const) {
      const res = await app.inject({ method, url });
      expect([method, url, res.statusCode, res.json().error]).toEqual([method, url, 404, 'route_not_found']);
    }
  });

  it('sends a CSP, frame-ancestors, nosniff and referrer policy with the console and the API', async () => {
    const app = await appWithConsole();
    for (const url of ['/', '/sessions', '/assets/app.js', '/api/health', '/api/nope']) {
      const h = (await app.inject({ method: 'GET', url })).headers;
      expect(String(h['content-security-policy']), url).toContain("default-src 'self'");
      expect(String(h['content-security-policy']), url).toContain("script-src 'self'");
      expect(String(h['content-security-policy']), url).toContain("frame-ancestors 'none'");
      expect(String(h['content-security-policy']), url).not.toContain('unsafe-inline');
      expect(h['x-content-type-options'], url).toBe('nosniff');
      expect(h['referrer-policy'], url).toBe('no-referrer');
      expect(h['x-frame-options'], url).toBe('SAMEORIGIN');
    }
  });

  it('serves no source map even when one is in the build directory', async () => {
    const app = await appWithConsole();
    const res = await app.inject({ method: 'GET', url: '/assets/app.js.map' });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain('"version"');
  });

  it('builds the production console without source maps', () => {
    const config = fs.readFileSync(path.resolve(import.meta.dirname, '../../console/vite.config.ts'), 'utf8');
    expect(config).toMatch(/sourcemap:\s*false/);
  });
});
