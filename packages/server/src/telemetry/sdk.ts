/**
 * The OpenTelemetry SDK behind `Tracing`: loaded only through `select.ts`'s dynamic import when
 * traces are on, so a process with traces off never loads it (a dependency-cruiser rule keeps
 * every static import of the SDK in this file).
 *
 * The exporter speaks OTLP over HTTP/protobuf and reads the standard variables itself
 * (`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `…_HEADERS`, `…_TIMEOUT`); the provider reads
 * `OTEL_TRACES_SAMPLER[_ARG]`; `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES` override
 * the resource given here.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Tracing } from './tracing.js';

export interface SdkOptions {
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Where finished spans go; default OTLP over HTTP/protobuf as the environment configures it. */
  readonly exporter?: SpanExporter;
  /** Export each span as it ends instead of in batches (tests read them at once). */
  readonly immediate?: boolean;
}

let contextManager: AsyncLocalStorageContextManager | undefined;

/**
 * The active span follows awaits through AsyncLocalStorage. The API holds one context manager
 * per process: the first tracing started sets it and every later one shares it (it keeps no
 * state of its own between calls, so there is nothing to reset).
 */
function ensureContextManager(): void {
  if (contextManager) return;
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) contextManager = manager;
  else manager.disable();
}

export function startTracing(opts: SdkOptions): Tracing {
  ensureContextManager();
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({ 'service.name': opts.serviceName, 'service.version': opts.serviceVersion }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  const exporter = opts.exporter ?? new OTLPTraceExporter();
  // Not registered as the global provider: the tracer is handed to whoever needs it.
  const provider = new BasicTracerProvider({
    resource,
    spanProcessors: [opts.immediate ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  return {
    enabled: true,
    tracer: provider.getTracer('kopitra', opts.serviceVersion),
    propagator: new W3CTraceContextPropagator(),
    shutdown: () => provider.shutdown(),
  };
}
