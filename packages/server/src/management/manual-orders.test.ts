import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../testing/databases.js';
import { ADMIN, idem, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower } from '../testing/sim.js';

describe.each(dialects)('manual orders through the management API on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('queues an order to a live session with an audit row, and lists it with its outcome', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const inject = (method: 'GET' | 'POST', url: string, token: string, payload?: object, key?: string) =>
      p.platform.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
        ...(payload ? { payload } : {}),
      });
    const login = async (email: string, password: string) =>
      (
        await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
      ).json().token as string;
    const admin = await login(ADMIN.email, ADMIN.password);
    await inject('POST', '/api/admin/users', admin, {
      email: 'viewer@m.local',
      role: 'viewer',
      password: 'viewer-password-0123',
    });
    const viewer = await login('viewer@m.local', 'viewer-password-0123');
    const f = await new SimFollower(p.platform, 'MM1').connect();
    await f.drain();
    const url = `/api/admin/sessions/${f.sessionId}/orders`;
    const order = { action: 'open', symbol: 'EURUSD', side: 'buy', volume: 0.2, sl: 1.05, tp: 1.2 };

    expect((await inject('POST', url, viewer, order, idem())).json().error).toBe('role_forbidden');
    expect((await inject('POST', url, admin, order)).json().error).toBe('missing_idempotency_key');
    const bad = await inject('POST', url, admin, { ...order, volume: -1 }, idem());
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_request']);
    expect(
      (await inject('POST', '/api/admin/sessions/ses_missing/orders', admin, order, idem())).json().error,
    ).toBe('session_not_found');
    expect((await inject('GET', '/api/admin/manual-orders', admin)).json().items).toEqual([]);

    const key = idem();
    const ok = await inject('POST', url, admin, order, key);
    expect(ok.statusCode).toBe(202);
    const { commandId } = ok.json();
    expect(ok.json()).toMatchObject({ sessionId: f.sessionId, accountId: 'MM1' });
    // The same key answers the same, and queues nothing more.
    expect((await inject('POST', url, admin, order, key)).json()).toEqual(ok.json());

    const listed = async () =>
      (await inject('GET', '/api/admin/manual-orders?accountId=MM1', viewer)).json().items;
    expect(await listed()).toEqual([
      expect.objectContaining({
        commandId,
        accountId: 'MM1',
        sessionId: f.sessionId,
        requestedBy: ADMIN.email,
        action: 'open',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.2,
        sl: 1.05,
        tp: 1.2,
        status: 'queued',
        ticket: null,
      }),
    ]);
    await f.step();
    expect((await listed())[0]).toMatchObject({ status: 'acknowledged' });
    await f.inbox([
      {
        eventType: 'ea.execution_notice',
        payload: {
          commandId,
          action: 'open',
          status: 'filled',
          ticket: '7001',
          message: 'opened ticket 7001',
        },
      },
    ]);
    expect((await listed())[0]).toMatchObject({
      status: 'filled',
      ticket: '7001',
      message: 'opened ticket 7001',
    });
    expect((await inject('GET', '/api/admin/manual-orders?accountId=OTHER', admin)).json().items).toEqual([]);

    const audit = (await inject('GET', `/api/admin/audit?targetId=${f.sessionId}`, admin)).json().items;
    expect(audit.filter((e: { action: string }) => e.action === 'order.manual')).toEqual([
      expect.objectContaining({ actor: ADMIN.email }),
    ]);
  });
});
