import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, readTopic, startPlatform, TASK_EVENTS, type Platform } from '@kopitra/server';
import { startTestPlatform, ADMIN, terminal, type TestPlatform } from '../../server/src/testing/platform.js';
import { tempDir } from '../../server/src/testing/databases.js';
import {
  busConsumers,
  busTrigger,
  httpHandler,
  periodicHandler,
  platformFor,
  resetPlatform,
} from './handlers.js';

const context = (functionName = 'api', triggerMetadata?: Record<string, unknown>) =>
  new InvocationContext({
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    functionName,
    logHandler: () => undefined,
    ...(triggerMetadata ? { triggerMetadata } : {}),
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
const json = (res: { body?: unknown }) => JSON.parse(String(res.body)) as any;

/** Invokes the Service Bus trigger registered for `name` as the host would for a message the bus relayed. */
async function deliver(
  name: (typeof busConsumers)[number]['name'],
  message: { messageId: string; body: unknown },
) {
  const consumer = busConsumers.find((c) => c.name === name)!;
  await busTrigger(
    consumer.topic,
    consumer.handler,
    consumer.subscription,
  )(
    message.body,
    context(name, {
      messageId: message.messageId,
      deliveryCount: 1,
      enqueuedTimeUtc: new Date().toISOString(),
      applicationProperties: {},
    }),
  );
}

describe('Azure Functions entry', () => {
  const dataDir = tempDir();
  let node: TestPlatform;
  /** A gateway process on the same database, as on Azure (App Service next to Functions). */
  let gateway: Platform;
  let token: string;

  beforeAll(async () => {
    const env = {
      KOPITRA_DATA_DIR: dataDir,
      KOPITRA_ADMIN_EMAIL: ADMIN.email,
      KOPITRA_ADMIN_PASSWORD: ADMIN.password,
      KOPITRA_LOG_LEVEL: 'silent',
    };
    await platformFor(loadConfig(env));
    gateway = await startPlatform(loadConfig(env), {
      listen: false,
      sweeper: false,
      consumers: false,
      serve: { gateway: true, management: false },
      consoleDir: null,
      logger: pino({ level: 'silent' }),
    });
    token = json(await httpHandler(request('POST', '/api/auth/login', ADMIN), context())).token;
  });

  afterAll(async () => {
    await gateway?.stop();
    await resetPlatform();
    await node?.close();
  });

  it('answers login and lists like the Node server', async () => {
    node = (await startTestPlatform('sqlite'))!;
    const fnLogin = await httpHandler(request('POST', '/api/auth/login', ADMIN), context());
    const nodeLogin = await node.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: ADMIN,
    });
    expect(fnLogin.status).toBe(nodeLogin.statusCode);
    expect(Object.keys(json(fnLogin)).sort()).toEqual(Object.keys(nodeLogin.json()).sort());
    expect(json(fnLogin).user.email).toBe(ADMIN.email);

    const created = await httpHandler(
      request('POST', '/api/admin/accounts', { accountId: 'FN-1', platform: 'MT5' }, token),
      context(),
    );
    expect(created.status).toBe(201);
    const fnList = await httpHandler(
      request('GET', '/api/admin/accounts?limit=10', undefined, token),
      context(),
    );
    expect(fnList.status).toBe(200);
    expect(json(fnList).items.map((a: any) => a.accountId)).toEqual(['FN-1']);

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
    expect(Object.keys(json(fnList).items[0]).sort()).toEqual(Object.keys(nodeList.json().items[0]).sort());

    const denied = await httpHandler(request('GET', '/api/admin/accounts'), context());
    expect(denied.status).toBe(401);
    expect(json(denied).error).toBe('unauthorized');
  });

  it("records the gateway's trade-agent-events in the audit log through the Service Bus trigger, once per message", async () => {
    const fn = await platformFor();
    const t = terminal(gateway, 'FN-TERM-1');
    expect((await t.create()).statusCode).toBe(201);
    const published = await readTopic(gateway.database.db, 'trade-agent-events');
    const mine = published.filter((m) => (m.body as { accountId?: string }).accountId === 'FN-TERM-1');
    expect(mine.length).toBeGreaterThan(0);
    for (const m of mine) {
      await deliver('tradeAgentEventsAudit', m);
      await deliver('tradeAgentEventsAudit', m); // Service Bus delivers at least once
      await deliver('tradeAgentEventsWebhooks', m);
    }
    const rows = await fn.database.db
      .selectFrom('audit_log')
      .select(['action', 'target_id'])
      .where('target_id', '=', t.sessionId!)
      .execute();
    expect(rows.map((r) => r.action)).toEqual(['session.pending']);
  });

  it('runs a task queued through the HTTP trigger on the timer trigger, as a claimed job: running → progress → completed', async () => {
    const fn = await platformFor();
    const hour = 3_600_000;
    const started = await httpHandler(
      request(
        'POST',
        '/api/admin/tasks/export-audit/run',
        {
          params: {
            from: new Date(Date.now() - hour).toISOString(),
            to: new Date(Date.now() + hour).toISOString(),
          },
        },
        token,
      ),
      context(),
    );
    expect(started.status).toBeLessThan(300);
    const { runId, status } = json(started);
    expect(status).toBe('queued');

    // The run's job, enqueued with the run; the timer trigger's worker pass claims and runs it.
    const timer = { isPastDue: false } as Timer;
    await periodicHandler(timer, context('periodic'));

    const run = json(
      await httpHandler(request('GET', `/api/admin/task-runs/${runId}`, undefined, token), context()),
    );
    expect(run).toMatchObject({ runId, status: 'completed', progress: 1 });
    expect(run.result.count).toBeGreaterThan(0);

    const events = async () =>
      (await readTopic(fn.database.db, TASK_EVENTS))
        .map((m) => m.body as { runId: string; status: string; progress: number })
        .filter((e) => e.runId === runId);
    const seen = await events();
    expect(seen[0]).toMatchObject({ status: 'running', progress: 0 });
    expect(seen.some((e) => e.status === 'running' && e.progress > 0 && e.progress < 1)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ status: 'completed', progress: 1 });
    expect(seen.map((e) => e.status).filter((s, i, all) => s !== all[i - 1])).toEqual([
      'running',
      'completed',
    ]);

    // The job is done: the next pass does not run the task again.
    await periodicHandler(timer, context('periodic'));
    expect((await events()).length).toBe(seen.length);
    const jobs = await fn.database.db.selectFrom('jobs').selectAll().where('kind', '=', 'task.run').execute();
    expect(jobs).toEqual([expect.objectContaining({ state: 'done', attempts: 1 })]);
  });
});
