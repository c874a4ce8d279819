import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../testing/databases.js';
import { ADMIN, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { assertStrongPassword } from './password-strength.js';

describe('password strength', () => {
  it('refuses guessable passwords of any length, with feedback a person can act on', () => {
    for (const weak of ['password1234', 'aaaaaaaaaaaaaaaa', 'qwertyuiop123', '123456789012'])
      expect(() => assertStrongPassword(weak), weak).toThrow(
        expect.objectContaining({
          code: 'password_too_weak',
          details: expect.objectContaining({
            feedback: expect.objectContaining({ suggestions: expect.any(Array) }),
          }),
        }),
      );
  });

  it('refuses short passwords however random', () => {
    expect(() => assertStrongPassword('x7#Qp!2z')).toThrow(
      expect.objectContaining({
        code: 'password_too_weak',
        message: expect.stringContaining('12 characters'),
      }),
    );
  });

  it("counts the operator's own e-mail and name against the password", () => {
    expect(() => assertStrongPassword('quokkazanzibar')).not.toThrow();
    expect(() => assertStrongPassword('quokkazanzibar', ['zanzibar.quokka@example.com'])).toThrow(
      expect.objectContaining({ code: 'password_too_weak' }),
    );
  });

  it('accepts a long passphrase', () => {
    expect(() => assertStrongPassword('quartz-lantern-orbit-91')).not.toThrow();
  });
});

describe.each(dialects)('password rule on the API on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('refuses a weak password on create, change and own change, storing nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token;
    const headers = { authorization: `Bearer ${token}` };
    const users = () =>
      p.platform.database.db.selectFrom('users').select(['email', 'password_hash']).execute();
    const before = await users();
    const create = await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers,
      payload: { email: 'weak@test.local', role: 'viewer', password: 'password1234' },
    });
    expect(create.statusCode).toBe(400);
    expect(create.json()).toMatchObject({
      error: 'password_too_weak',
      feedback: { warning: expect.stringContaining('commonly used') },
    });
    const me = (await p.platform.app.inject({ method: 'GET', url: '/api/auth/me', headers })).json();
    const patch = await p.platform.app.inject({
      method: 'PATCH',
      url: `/api/admin/users/${me.userId}`,
      headers,
      payload: { password: 'password1234' },
    });
    expect(patch.json().error).toBe('password_too_weak');
    const own = await p.platform.app.inject({
      method: 'POST',
      url: '/api/auth/password',
      headers,
      payload: { currentPassword: ADMIN.password, newPassword: 'password1234' },
    });
    expect(own.json().error).toBe('password_too_weak');
    expect(await users()).toEqual(before);
    const strong = await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers,
      payload: { email: 'strong@test.local', role: 'viewer', password: 'quartz-lantern-orbit-91' },
    });
    expect(strong.statusCode).toBe(201);
  });
});
