import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../testing/databases.js';
import { ADMIN, startTestPlatform, type TestPlatform } from '../testing/platform.js';

describe.each(dialects)('operator directory (admin) on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('invites with a one-time password, resets it once, and refuses non-admins', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, token?: string, payload?: object) =>
      p.platform.app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(payload ? { payload } : {}),
      });
    const login = async (email: string, password: string) =>
      (await call('POST', '/api/auth/login', undefined, { email, password })).json().token as string;
    const admin = await login(ADMIN.email, ADMIN.password);

    const invited = await call('POST', '/api/admin/users', admin, { email: 'Ops@T.local', role: 'operator' });
    expect(invited.statusCode).toBe(201);
    const { userId, oneTimePassword } = invited.json();
    expect(invited.json()).toMatchObject({ email: 'ops@t.local', role: 'operator', status: 'active' });
    expect(oneTimePassword).toMatch(/^[A-Za-z0-9]{16}$/);
    const ops = await login('ops@t.local', oneTimePassword);
    expect(ops).toBeTruthy();
    // A password the admin chose is not echoed back.
    const chosen = await call('POST', '/api/admin/users', admin, {
      email: 'viewer@t.local',
      role: 'viewer',
      password: 'viewer-password-0123',
    });
    expect(chosen.json().oneTimePassword).toBeUndefined();
    // The directory never carries a password or its hash.
    const list = await call('GET', '/api/admin/users', admin);
    expect(JSON.stringify(list.json())).not.toMatch(/password/i);

    // Operators and viewers are refused the directory and its changes; nothing changes.
    for (const token of [ops, await login('viewer@t.local', 'viewer-password-0123')]) {
      expect((await call('GET', '/api/admin/users', token)).statusCode).toBe(403);
      const refused = await call('POST', `/api/admin/users/${userId}/reset-password`, token);
      expect([refused.statusCode, refused.json().error]).toEqual([403, 'role_forbidden']);
    }

    const reset = await call('POST', `/api/admin/users/${userId}/reset-password`, admin);
    expect(reset.statusCode).toBe(200);
    expect(reset.json()).toMatchObject({ userId, email: 'ops@t.local' });
    const fresh = reset.json().oneTimePassword as string;
    expect(fresh).not.toBe(oneTimePassword);
    // The old token and the old password no longer work; the new one does.
    expect((await call('GET', '/api/auth/me', ops)).json().error).toBe('token_revoked');
    expect(
      (await call('POST', '/api/auth/login', undefined, { email: 'ops@t.local', password: oneTimePassword }))
        .statusCode,
    ).toBe(401);
    expect(await login('ops@t.local', fresh)).toBeTruthy();
    // The admin's own reset keeps the admin's token.
    const adminId = (await call('GET', '/api/auth/me', admin)).json().userId;
    expect((await call('POST', `/api/admin/users/${adminId}/reset-password`, admin)).statusCode).toBe(200);
    expect((await call('GET', '/api/auth/me', admin)).statusCode).toBe(200);
    expect((await call('POST', '/api/admin/users/usr_missing/reset-password', admin)).json().error).toBe(
      'user_not_found',
    );

    const audit = (await call('GET', `/api/admin/audit?targetId=${userId}`, admin)).json().items as Array<{
      action: string;
      actor: string;
    }>;
    expect(audit.map((e) => e.action).sort()).toEqual([
      'auth.login',
      'auth.login',
      'user.create',
      'user.password_reset',
    ]);
    expect(JSON.stringify(audit)).not.toContain(fresh);
  });
});
