/**
 * Mapping between the bus port and Azure Service Bus messages, and the reading of
 * `KOPITRA_BUS_URL` for Service Bus. Pure: no connection is made here.
 */
import type { ServiceBusMessage, ServiceBusReceivedMessage } from '@azure/service-bus';
import type { BusMessage } from '../bus.js';

/** How the adapter reaches the namespace: a connection string (SAS) or a managed identity. */
export type ServiceBusTarget =
  | { readonly auth: 'connectionString'; readonly connectionString: string; readonly namespace: string }
  | { readonly auth: 'identity'; readonly namespace: string };

const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9-]{4,48}[A-Za-z0-9](\.[A-Za-z0-9-]+)+$/;

/**
 * Whether a bus URL names Service Bus, and how to reach it: `Endpoint=sb://…;SharedAccessKeyName=…`
 * (a connection string), or `sb://<namespace>.servicebus.windows.net` (managed identity).
 * Returns null for anything else (NATS, the embedded bus).
 */
export function serviceBusTarget(url: string): ServiceBusTarget | null {
  const trimmed = url.trim();
  if (/^Endpoint=sb:\/\//i.test(trimmed)) {
    const parts = new Map(
      trimmed
        .split(';')
        .filter(Boolean)
        .map((p) => {
          const at = p.indexOf('=');
          return [p.slice(0, at).toLowerCase(), p.slice(at + 1)] as const;
        }),
    );
    const endpoint = parts.get('endpoint') ?? '';
    const namespace = endpoint.replace(/^sb:\/\//i, '').replace(/\/.*$/, '');
    if (!NAMESPACE.test(namespace))
      throw new Error('KOPITRA_BUS_URL: the connection string has no valid Endpoint=sb://<namespace>');
    const hasKey = parts.has('sharedaccesskeyname') && parts.has('sharedaccesskey');
    if (!hasKey && !parts.has('sharedaccesssignature'))
      throw new Error(
        'KOPITRA_BUS_URL: the connection string needs SharedAccessKeyName and SharedAccessKey (or use sb://<namespace> with a managed identity)',
      );
    return { auth: 'connectionString', connectionString: trimmed, namespace };
  }
  const m = /^sb:\/\/([^/?#]+)\/?$/i.exec(trimmed);
  if (!m) return null;
  if (!NAMESPACE.test(m[1]!)) throw new Error(`KOPITRA_BUS_URL: "${m[1]}" is not a Service Bus namespace`);
  return { auth: 'identity', namespace: m[1]! };
}

/** Service Bus session ids are at most 128 characters. */
const SESSION_ID_MAX = 128;

/**
 * The session a message belongs to: ordering matters per account (a master's signals, a
 * follower's orders), so the account id is the session; messages about no account keep the
 * order of their topic.
 */
export function sessionIdFor(topic: string, body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const b = body as Record<string, unknown>;
    for (const key of ['accountId', 'followerAccountId', 'masterAccountId']) {
      const v = b[key];
      if (typeof v === 'string' && v.length > 0) return `account:${v}`.slice(0, SESSION_ID_MAX);
    }
  }
  return `topic:${topic}`.slice(0, SESSION_ID_MAX);
}

/** Application property carrying the publisher's clock (the broker's enqueue time is its own). */
export const PUBLISHED_AT = 'kopitraPublishedAt';

/** A port message as the SDK sends it: the message id is the one duplicate detection keys on. */
export function toServiceBusMessage(message: BusMessage): ServiceBusMessage {
  const type = (message.body as { type?: unknown } | null)?.type;
  return {
    messageId: message.messageId,
    body: message.body,
    contentType: 'application/json',
    sessionId: sessionIdFor(message.topic, message.body),
    ...(typeof type === 'string' ? { subject: type } : {}),
    // The trace context rides as application properties named as in W3C trace context.
    applicationProperties: { ...message.headers, [PUBLISHED_AT]: message.publishedAt },
  };
}

const TRACE_HEADERS = ['traceparent', 'tracestate'] as const;

/** A received message as the port hands it to handlers; bodies from other clients may be JSON bytes. */
export function fromServiceBusMessage(
  topic: string,
  received: Pick<
    ServiceBusReceivedMessage,
    'messageId' | 'body' | 'applicationProperties' | 'enqueuedTimeUtc'
  >,
): BusMessage {
  if (received.messageId === undefined || received.messageId === null || received.messageId === '')
    throw new Error(`Service Bus message on ${topic} has no message id`);
  const published = received.applicationProperties?.[PUBLISHED_AT];
  const headers: Record<string, string> = {};
  for (const key of TRACE_HEADERS) {
    const value = received.applicationProperties?.[key];
    if (typeof value === 'string' && value !== '') headers[key] = value;
  }
  return {
    messageId: String(received.messageId),
    topic,
    body: decodeBody(received.body),
    publishedAt:
      typeof published === 'number' ? published : (received.enqueuedTimeUtc?.getTime() ?? Number.NaN),
    ...(headers['traceparent'] ? { headers } : {}),
  };
}

function decodeBody(body: unknown): unknown {
  if (body instanceof Uint8Array) return JSON.parse(Buffer.from(body).toString('utf8')) as unknown;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as unknown;
    } catch {
      return body;
    }
  }
  return body;
}

/** What an operator needs to know about a message Service Bus gave up on. */
export interface DeadLetter {
  readonly topic: string;
  readonly subscription: string;
  readonly messageId: string;
  readonly reason: string;
  readonly description: string;
  readonly deliveryCount: number;
  readonly subject: string | undefined;
}

export function deadLetterOf(topic: string, subscription: string, m: ServiceBusReceivedMessage): DeadLetter {
  return {
    topic,
    subscription,
    messageId: String(m.messageId ?? 'unknown'),
    reason: m.deadLetterReason ?? 'unknown',
    description: m.deadLetterErrorDescription ?? '',
    deliveryCount: m.deliveryCount ?? 0,
    subject: m.subject,
  };
}
