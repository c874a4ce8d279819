import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveBus, resolveTraces } from './config.js';

describe('configuration', () => {
  it('defaults to SQLite under the data directory on port 8080', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      heartbeatIntervalSec: 10,
      database: { dialect: 'sqlite', file: path.resolve('.kopitra/kopitra.db') },
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('chooses PostgreSQL from a postgres:// DATABASE_URL and SQLite from a path', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h:5432/db' }).database).toEqual({
      dialect: 'postgres',
      url: 'postgres://u@h:5432/db',
    });
    expect(loadConfig({ DATABASE_URL: '/tmp/x.db' }).database).toEqual({
      dialect: 'sqlite',
      file: '/tmp/x.db',
    });
  });

  it('reports every problem at once', () => {
    try {
      loadConfig({ PORT: 'eighty', KOPITRA_HEARTBEAT_INTERVAL_SEC: '0', KOPITRA_SECRET: 'short' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toContain('PORT');
      expect(problems).toContain('KOPITRA_HEARTBEAT_INTERVAL_SEC');
      expect(problems).toContain('KOPITRA_SECRET');
    }
  });
});

describe('KOPITRA_BUS_URL', () => {
  it('selects the embedded bus when unset and NATS for nats:// with one or more servers', () => {
    expect(resolveBus(undefined)).toEqual({ kind: 'embedded' });
    expect(resolveBus('nats://127.0.0.1:4222')).toEqual({
      kind: 'nats',
      target: { servers: ['127.0.0.1:4222'], namespace: 'kopitra' },
    });
    expect(resolveBus('nats://a.example:4222,b.example:4223', 'prod')).toEqual({
      kind: 'nats',
      target: { servers: ['a.example:4222', 'b.example:4223'], namespace: 'prod' },
    });
  });

  it('refuses a malformed NATS URL or namespace with one readable error', () => {
    expect(() => resolveBus('nats://')).toThrow(ConfigError);
    expect(() => resolveBus('nats://host-without-port')).toThrow(/nats:\/\/host:port/);
    expect(() => resolveBus('nats://127.0.0.1:4222', 'a.b')).toThrow(/KOPITRA_BUS_NAMESPACE/);
    expect(() => resolveBus('amqp://127.0.0.1')).toThrow(/nats:\/\/host:port/);
  });
});

describe('traces (KOPITRA_TRACES and the OTEL_* variables)', () => {
  const off = { kind: 'off' };
  const otlp = { kind: 'otlp' };

  it('are off by default and with OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none', () => {
    expect(loadConfig({}).traces).toEqual(off);
    expect(
      resolveTraces({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toEqual(off);
    expect(
      resolveTraces({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
    ).toEqual(off);
    expect(resolveTraces({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toEqual(off);
  });

  it('go to OTLP when an endpoint or the OTLP exporter is configured, or KOPITRA_TRACES=otlp', () => {
    expect(resolveTraces({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual(otlp);
    expect(resolveTraces({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toEqual(otlp);
    expect(resolveTraces({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(otlp);
    expect(loadConfig({ KOPITRA_TRACES: 'otlp' }).traces).toEqual(otlp);
    expect(resolveTraces({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', KOPITRA_TRACES: 'otlp' })).toEqual(
      otlp,
    );
  });

  it('let KOPITRA_TRACES decide over the OTEL_* variables', () => {
    expect(resolveTraces({ KOPITRA_TRACES: 'off', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toEqual(
      off,
    );
    expect(resolveTraces({ KOPITRA_TRACES: 'otlp', OTEL_SDK_DISABLED: 'true' })).toEqual(otlp);
  });

  it('refuse what they cannot do instead of silently sending nothing', () => {
    expect(() => loadConfig({ KOPITRA_TRACES: 'jaeger' })).toThrow(/KOPITRA_TRACES/);
    expect(() => resolveTraces({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER: "zipkin"/);
    expect(() => resolveTraces({ KOPITRA_TRACES: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /http\/protobuf/,
    );
    expect(() =>
      resolveTraces({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }),
    ).toThrow(ConfigError);
    // A protocol of an exporter that is off is nobody's problem.
    expect(resolveTraces({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual(off);
  });
});
