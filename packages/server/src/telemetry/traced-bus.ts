/**
 * Spans around the bus port, for every adapter alike: a producer span per publish, whose
 * context travels with the message as headers (`traceparent`, `tracestate`; a column of the
 * embedded bus, NATS headers, Service Bus application properties), and a consumer span per
 * handled message, a child of the publisher's. Wrapped around the bus only when traces are on.
 */
import { SpanKind, type Attributes } from '@opentelemetry/api';
import type { Bus, BusHandler, PublishOptions, Subscription } from '../bus/bus.js';
import { carrierOf, contextOf, inSpan, type Tracing } from './tracing.js';

/** `messaging.system` of each adapter. */
export type BusSystem = 'kopitra-embedded' | 'nats' | 'servicebus';

const messageType = (body: unknown): Attributes => {
  const type = (body as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? { 'kopitra.message.type': type } : {};
};

/** Runs `handler` in a consumer span continuing the publisher's trace. */
export function traceBusHandler(
  tracing: Tracing,
  system: BusSystem,
  subscription: string,
  handler: BusHandler,
): BusHandler {
  return (message, ctx) =>
    inSpan(
      tracing,
      `process ${message.topic}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'process',
          'messaging.destination.name': message.topic,
          'messaging.destination.subscription.name': subscription,
          'messaging.message.id': message.messageId,
          ...messageType(message.body),
        },
      },
      () => handler(message, ctx),
      contextOf(tracing, message.headers),
    );
}

export function traceBus(bus: Bus, tracing: Tracing, system: BusSystem): Bus {
  return {
    publish: (topic: string, body: unknown, options: PublishOptions = {}) =>
      inSpan(
        tracing,
        `publish ${topic}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': system,
            'messaging.operation.type': 'send',
            'messaging.destination.name': topic,
            ...messageType(body),
          },
        },
        async (span) => {
          const headers = carrierOf(tracing);
          const messageId = await bus.publish(topic, body, {
            ...options,
            ...(headers ? { headers: { ...options.headers, ...headers } } : {}),
          });
          span?.setAttribute('messaging.message.id', messageId);
          return messageId;
        },
      ),
    subscribe: (topic: string, subscription: string, handler: BusHandler): Subscription =>
      bus.subscribe(topic, subscription, traceBusHandler(tracing, system, subscription, handler)),
    ping: () => bus.ping(),
    close: () => bus.close(),
  };
}
