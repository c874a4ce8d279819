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
    tp = await startTestPlatform(dialect);
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
      expect.objectContaining({ status: 'delivered', attempts: 2, lastStatus: 204 }),
    ]);
  });
});
