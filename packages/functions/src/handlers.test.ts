import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@kopitra/server';
import { startTestPlatform, ADMIN, type TestPlatform } from '../../server/src/testing/platform.js';
import { tempDir } from '../../server/src/testing/databases.js';
import { httpHandler, platformFor, resetPlatform, tradeAgentEventsHandler } from './handlers.js';

const context = () =>
  new InvocationContext({
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    functionName: 'api',
    logHandler: () => undefined,
  });
const request = (method: string, path: string, body?: unknown, token?: string) =>
  new HttpRequest({
    method,
    url: `http://localhost${path}`,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body ? { body: { string: JSON.stringify(body) } } : {}),
  });

describe('Azure Functions entry', () => {
  let node: TestPlatform;
  afterAll(async () => {
    await resetPlatform();
    await node?.close();
  });

  it('answers login and lists like the Node server', async () => {
    node = (await startTestPlatform('sqlite'))!;
    await platformFor(
      loadConfig({
        KOPITRA_DATA_DIR: tempDir(),
        KOPITRA_ADMIN_EMAIL: ADMIN.email,
        KOPITRA_ADMIN_PASSWORD: ADMIN.password,
        KOPITRA_LOG_LEVEL: 'silent',
      }),
    );

    const fnLogin = await httpHandler(request('POST', '/api/auth/login', ADMIN), context());
    const nodeLogin = await node.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: ADMIN,
    });
    expect(fnLogin.status).toBe(nodeLogin.statusCode);
    const fnBody = JSON.parse(String(fnLogin.body));
    expect(Object.keys(fnBody).sort()).toEqual(Object.keys(nodeLogin.json()).sort());
    expect(fnBody.user.email).toBe(ADMIN.email);

    const created = await httpHandler(
      request('POST', '/api/admin/accounts', { accountId: 'FN-1', platform: 'MT5' }, fnBody.token),
      context(),
    );
    expect(created.status).toBe(201);
    const fnList = await httpHandler(
      request('GET', '/api/admin/accounts?limit=10', undefined, fnBody.token),
      context(),
    );
    expect(fnList.status).toBe(200);
    expect(JSON.parse(String(fnList.body)).items.map((a: any) => a.accountId)).toEqual(['FN-1']);

    const nodeToken = nodeLogin.json().token;
    await node.platform.app.inject({
      method: 'POST',
      url: '/api/admin/accounts',
      headers: { authorization: `Bearer ${nodeToken}` },
      payload: { accountId: 'FN-1', platform: 'MT5' },
    });
    const nodeList = await node.platform.app.inject({
      method: 'GET',
      url: '/api/admin/accounts?limit=10',
      headers: { authorization: `Bearer ${nodeToken}` },
    });
    expect(Object.keys(JSON.parse(String(fnList.body)).items[0]).sort()).toEqual(
      Object.keys(nodeList.json().items[0]).sort(),
    );

    const denied = await httpHandler(request('GET', '/api/admin/accounts'), context());
    expect(denied.status).toBe(401);
    expect(JSON.parse(String(denied.body)).error).toBe('unauthorized');
  });

  it('records trade-agent-events from Service Bus in the audit log, once per message', async () => {
    const p = await platformFor();
    const event = {
      type: 'session.state_changed',
      accountId: 'FN-1',
      sessionId: 'ses_fn',
      from: 'pending',
      to: 'authenticated',
      reason: 'key approved',
      actor: 'ops@example.com',
      occurredAt: new Date().toISOString(),
    };
    const ctx = new InvocationContext({
      invocationId: 'inv-sb',
      functionName: 'tradeAgentEvents',
      logHandler: () => undefined,
      triggerMetadata: { messageId: 'sb-msg-1' },
    });
    await tradeAgentEventsHandler(event, ctx);
    await tradeAgentEventsHandler(JSON.stringify(event), ctx);
    const rows = await p.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', 'ses_fn')
      .execute();
    expect(rows.map((r) => r.action)).toEqual(['session.authenticated']);
  });
});
