import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../testing/databases.js';
import { ADMIN, BASE, idem, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import { SimFollower } from '../testing/sim.js';

describe.each(dialects)('management-plane manual orders (operator tokens) on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('queues order.command for a live session with an operator credential only', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const login = async (email: string, password: string) =>
      (
        await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email, password } })
      ).json().token as string;
    const admin = await login(ADMIN.email, ADMIN.password);
    await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: { authorization: `Bearer ${admin}` },
      payload: { email: 'viewer@t.local', role: 'viewer', password: 'viewer-password-0123' },
    });
    const viewer = await login('viewer@t.local', 'viewer-password-0123');
    const OPERATOR_TOKEN = await login(ADMIN.email, ADMIN.password);
    const f = await new SimFollower(p.platform, 'MO1').connect();
    await f.drain();
    const post = (
      authorization: string | undefined,
      payload: unknown,
      sessionId = f.sessionId,
      key = idem(),
    ) =>
      p.platform.app.inject({
        method: 'POST',
        url: `${BASE}/sessions/${sessionId}/orders`,
        headers: { ...(authorization ? { authorization } : {}), 'idempotency-key': key },
        payload: payload as object,
      });
    const order = { action: 'open', symbol: 'EURUSD', side: 'buy', volume: 0.1 };

    expect((await post(undefined, order)).statusCode).toBe(401);
    expect((await post('Bearer not-a-token', order)).json().error).toBe('unauthorized');
    const asViewer = await post(`Bearer ${viewer}`, order);
    expect([asViewer.statusCode, asViewer.json().error]).toEqual([403, 'role_forbidden']);
    const ea = await post(`Bearer ${f.token}`, order);
    expect(ea.statusCode).toBe(403);
    expect(ea.json().error).toBe('role_forbidden');
    expect((await post(`Bearer ${OPERATOR_TOKEN}`, { action: 'teleport' })).statusCode).toBe(400);
    expect((await post(`Bearer ${OPERATOR_TOKEN}`, order, 'ses_missing')).json().error).toBe(
      'session_not_found',
    );

    const key = idem();
    const ok = await post(`Bearer ${OPERATOR_TOKEN}`, order, f.sessionId, key);
    expect(ok.statusCode).toBe(202);
    expect((await post(`Bearer ${OPERATOR_TOKEN}`, order, f.sessionId, key)).json()).toEqual(ok.json());
    await f.step();
    const command = f.received.find((e) => e.type === 'order.command');
    expect(command?.payload).toMatchObject({
      commandId: ok.json().commandId,
      action: 'open',
      symbol: 'EURUSD',
      volume: 0.1,
    });
    expect(f.received.filter((e) => e.type === 'order.command')).toHaveLength(1);

    const pending = terminal(p.platform, 'MO2');
    await pending.create();
    const refused = await post(`Bearer ${OPERATOR_TOKEN}`, order, pending.sessionId);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toBe('session_not_live');
  });
});
