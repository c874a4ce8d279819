import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, BASE, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { storageErrorCode } from './write-failures.js';

describe('storage errors', () => {
  it('maps full disks to storage_full and lost connections to database_unavailable', () => {
    expect(storageErrorCode({ code: 'SQLITE_FULL' })).toBe('storage_full');
    expect(storageErrorCode({ code: 'SQLITE_IOERR_WRITE' })).toBe('storage_full');
    expect(storageErrorCode({ code: '57P01' })).toBe('database_unavailable');
    expect(storageErrorCode({ code: 'ECONNREFUSED' })).toBe('database_unavailable');
    expect(storageErrorCode(new Error('Connection terminated unexpectedly'))).toBe('database_unavailable');
    expect(storageErrorCode({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBeUndefined();
    expect(storageErrorCode(new Error('boom'))).toBeUndefined();
  });
});

describe('a full disk on SQLite', () => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform('sqlite');
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('answers writes with a coded 503 and makes /health say so', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token;
    expect((await p.platform.app.inject({ method: 'GET', url: '/api/health' })).statusCode).toBe(200);
    // The database may not grow by a single page: the next write that needs one fails with SQLITE_FULL.
    const pages = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(db)).rows[0]!.page_count;
    await sql.raw(`PRAGMA max_page_count = ${pages}`).execute(db);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 200; i++) {
      last = await p.platform.app.inject({
        method: 'POST',
        url: '/api/admin/accounts',
        headers: { authorization: `Bearer ${token}` },
        payload: { accountId: `FULL-${i}`, platform: 'MT5' },
      });
      statuses.push(last.statusCode);
      if (last.statusCode !== 201) break;
    }
    expect(statuses).not.toContain(500);
    expect(last!.statusCode).toBe(503);
    expect(last!.json().error).toBe('storage_full');
    for (const url of [`${BASE}/health`, '/api/health']) {
      const health = await p.platform.app.inject({ method: 'GET', url });
      expect(health.statusCode, `${url} ${health.body}`).toBe(503);
      expect(health.json().checks.storage).toMatchObject({
        ok: false,
        error: expect.stringContaining('SQLITE_FULL'),
      });
    }
  });
});
