/**
 * Azure Functions handlers for the management side, calling the same code as the Node
 * server: the HTTP API through one catch-all trigger, each bus consumer as a Service Bus
 * trigger on its own subscription, and a timer that runs the claimed jobs (webhook
 * deliveries, task runs, anomaly checks, retention).
 */
import type { HttpRequest, HttpResponseInit, InvocationContext, Timer } from '@azure/functions';
import { topics } from '@kopitra/contracts';
import {
  fromServiceBusMessage,
  inTransaction,
  loadConfig,
  startPlatform,
  traceBusHandler,
  tradeAgentEventHandler,
  webhookFanout,
  type BusHandler,
  type BusMessage,
  type Config,
  type Platform,
} from '@kopitra/server';

let platform: Promise<Platform> | undefined;

/** One platform per Functions worker, created on first use and kept warm between invocations. */
export function platformFor(config: Config = loadConfig()): Promise<Platform> {
  platform ??= startPlatform(config, {
    listen: false,
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
  // Without a caller's trace context, spans continue the host's invocation (Application Insights).
  if (!headers['traceparent'] && context.traceContext?.traceParent) {
    headers['traceparent'] = context.traceContext.traceParent;
    if (context.traceContext.traceState) headers['tracestate'] = context.traceContext.traceState;
  }
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

/** The consumers the management side runs, each on its own Service Bus subscription (as in the Node server). */
export const busConsumers = [
  {
    name: 'tradeAgentEventsAudit',
    topic: topics.tradeAgentEvents,
    subscription: 'management-audit',
    handler: (p: Platform) => tradeAgentEventHandler(p.management),
  },
  {
    name: 'tradeAgentEventsWebhooks',
    topic: topics.tradeAgentEvents,
    subscription: 'management-webhooks',
    handler: (p: Platform) => webhookFanout(p.management),
  },
] as const satisfies ReadonlyArray<{
  name: string;
  topic: string;
  subscription: string;
  handler: (p: Platform) => BusHandler;
}>;

/** The port message for a Service Bus trigger invocation (the body comes deserialized, the rest as trigger metadata). */
export function busMessageOf(topic: string, message: unknown, context: InvocationContext): BusMessage {
  const meta = context.triggerMetadata ?? {};
  const enqueued = meta['enqueuedTimeUtc'];
  return fromServiceBusMessage(topic, {
    messageId: meta['messageId'] as string | undefined,
    body: message,
    applicationProperties: (meta['applicationProperties'] ?? {}) as Record<string, number>,
    enqueuedTimeUtc:
      typeof enqueued === 'string' || enqueued instanceof Date ? new Date(enqueued) : new Date(),
  });
}

/**
 * A Service Bus trigger over a bus consumer: the handler runs in one transaction, like a
 * delivery of the in-process bus, and the work it starts after commit is awaited, because the
 * host may freeze the worker once the invocation returns. A failure throws, so
 * Service Bus redelivers the message and dead-letters it after its delivery limit.
 */
export function busTrigger(topic: string, consumer: (p: Platform) => BusHandler, subscription: string) {
  return async (message: unknown, context: InvocationContext): Promise<void> => {
    const p = await platformFor();
    const busMessage = busMessageOf(topic, message, context);
    const started: Array<void | Promise<void>> = [];
    // With traces on, the handler's span continues the publisher's (the message's traceparent).
    const handler = p.tracing.enabled
      ? traceBusHandler(p.tracing, 'servicebus', subscription, consumer(p))
      : consumer(p);
    await inTransaction(p.database.db, ({ trx, afterCommit }) =>
      handler(busMessage, { db: trx, afterCommit: (fn) => afterCommit(() => started.push(fn())) }),
    );
    await Promise.all(started);
  };
}

/**
 * Timer trigger: one pass of the job worker — the periodic units now due are enqueued (one per
 * period across every replica), and due jobs (webhook deliveries, task runs, anomaly checks)
 * are claimed and run. The host may freeze the worker between invocations, so jobs run here rather than in a
 * background loop; lease sweeps and reconciliation belong to the gateway processes.
 */
export async function periodicHandler(_timer: Timer, context: InvocationContext): Promise<void> {
  const p = await platformFor();
  const ran = await p.jobs.runOnce();
  context.log(`ran ${ran} jobs`);
}
