import { ServiceBusClient, type ServiceBusReceivedMessage } from '@azure/service-bus';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveBus, ConfigError } from '../../config.js';
import type { BusMessage } from '../bus.js';
import {
  deadLetterOf,
  fromServiceBusMessage,
  PUBLISHED_AT,
  serviceBusTarget,
  sessionIdFor,
  toServiceBusMessage,
} from './mapping.js';

const CONNECTION =
  'Endpoint=sb://kopitra-dev.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0';

/** What the SDK hands a receiver for a message a sender sent: the sent fields plus the broker's. */
function received(
  sent: ReturnType<typeof toServiceBusMessage>,
  extra: Partial<ServiceBusReceivedMessage> = {},
) {
  // The raw AMQP message is the SDK's own bookkeeping; the mapping never reads it.
  return {
    ...sent,
    deliveryCount: 1,
    enqueuedTimeUtc: new Date('2026-01-02T03:04:05.000Z'),
    state: 'active',
    ...extra,
  } as ServiceBusReceivedMessage;
}

describe('Service Bus message mapping', () => {
  const message: BusMessage = {
    messageId: 'msg_01',
    topic: 'trade-agent-events',
    body: { type: 'signal.accepted', accountId: 'MASTER-1', signalId: 'sig_1' },
    publishedAt: 1_767_323_045_123,
  };

  it('sends the port message id as the duplicate-detection key, JSON body, account session and type subject', () => {
    const sent = toServiceBusMessage(message);
    expect(sent.messageId).toBe('msg_01');
    expect(sent.body).toEqual(message.body);
    expect(sent.contentType).toBe('application/json');
    expect(sent.sessionId).toBe('account:MASTER-1');
    expect(sent.subject).toBe('signal.accepted');
    expect(sent.applicationProperties?.[PUBLISHED_AT]).toBe(message.publishedAt);
  });

  it('carries the trace context as traceparent / tracestate application properties, and none when absent', () => {
    const headers = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'kopitra=1',
    };
    const sent = toServiceBusMessage({ ...message, headers });
    expect(sent.applicationProperties).toEqual({ ...headers, [PUBLISHED_AT]: message.publishedAt });
    expect(fromServiceBusMessage(message.topic, received(sent)).headers).toEqual(headers);
    // What the Functions trigger hands over: application properties from its metadata.
    const untraced = fromServiceBusMessage(message.topic, received(toServiceBusMessage(message)));
    expect(untraced.headers).toBeUndefined();
    expect(
      fromServiceBusMessage(message.topic, {
        messageId: 'x',
        body: {},
        applicationProperties: { traceparent: 42 as unknown as string },
      }).headers,
    ).toBeUndefined();
  });

  it('round-trips any JSON object body, id and publish time', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 64 }),
        // Port bodies are JSON objects; a bare string body is read as JSON text from other clients.
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (messageId, body, publishedAt) => {
          const m: BusMessage = { messageId, topic: 'task-commands', body, publishedAt };
          expect(fromServiceBusMessage('task-commands', received(toServiceBusMessage(m)))).toEqual(m);
        },
      ),
    );
  });

  it('reads JSON bodies sent as bytes or text by other clients, and falls back to the enqueue time', () => {
    const bytes = received(toServiceBusMessage(message), {
      body: Buffer.from(JSON.stringify({ type: 'x', n: 1 })),
      applicationProperties: {},
    });
    const parsed = fromServiceBusMessage('trade-agent-events', bytes);
    expect(parsed.body).toEqual({ type: 'x', n: 1 });
    expect(parsed.publishedAt).toBe(Date.parse('2026-01-02T03:04:05.000Z'));
    const text = received(toServiceBusMessage(message), { body: '{"a":[1,2]}' });
    expect(fromServiceBusMessage('t', text).body).toEqual({ a: [1, 2] });
  });

  it('refuses a received message without an id (handlers are idempotent by it)', () => {
    const m = received(toServiceBusMessage(message), { messageId: undefined });
    expect(() => fromServiceBusMessage('t', m)).toThrow(/no message id/);
  });

  it('orders by account when the message names one, else by topic, within the 128-character limit', () => {
    expect(sessionIdFor('t', { followerAccountId: 'F-9' })).toBe('account:F-9');
    expect(sessionIdFor('t', { masterAccountId: 'M-1' })).toBe('account:M-1');
    expect(sessionIdFor('ea-auth-approvals', { type: 'AuthApproval', accountId: 'A' })).toBe('account:A');
    expect(sessionIdFor('task-commands', { runId: 'r1' })).toBe('topic:task-commands');
    expect(sessionIdFor('t', null)).toBe('topic:t');
    expect(sessionIdFor('t', { accountId: 'x'.repeat(300) })).toHaveLength(128);
  });

  it('describes a dead-lettered message for an operator alert', () => {
    const m = received(toServiceBusMessage(message), {
      deadLetterReason: 'MaxDeliveryCountExceeded',
      deadLetterErrorDescription: 'Message could not be consumed after 10 delivery attempts.',
      deliveryCount: 10,
    });
    expect(deadLetterOf('trade-agent-events', 'management-audit', m)).toEqual({
      topic: 'trade-agent-events',
      subscription: 'management-audit',
      messageId: 'msg_01',
      reason: 'MaxDeliveryCountExceeded',
      description: 'Message could not be consumed after 10 delivery attempts.',
      deliveryCount: 10,
      subject: 'signal.accepted',
    });
  });
});

describe('KOPITRA_BUS_URL for Service Bus', () => {
  it('takes a connection string and the namespace the SDK connects to', () => {
    const target = serviceBusTarget(CONNECTION);
    expect(target).toEqual({
      auth: 'connectionString',
      connectionString: CONNECTION,
      namespace: 'kopitra-dev.servicebus.windows.net',
    });
    // The SDK accepts what we accept (it parses without connecting).
    const client = new ServiceBusClient(CONNECTION);
    expect(client.fullyQualifiedNamespace).toBe(target!.namespace);
    return client.close();
  });

  it('takes sb://<namespace> for a managed identity', () => {
    expect(serviceBusTarget('sb://kopitra-prod.servicebus.windows.net/')).toEqual({
      auth: 'identity',
      namespace: 'kopitra-prod.servicebus.windows.net',
    });
  });

  it('leaves other URLs to other adapters and refuses broken Service Bus ones', () => {
    expect(serviceBusTarget('nats://127.0.0.1:4222')).toBeNull();
    expect(() => serviceBusTarget('Endpoint=sb://kopitra-dev.servicebus.windows.net/')).toThrow(
      /SharedAccessKeyName/,
    );
    expect(() => serviceBusTarget('sb://bad')).toThrow(/not a Service Bus namespace/);
  });

  it('is read by the configuration: unset is the embedded bus, nonsense is a readable error', () => {
    expect(resolveBus(undefined)).toEqual({ kind: 'embedded' });
    expect(resolveBus(' ')).toEqual({ kind: 'embedded' });
    expect(resolveBus(CONNECTION)).toMatchObject({
      kind: 'service-bus',
      target: { auth: 'connectionString' },
    });
    expect(() => resolveBus('amqp://rabbit:5672')).toThrow(ConfigError);
    expect(() => resolveBus('amqp://rabbit:5672')).toThrow(/unsupported bus "amqp:"/);
  });
});
