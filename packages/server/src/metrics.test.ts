import { describe, expect, it } from 'vitest';
import { startTestPlatform } from './testing/platform.js';

describe('/metrics protection', () => {
  it('serves /metrics to loopback callers only when no metrics token is configured', async () => {
    const p = (await startTestPlatform('sqlite'))!;
    try {
      const local = await p.platform.app.inject({ method: 'GET', url: '/metrics' });
      expect(local.statusCode).toBe(200);
      const remote = await p.platform.app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '203.0.113.9',
      });
      expect([remote.statusCode, remote.json().error]).toEqual([401, 'unauthorized']);
    } finally {
      await p.close();
    }
  });

  it('requires the configured metrics token from every caller', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const p = (await startTestPlatform('sqlite', { KOPITRA_METRICS_TOKEN: token }))!;
    try {
      const get = (authorization?: string) =>
        p.platform.app.inject({
          method: 'GET',
          url: '/metrics',
          remoteAddress: '203.0.113.9',
          headers: authorization ? { authorization } : {},
        });
      expect((await get()).statusCode).toBe(401);
      expect((await get('Bearer wrong-token-0123456789abcd')).statusCode).toBe(401);
      const ok = await get(`Bearer ${token}`);
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('kopitra_');
    } finally {
      await p.close();
    }
  });
});
