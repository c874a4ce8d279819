import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './logger.js';
import { ADMIN, startTestPlatform } from './testing/platform.js';

describe('log redaction', () => {
  it('removes credential query parameters from URLs', () => {
    expect(redactUrl('/api/admin/stream?access_token=eyJ.abc.def&x=1')).toBe(
      '/api/admin/stream?access_token=[redacted]&x=1',
    );
    expect(redactUrl('/a?Token=1&ticket=2&password=3&ok=4')).toBe(
      '/a?Token=[redacted]&ticket=[redacted]&password=[redacted]&ok=4',
    );
    expect(redactUrl('/plain')).toBe('/plain');
  });

  it('never writes an operator token, password or bearer header into the server log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    // Request lines are off by default; turned on here so the test sees what they would carry.
    const p = (await startTestPlatform(
      'sqlite',
      { KOPITRA_LOG_REQUESTS: 'true' },
      createLogger('debug', 'kopitra', sink),
    ))!;
    try {
      const login = await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
      const token = login.json().token as string;
      await p.platform.app.inject({
        method: 'GET',
        url: `/api/admin/accounts?access_token=${encodeURIComponent(token)}`,
      });
      await p.platform.app.inject({
        method: 'GET',
        url: '/api/admin/accounts',
        headers: { authorization: `Bearer ${token}` },
      });
      const log = lines.join('');
      expect(log).toContain('access_token=[redacted]');
      expect(log).not.toContain(token);
      expect(log).not.toContain(token.split('.')[2]!);
      expect(log).not.toContain(ADMIN.password);
    } finally {
      await p.close();
    }
  });
});
