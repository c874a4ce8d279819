import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveBus } from './config.js';

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
