/**
 * Azure Functions handlers for the management side, calling the same code as the Node
 * server: the HTTP API through one catch-all trigger, `trade-agent-events` from Service Bus,
 * and a timer for periodic work (lease sweep, reconciliation, webhook deliveries).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import {
  dispatchDue,
  inTransaction,
  loadConfig,
  reconcileAll,
  startPlatform,
  sweepExpiredSessions,
  tradeAgentEventHandler,
  webhookFanout,
  type Config,
  type Platform,
} from '@kopitra/server';

let platform: Promise<Platform> | undefined;

/** One platform per Functions worker, created on first use and kept warm between invocations. */
export function platformFor(config: Config = loadConfig()): Promise<Platform> {
  platform ??= startPlatform(config, {
    listen: false,
    sweeper: false,
    consumers: false,
    serve: { gateway: false, management: true },
    consoleDir: null,
  });
  return platform;
}

export async function resetPlatform(): Promise<void> {
  const current = platform;
  platform = undefined;
  if (current) await (await current).stop();
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

/** The catch-all HTTP trigger: the request goes through the same Fastify app the Node server runs. */
export async function httpHandler(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const p = await platformFor();
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    if (!HOP_BY_HOP.has(key)) headers[key] = value;
  });
  headers['x-request-id'] ??= context.invocationId.replace(/[^A-Za-z0-9._:-]/g, '').slice(0, 128);
  const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text();
  const res = await p.app.inject({
    method: request.method as 'GET',
    url: `${url.pathname}${url.search}`,
    headers,
    ...(body ? { payload: body } : {}),
  });
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  return { status: res.statusCode, headers: out, body: res.body };
}

/** Service Bus trigger for `trade-agent-events`: audit, anomaly alerts and webhooks, idempotent by message id. */
export async function tradeAgentEventsHandler(message: unknown, context: InvocationContext): Promise<void> {
  const p = await platformFor();
  const messageId = String(
    (context.triggerMetadata?.['messageId'] as string | undefined) ?? context.invocationId,
  );
  const body = typeof message === 'string' ? (JSON.parse(message) as unknown) : message;
  const busMessage = { messageId, topic: 'trade-agent-events', body, publishedAt: Date.now() };
  await inTransaction(p.database.db, async ({ trx, afterCommit }) => {
    await tradeAgentEventHandler(p.management)(busMessage, { db: trx, afterCommit });
    await webhookFanout(p.management)(busMessage, { db: trx, afterCommit });
  });
}

/** Timer trigger: the periodic work the Node server runs on intervals. */
export async function periodicHandler(_timer: Timer, context: InvocationContext): Promise<void> {
  const p = await platformFor();
  const expired = await sweepExpiredSessions(p.gateway);
  const reconciled = await reconcileAll(p.gateway);
  const delivered = await dispatchDue(p.management);
  context.log(
    `swept ${expired} leases, reconciled ${reconciled.length} followers, attempted ${delivered} webhook deliveries`,
  );
}
