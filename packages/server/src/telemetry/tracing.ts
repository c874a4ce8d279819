/**
 * Tracing as the rest of the code sees it: only `@opentelemetry/api`. The SDK and the OTLP
 * exporter live in `sdk.ts`, imported dynamically when traces are turned on (`select.ts`);
 * with traces off (the default) nothing but the API is loaded and no span is started: every
 * helper here returns before touching the tracer.
 *
 * Terms: a *carrier* is the W3C trace context as headers (`traceparent`, `tracestate`); a
 * *stored context* is a carrier kept as JSON in a row (`outbox_events.trace_context`,
 * `copy_orders.trace_context`), so a later poll, acknowledgement or execution report — on any
 * replica — continues the trace of the signal that caused it.
 */
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanOptions,
  type TextMapPropagator,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';

export interface Tracing {
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** W3C trace context, used explicitly (never through the global propagation API). */
  readonly propagator: TextMapPropagator;
  /** Exports what is buffered and stops; a no-op when off. */
  shutdown(): Promise<void>;
}

/**
 * Traces off. Its tracer is the API's proxy, which stays a no-op unless someone registers a
 * global provider: nothing here does, so a span started through it would be a bug (the
 * "off costs nothing" test registers a counting provider to catch exactly that).
 */
export const tracingOff: Tracing = Object.freeze({
  enabled: false,
  tracer: trace.getTracer('kopitra'),
  propagator: propagation,
  shutdown: async () => undefined,
});

export type Carrier = Record<string, string>;

const on = (tracing: Tracing | undefined): tracing is Tracing => tracing?.enabled === true;

/** The headers that carry `ctx` (default: the active context); undefined when off or when there is no span. */
export function carrierOf(tracing: Tracing | undefined, ctx?: Context): Carrier | undefined {
  if (!on(tracing)) return undefined;
  const carrier: Carrier = {};
  tracing.propagator.inject(ctx ?? context.active(), carrier, defaultTextMapSetter);
  return carrier['traceparent'] ? carrier : undefined;
}

/** The context a carrier names (the root context when it names none). */
export function contextOf(tracing: Tracing, carrier: Readonly<Record<string, unknown>> | undefined): Context {
  if (!carrier) return ROOT_CONTEXT;
  return tracing.propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The active trace context as a stored context (JSON), or null when off or outside a span. */
export function storedContext(tracing: Tracing | undefined): string | null {
  const carrier = carrierOf(tracing);
  return carrier ? JSON.stringify(carrier) : null;
}

function restore(tracing: Tracing, stored: string | null): Context | undefined {
  if (!stored) return undefined;
  let carrier: unknown;
  try {
    carrier = JSON.parse(stored);
  } catch {
    return undefined;
  }
  if (typeof carrier !== 'object' || carrier === null) return undefined;
  const ctx = contextOf(tracing, carrier as Record<string, unknown>);
  const spanContext = trace.getSpanContext(ctx);
  return spanContext && isSpanContextValid(spanContext) ? ctx : undefined;
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * Runs `fn` inside a new span — a child of `parent`, by default of the active span — which ends
 * (marked failed on a throw) when `fn` settles. Off: `fn(undefined)` and nothing else.
 */
export async function inSpan<T>(
  tracing: Tracing | undefined,
  name: string,
  options: SpanOptions,
  fn: (span: Span | undefined) => Promise<T>,
  parent?: Context,
): Promise<T> {
  if (!on(tracing)) return fn(undefined);
  return tracing.tracer.startActiveSpan(name, options, parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A start time for a step recorded later (`continueTrace`); undefined when off. */
export const stepStart = (tracing: Tracing | undefined): TimeInput | undefined =>
  on(tracing) ? performance.timeOrigin + performance.now() : undefined;

/**
 * Records one step of a copy order on the follower side — its delivery, acknowledgement or
 * execution — in the trace of the signal that caused it: the span's parent is the stored
 * context, and it links to the span of the request doing the step (the follower's poll or
 * report, in a trace of its own). Nothing happens when off or when the row carries no context
 * (orders of reconciliation, rows written with traces off).
 */
export function continueTrace(
  tracing: Tracing | undefined,
  name: string,
  stored: string | null,
  attributes: Attributes,
  startTime?: TimeInput,
): void {
  if (!on(tracing)) return;
  const parent = restore(tracing, stored);
  if (!parent) return;
  const links: Link[] = [];
  const current = trace.getSpanContext(context.active());
  if (current && isSpanContextValid(current) && current.traceId !== trace.getSpanContext(parent)?.traceId)
    links.push({ context: current });
  const span = tracing.tracer.startSpan(
    name,
    { kind: SpanKind.INTERNAL, attributes, links, ...(startTime !== undefined ? { startTime } : {}) },
    parent,
  );
  span.end();
}
