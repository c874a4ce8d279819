/**
 * Every management route × every kind of credential. The expected status follows from the
 * route's declared role, so a new route is covered the moment it is declared.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import { managementRouteSpecs } from './app.js';
import type { RouteSpec } from './registry.js';

const rank = { viewer: 0, operator: 1, admin: 2 } as const;
type Credential = 'none' | 'expired' | 'revoked' | 'ea' | 'viewer' | 'operator' | 'admin';

describe('management authorization matrix', () => {
  let tp: TestPlatform;
  const tokens: Partial<Record<Credential, string>> = {};
  let routes: RouteSpec[];

  const login = async (email: string, password: string) => {
    const res = await tp.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email, password },
    });
    expect(res.statusCode).toBe(200);
    return res.json().token as string;
  };
  const inject = (r: RouteSpec, token: string | undefined) =>
    tp.platform.app.inject({
      method: r.method,
      url: r.url.replace(/\{(\w+)\}/g, 'x-$1'),
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} }),
    });

  beforeAll(async () => {
    tp = (await startTestPlatform('sqlite', { KOPITRA_TOKEN_TTL_SEC: '3600' }))!;
    routes = managementRouteSpecs(tp.platform.management).filter((r) => r.role !== 'public' && !r.raw);
    const admin = await login(ADMIN.email, ADMIN.password);
    for (const role of ['viewer', 'operator'] as const) {
      const res = await tp.platform.app.inject({
        method: 'POST',
        url: '/api/admin/users',
        headers: { authorization: `Bearer ${admin}` },
        payload: { email: `${role}@test.local`, role, password: `${role}-password-0123` },
      });
      expect(res.statusCode).toBe(201);
    }
    tokens.expired = await login('viewer@test.local', 'viewer-password-0123');
    tp.clock.advance(3_601_000);
    tokens.revoked = await login('operator@test.local', 'operator-password-0123');
    await tp.platform.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { authorization: `Bearer ${tokens.revoked}` },
    });
    tokens.viewer = await login('viewer@test.local', 'viewer-password-0123');
    tokens.operator = await login('operator@test.local', 'operator-password-0123');
    tokens.admin = await login(ADMIN.email, ADMIN.password);
    const ea = terminal(tp.platform, 'EA-1');
    await ea.create();
    tokens.ea = ea.token;
  });
  afterAll(async () => {
    await tp?.close();
  });

  it('covers every declared route', () => {
    expect(routes.length).toBeGreaterThan(30);
  });

  for (const credential of ['none', 'expired', 'revoked', 'ea'] as const) {
    it(`refuses ${credential} credentials on every route with a coded 401`, async () => {
      const expected = {
        none: 'unauthorized',
        expired: 'token_expired',
        revoked: 'token_revoked',
        ea: 'unauthorized',
      }[credential];
      for (const r of routes) {
        const res = await inject(r, tokens[credential]);
        expect([r.method, r.url, res.statusCode, res.json().error]).toEqual([r.method, r.url, 401, expected]);
      }
    });
  }

  for (const role of ['viewer', 'operator', 'admin'] as const) {
    it(`lets ${role} through exactly the routes its role allows`, async () => {
      for (const r of routes) {
        // Signing out would revoke the token the rest of the loop uses: use a fresh one.
        const token =
          r.url === '/api/auth/logout'
            ? await login(
                role === 'admin' ? ADMIN.email : `${role}@test.local`,
                role === 'admin' ? ADMIN.password : `${role}-password-0123`,
              )
            : tokens[role];
        const res = await inject(r, token);
        const allowed = rank[role] >= rank[r.role as keyof typeof rank];
        if (allowed)
          expect(
            res.statusCode === 401 || res.statusCode === 403 || res.statusCode >= 500,
            `${r.method} ${r.url} → ${res.statusCode} ${res.body}`,
          ).toBe(false);
        else
          expect([r.method, r.url, res.statusCode, res.json().error]).toEqual([
            r.method,
            r.url,
            403,
            'role_forbidden',
          ]);
      }
    });
  }

  it('rate-limits repeated failed logins', async () => {
    let last = 0;
    for (let i = 0; i < 12; i++)
      last = (
        await tp.platform.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { email: 'viewer@test.local', password: 'wrong-password' },
        })
      ).statusCode;
    expect(last).toBe(429);
  });
});
