import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, eventually, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimMaster } from '../testing/sim.js';
import { openSecret, sealSecret } from './webhooks.js';

describe('webhook secrets', () => {
  it('seals and opens secrets', () => {
    const key = new Uint8Array(32).fill(7);
    expect(openSecret(key, sealSecret(key, 'whsec_abc'))).toBe('whsec_abc');
    expect(() => openSecret(new Uint8Array(32).fill(8), sealSecret(key, 'whsec_abc'))).toThrow();
  });
});

describe.each(dialects)('outgoing webhooks on %s', (dialect) => {
  let tp: TestPlatform | null;
  let receiver: http.Server;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let failNext = 1;
  beforeEach(async () => {
    // Deliveries here go to a loopback listener: only this explicit allowance lets them.
    tp = await startTestPlatform(dialect, { KOPITRA_WEBHOOK_ALLOW_PRIVATE: '127.0.0.0/8' });
    received.length = 0;
    failNext = 1;
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.statusCode = failNext-- > 0 ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  });
  afterEach(async () => {
    await tp?.close();
    await new Promise((r) => receiver.close(r));
  });

  it('delivers signed events, retries a failure after its back-off, and logs every attempt', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token;
    const auth = { authorization: `Bearer ${token}` };
    const bad = await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: auth,
      payload: { url: 'ftp://example.com', eventTypes: ['signal.accepted'] },
    });
    expect(bad.statusCode).toBe(400);
    const created = await p.platform.app.inject({
      method: 'POST',
      url: '/api/admin/webhooks',
      headers: auth,
      payload: {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        eventTypes: ['signal.accepted'],
      },
    });
    expect(created.statusCode).toBe(201);
    const { webhookId, secret } = created.json();
    expect(secret).toMatch(/^whsec_/);

    const master = await new SimMaster(p.platform, 'WM').connect();
    await insertGroup(p.platform.database.db, { name: 'g', masterAccountId: 'WM' }, p.clock.now());
    await master.signal({
      type: 'position.opened',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
    });
    await eventually(
      async () =>
        (await p.platform.database.db.selectFrom('webhook_deliveries').selectAll().execute()).length === 1,
    );

    // The delivery's job wakes the worker; the first attempt fails and is logged.
    await eventually(async () => received.length === 1);
    const deliveries = () => p.platform.database.db.selectFrom('webhook_deliveries').selectAll().execute();
    const job = () =>
      p.platform.database.db
        .selectFrom('jobs')
        .selectAll()
        .where('kind', '=', 'webhook.deliver')
        .executeTakeFirst();
    await eventually(async () => (await job())?.state === 'queued');
    expect(await job()).toMatchObject({
      attempts: 1,
      run_at: p.clock.now() + 5_000,
      last_error: expect.stringContaining('HTTP 500'),
    });
    expect((await deliveries())[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
      last_status: 500,
      last_error: 'HTTP 500',
    });
    // The retry waits for its back-off.
    p.clock.advance(5_000);
    await eventually(async () => (await deliveries())[0]?.status === 'delivered');
    expect(received).toHaveLength(2);
    const last = received[1]!;
    const [tPart, vPart] = String(last.headers['x-kopitra-signature']).split(',');
    const ts = tPart!.slice(2);
    expect(vPart).toBe(`v1=${createHmac('sha256', secret).update(`${ts}.${last.body}`).digest('hex')}`);
    expect(JSON.parse(last.body)).toMatchObject({ type: 'signal.accepted', masterAccountId: 'WM' });
    expect(last.headers['x-kopitra-event']).toBe('signal.accepted');

    const log = await p.platform.app.inject({
      method: 'GET',
      url: `/api/admin/webhooks/${webhookId}/deliveries`,
      headers: auth,
    });
    expect(log.json().items).toEqual([
      expect.objectContaining({ status: 'delivered', attempts: 2, lastStatus: 204, nextAttemptAt: null }),
    ]);
  });

  it('disables, enables and deletes webhooks with audit rows; the delivery log is for admins only', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const call = (
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      url: string,
      token: string,
      payload?: object,
    ) =>
      p.platform.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(payload ? { payload } : {}),
      });
    const admin = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token as string;
    await call('POST', '/api/admin/users', admin, {
      email: 'op@w.local',
      role: 'operator',
      password: 'operator-password-0123',
    });
    const operator = (
      await p.platform.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: 'op@w.local', password: 'operator-password-0123' },
      })
    ).json().token as string;
    const { webhookId, secret } = (
      await call('POST', '/api/admin/webhooks', admin, {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
        eventTypes: ['signal.accepted'],
      })
    ).json();

    // The secret is answered once: never in the list, nor in the audit log.
    const list = await call('GET', '/api/admin/webhooks', operator);
    expect(list.json().items).toEqual([expect.objectContaining({ webhookId, status: 'active' })]);
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toContain('secret');

    // Delivery details: admins only, enforced by the API.
    const refused = await call('GET', `/api/admin/webhooks/${webhookId}/deliveries`, operator);
    expect([refused.statusCode, refused.json().error]).toEqual([403, 'role_forbidden']);
    expect(
      (await call('PATCH', `/api/admin/webhooks/${webhookId}`, operator, { status: 'disabled' })).statusCode,
    ).toBe(403);
    expect((await call('GET', '/api/admin/webhooks/whk_missing/deliveries', admin)).json().error).toBe(
      'not_found',
    );
    expect(
      (await call('PATCH', `/api/admin/webhooks/${webhookId}`, admin, { status: 'paused' })).statusCode,
    ).toBe(400);

    const disabled = await call('PATCH', `/api/admin/webhooks/${webhookId}`, admin, { status: 'disabled' });
    expect(disabled.json()).toMatchObject({ webhookId, status: 'disabled' });
    // A disabled webhook gets no deliveries.
    const master = await new SimMaster(p.platform, 'WD').connect();
    await insertGroup(p.platform.database.db, { name: 'g', masterAccountId: 'WD' }, p.clock.now());
    const open = (id: string) =>
      master.signal({
        type: 'position.opened',
        masterPositionId: id,
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        price: 1.1,
      });
    await open('1');
    const audited = async (action: string) =>
      (await call('GET', `/api/admin/audit?targetId=${webhookId}`, admin))
        .json()
        .items.some((e: { action: string }) => e.action === action);
    // The webhook consumer has read every event so far: a delivery would exist by now.
    const fanoutCaughtUp = async () => {
      const db = p.platform.database.db;
      const last = await db
        .selectFrom('bus_messages')
        .select((eb) => eb.fn.max('position').as('m'))
        .where('topic', '=', 'trade-agent-events')
        .executeTakeFirst();
      const sub = await db
        .selectFrom('bus_subscriptions')
        .select('last_position')
        .where('subscription', '=', 'management-webhooks')
        .executeTakeFirst();
      return last?.m != null && sub !== undefined && Number(sub.last_position) >= Number(last.m);
    };
    await eventually(fanoutCaughtUp);
    expect(
      await call('GET', `/api/admin/webhooks/${webhookId}/deliveries`, admin).then((r) => r.json().items),
    ).toEqual([]);

    expect(
      (await call('PATCH', `/api/admin/webhooks/${webhookId}`, admin, { status: 'active' })).json().status,
    ).toBe('active');
    await open('2');
    await eventually(
      async () =>
        (await call('GET', `/api/admin/webhooks/${webhookId}/deliveries`, admin)).json().items.length === 1,
    );
    expect(await audited('webhook.disable')).toBe(true);
    expect(await audited('webhook.enable')).toBe(true);

    expect((await call('DELETE', `/api/admin/webhooks/${webhookId}`, operator)).statusCode).toBe(403);
    expect((await call('DELETE', `/api/admin/webhooks/${webhookId}`, admin)).json()).toEqual({
      deleted: true,
    });
    expect((await call('DELETE', `/api/admin/webhooks/${webhookId}`, admin)).json().error).toBe('not_found');
    expect(await audited('webhook.delete')).toBe(true);
  });
});

describe.each(dialects)('webhook targets on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('refuses private, loopback, link-local and metadata targets by default, storing nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token;
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://localhost:8080/',
      'http://[::1]/',
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f.0.0.1/',
      'http://10.0.0.1/',
      'http://100.64.0.1/',
      'http://192.168.1.1/',
      'http://[::ffff:127.0.0.1]/',
      'http://[fe80::1]/',
      'http://metadata.google.internal/computeMetadata/v1/',
    ]) {
      const res = await p.platform.app.inject({
        method: 'POST',
        url: '/api/admin/webhooks',
        headers: { authorization: `Bearer ${token}` },
        payload: { url, eventTypes: ['signal.accepted'] },
      });
      expect({ url, status: res.statusCode, error: res.json().error }).toEqual({
        url,
        status: 400,
        error: 'webhook_target_forbidden',
      });
    }
    expect(await p.platform.database.db.selectFrom('webhooks').selectAll().execute()).toEqual([]);
  });
});
