/** An in-process platform on a fresh database with a manual clock, driven through `inject`. */
import type { LightMyRequestResponse } from 'fastify';
import pino, { type Logger } from 'pino';
import { ManualClock } from '../clock.js';
import { loadConfig, type Config } from '../config.js';
import { startPlatform, type Platform, type PlatformOptions } from '../runtime.js';
import { dropTarget, freshTarget, tempDir, type DialectName } from './databases.js';
import type { DatabaseTarget } from '../store/database.js';
import type { Ticker } from '../services/stream-access.js';

/** Ticks by hand: the live streams' token re-check runs when a test calls `tick()`. */
export class ManualTicker {
  private readonly callbacks = new Set<() => void>();
  readonly ticker: Ticker = (_everyMs, fn) => {
    this.callbacks.add(fn);
    return () => void this.callbacks.delete(fn);
  };
  tick(): void {
    for (const fn of [...this.callbacks]) fn();
  }
}

export interface TestPlatform {
  platform: Platform;
  clock: ManualClock;
  ticker: ManualTicker;
  target: DatabaseTarget;
  config: Config;
  close(): Promise<void>;
}

export async function startTestPlatform(
  dialect: DialectName,
  env: Record<string, string> = {},
  logger?: Logger,
  /**
   * Without consumers, nothing reads the bus or claims jobs: a test drives both itself. With
   * `tracing`, spans go where the test's tracing sends them.
   */
  options: Pick<PlatformOptions, 'consumers' | 'tracing' | 'afterFanoutBatch'> = {},
): Promise<TestPlatform | null> {
  const target = await freshTarget(dialect);
  if (!target) return null;
  const clock = new ManualClock(Date.now());
  const ticker = new ManualTicker();
  const config = loadConfig({
    KOPITRA_DATA_DIR: tempDir(),
    KOPITRA_BUS_POLL_MS: '50',
    KOPITRA_JOBS_POLL_MS: '50',
    KOPITRA_ADMIN_EMAIL: ADMIN.email,
    KOPITRA_ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
  const platform = await startPlatform(config, {
    clock,
    databaseTarget: target,
    listen: false,
    sweeper: false,
    ticker: ticker.ticker,
    ...options,
    logger: logger ?? pino({ level: process.env['KOPITRA_TEST_LOG'] ?? 'silent' }),
  });
  return {
    platform,
    clock,
    ticker,
    target,
    config,
    close: async () => {
      await platform.stop();
      await dropTarget(target);
    },
  };
}

/**
 * Another replica of `of`'s platform: the same database, configuration and clock, its own
 * connections, notifier, bus and ticker (stopped by the caller).
 */
export async function startReplica(
  of: TestPlatform,
  serve: { gateway: boolean; management: boolean } = { gateway: true, management: true },
): Promise<{ platform: Platform; ticker: ManualTicker }> {
  const ticker = new ManualTicker();
  const platform = await startPlatform(of.config, {
    clock: of.clock,
    databaseTarget: of.target,
    listen: false,
    sweeper: false,
    serve,
    ticker: ticker.ticker,
    logger: pino({ level: process.env['KOPITRA_TEST_LOG'] ?? 'silent' }),
  });
  return { platform, ticker };
}

export const BASE = '/trade-agent/v1';
export const ADMIN = { email: 'admin@test.local', password: 'admin-password-0123' };

export interface Terminal {
  accountId: string;
  token?: string;
  sessionId?: string;
  create(overrides?: Record<string, unknown>, key?: string): Promise<LightMyRequestResponse>;
  poll(query?: string): Promise<LightMyRequestResponse>;
  inbox(events: unknown[], key?: string): Promise<LightMyRequestResponse>;
  release(key?: string): Promise<LightMyRequestResponse>;
}

let counter = 0;
export const idem = () => `k-${process.pid}-${++counter}`;

export function sessionBody(authKey: string, overrides: Record<string, unknown> = {}) {
  return {
    authMethod: 'account_session_key',
    authKey,
    platform: 'MT5',
    role: 'follower',
    eaVersion: '1.0.0',
    terminalBuild: 4410,
    ...overrides,
  };
}

/** A terminal speaking the EA protocol through `inject`. */
export function terminal(
  platform: Platform,
  accountId: string,
  authKey = `key-${accountId}-0123456789abcdef`,
): Terminal {
  const t: Terminal = {
    accountId,
    async create(overrides = {}, key = idem()) {
      const res = await platform.app.inject({
        method: 'POST',
        url: `${BASE}/sessions`,
        headers: {
          'x-tradeagent-account': accountId,
          'idempotency-key': key,
          'content-type': 'application/json',
        },
        payload: sessionBody(authKey, overrides),
      });
      if (res.statusCode === 201) {
        t.token = res.json().token;
        t.sessionId = res.json().sessionId;
      }
      return res;
    },
    poll(query = '') {
      return platform.app.inject({
        method: 'GET',
        url: `${BASE}/sessions/current/outbox${query}`,
        headers: { 'x-tradeagent-account': accountId, authorization: `Bearer ${t.token}` },
      });
    },
    inbox(events, key = idem()) {
      return platform.app.inject({
        method: 'POST',
        url: `${BASE}/sessions/current/inbox`,
        headers: {
          'x-tradeagent-account': accountId,
          authorization: `Bearer ${t.token}`,
          'idempotency-key': key,
          'content-type': 'application/json',
        },
        payload: { events },
      });
    },
    release(key = idem()) {
      return platform.app.inject({
        method: 'DELETE',
        url: `${BASE}/sessions/current`,
        headers: {
          'x-tradeagent-account': accountId,
          authorization: `Bearer ${t.token}`,
          'idempotency-key': key,
        },
      });
    },
  };
  return t;
}

/** Waits (bounded, polling the condition) for the bus consumer to apply something asynchronous. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The management API as the admin operator, through `inject`. */
export async function operatorApi(platform: Platform) {
  const login = await platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN });
  const token = login.json().token as string;
  const call = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    platform.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload !== undefined ? { payload: payload as Record<string, unknown> } : {}),
    });
  return {
    get: (url: string) => call('GET', url),
    post: (url: string, body: unknown) => call('POST', url, body),
    put: (url: string, body: unknown) => call('PUT', url, body),
    delete: (url: string) => call('DELETE', url),
    /** Creates the accounts and a group of `masterAccountId`; answers the group id. */
    async group(name: string, masterAccountId: string, followerIds: string[]): Promise<string> {
      for (const accountId of [masterAccountId, ...followerIds]) {
        const res = await call('POST', '/api/admin/accounts', { accountId, platform: 'MT5' });
        if (res.statusCode !== 201 && res.json().error !== 'account_exists')
          throw new Error(`account ${accountId}: ${res.statusCode} ${res.body}`);
      }
      const g = await call('POST', '/api/admin/groups', { name, masterAccountId });
      if (g.statusCode !== 201) throw new Error(`group: ${g.statusCode} ${g.body}`);
      return g.json().groupId as string;
    },
  };
}
