/**
 * The client against a real gateway listening on a loopback port (in-process, SQLite, a
 * manual server clock for lease expiry). Only the network is ever faked: a fetch wrapper
 * that loses an answer or returns a proxy's 503, as a flaky link would.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { positionTag, type OutboxEvent } from '@kopitra/contracts';
import { ManualClock } from '../../server/src/clock.js';
import { loadConfig } from '../../server/src/config.js';
import { startPlatform, type Platform } from '../../server/src/runtime.js';
import { insertAccount } from '../../server/src/store/accounts.js';
import { decideKey, insertKey } from '../../server/src/store/keys.js';
import { insertGroup, putSubscription } from '../../server/src/store/copy.js';
import { enqueueOutbox } from '../../server/src/store/outbox.js';
import { keyFingerprint, keyHash } from '../../server/src/services/secrets.js';
import { dropTarget, freshTarget, tempDir } from '../../server/src/testing/databases.js';
import type { DatabaseTarget } from '../../server/src/store/database.js';
import { KopitraClient, type ClientOptions } from './client.js';
import type { Clock } from './clock.js';
import {
  ConflictError,
  ForbiddenError,
  type KopitraError,
  NetworkError,
  NotFoundError,
  ProtocolError,
  RateLimitedError,
  RequestError,
  ServerError,
  SessionConflictError,
  SessionEndedError,
  SessionShutdownError,
  errorFromResponse,
} from './errors.js';
import { SimFollower } from './sim/follower.js';
import { symbolCatalogue } from './sim/symbols.js';
import type { FetchLike } from './transport.js';
import { runEaCommand } from './cli.js';

const HEARTBEAT_SEC = 7;
const ADMIN = { email: 'admin@sdk-test.local', password: 'admin-password-sdk-0123' };

interface Gateway {
  platform: Platform;
  clock: ManualClock;
  target: DatabaseTarget;
  url: string;
}

async function startGateway(): Promise<Gateway> {
  const target = (await freshTarget('sqlite'))!;
  const clock = new ManualClock(Date.now());
  const config = loadConfig({
    PORT: '0',
    KOPITRA_HOST: '127.0.0.1',
    KOPITRA_DATA_DIR: tempDir(),
    KOPITRA_HEARTBEAT_INTERVAL_SEC: String(HEARTBEAT_SEC),
    KOPITRA_BUS_POLL_MS: '50',
    KOPITRA_ADMIN_EMAIL: ADMIN.email,
    KOPITRA_ADMIN_PASSWORD: ADMIN.password,
  });
  const platform = await startPlatform(config, {
    clock,
    databaseTarget: target,
    sweeper: false,
    consoleDir: null,
    logger: pino({ level: 'silent' }),
  });
  return { platform, clock, target, url: platform.url };
}

const keyOf = (accountId: string) => `sdk-test-key-${accountId}-0123456789`;

/** An account with an operator-approved key, as `kopitra` would set it up. */
async function approvedAccount(
  g: Gateway,
  accountId: string,
  policy: 'reject' | 'takeover' = 'reject',
): Promise<string> {
  const db = g.platform.database.db;
  const now = g.clock.now();
  const key = keyOf(accountId);
  await insertAccount(
    db,
    { accountId, platform: 'MT5', sessionPolicy: policy, registeredBy: 'operator' },
    now,
  );
  await insertKey(
    db,
    {
      accountId,
      fingerprint: keyFingerprint(accountId, key),
      keyHash: keyHash(g.platform.gateway.secret, accountId, key),
      status: 'approved',
      origin: 'operator',
      expiresAt: null,
    },
    now,
  );
  return key;
}

/** A clock whose sleeps return at once and are recorded; `onSleep` runs inside each. */
class InstantClock implements Clock {
  readonly sleeps: number[] = [];
  onSleep: ((ms: number) => Promise<void> | void) | undefined;
  now = () => Date.now();
  sleep = async (ms: number) => {
    this.sleeps.push(ms);
    await this.onSleep?.(ms);
  };
}

describe('KopitraClient against a listening gateway', () => {
  let g: Gateway;
  const clients: KopitraClient[] = [];
  const client = (accountId: string, opts: Partial<ClientOptions> = {}) => {
    const c = new KopitraClient({
      gateway: g.url,
      accountId,
      authKey: keyOf(accountId),
      role: 'follower',
      ...opts,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    g = await startGateway();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await g.platform.stop();
    await dropTarget(g.target);
  });

  it('creates a session, sends telemetry and answers health', async () => {
    await approvedAccount(g, 'F1');
    const c = client('F1');
    const s = await c.connect();
    expect(s).toMatchObject({
      status: 'authenticated',
      heartbeatIntervalSec: HEARTBEAT_SEC,
      lastSequence: 0,
    });
    expect(await c.connect()).toBe(s);
    const res = await c.sendTelemetry([
      { eventType: 'ea.init', payload: { accountCurrency: 'USD', leverage: 100 } },
      { eventType: 'ea.symbol_catalog', payload: { symbols: symbolCatalogue().map((x) => x.spec) } },
    ]);
    expect(res).toEqual({ accepted: 2, acked: 0, refused: [] });
    expect((await c.heartbeat({ balance: 1000, equity: 990, margin: 10, openPositions: 1 })).accepted).toBe(
      1,
    );
    expect((await c.health()).status).toBe('ok');
  });

  it('maps refusals to typed errors carrying code, status and details', async () => {
    await approvedAccount(g, 'F1');
    const short = client('F1', { authKey: 'short' });
    const invalid = await short.connect().catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(RequestError);
    expect(invalid).toMatchObject({ code: 'invalid_request', status: 400 });
    expect((invalid as RequestError).issues.length).toBeGreaterThan(0);
    expect((invalid as RequestError).howToFix).toMatch(/issues/);

    const first = client('F1');
    await first.connect();
    const conflict = await client('F1', { maxConflictWaitMs: 0 })
      .connect()
      .catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(SessionConflictError);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as SessionConflictError).retryAfterSec).toBeGreaterThan(0);
    expect((conflict as SessionConflictError).activeSince).toMatch(/^\d{4}-/);

    const notFound = await first
      .reportExecution({ orderId: 'ord_nope', status: 'filled', executedAt: new Date().toISOString() })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(notFound).toMatchObject({ code: 'order_not_found', status: 404 });

    const forbidden = await first
      .signal({
        type: 'position.opened',
        masterPositionId: '1',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 1,
        price: 1.1,
        occurredAt: new Date().toISOString(),
      })
      .catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(ForbiddenError);
    expect(forbidden).toMatchObject({ code: 'role_forbidden', status: 403 });

    await approvedAccount(g, 'F2');
    await decideKey(
      g.platform.database.db,
      'F2',
      keyFingerprint('F2', keyOf('F2')),
      { status: 'rejected', by: 'test', reason: 'no' },
      g.clock.now(),
    );
    const rejected = await client('F2')
      .connect()
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ForbiddenError);
    expect(rejected).toMatchObject({ code: 'key_rejected', status: 403 });
    expect((rejected as KopitraError).requestId).toBeTruthy();
  });

  it('maps status and code without a gateway too', () => {
    expect(
      errorFromResponse(429, { error: 'rate_limited', message: 'slow down', retryAfterSec: 12 }),
    ).toBeInstanceOf(RateLimitedError);
    expect(
      (errorFromResponse(429, { error: 'rate_limited', message: 'x', retryAfterSec: 12 }) as RateLimitedError)
        .retryAfterSec,
    ).toBe(12);
    expect(errorFromResponse(503, { error: 'not_ready', message: 'db down' })).toMatchObject({
      code: 'not_ready',
      retryable: true,
    });
    expect(errorFromResponse(502, undefined)).toBeInstanceOf(ServerError);
    expect(errorFromResponse(401, { error: 'session_expired', message: 'x' })).toBeInstanceOf(
      SessionEndedError,
    );
    const unknown = errorFromResponse(418, { error: 'teapot', message: 'short and stout' });
    expect(unknown).toBeInstanceOf(ProtocolError);
    expect(unknown.code).toBe('protocol_error');
  });

  it('waits out a session conflict for retryAfterSec, then wins the session', async () => {
    await approvedAccount(g, 'F1');
    const first = client('F1');
    await first.connect();
    const clock = new InstantClock();
    clock.onSleep = async () => {
      await first.release();
    };
    const waits: string[] = [];
    const second = client('F1', { clock, onRetry: (i) => waits.push(`${i.error.code}:${i.delayMs}`) });
    const s = await second.connect();
    expect(s.status).toBe('authenticated');
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]! % 1000).toBe(0);
    expect(waits).toEqual([`session_conflict:${clock.sleeps[0]}`]);
  });

  it('retries a lost answer and a 503 with the same Idempotency-Key, so nothing is created twice', async () => {
    await approvedAccount(g, 'M1');
    await approvedAccount(g, 'F1');
    const db = g.platform.database.db;
    const grp = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, g.clock.now());
    await putSubscription(
      db,
      { groupId: grp.group_id, followerAccountId: 'F1', settings: {} },
      g.clock.now(),
    );
    const follower = client('F1');
    await follower.symbolCatalog(symbolCatalogue().map((s) => s.spec));

    const keys: string[] = [];
    let lose = 0;
    let fail503 = 0;
    // The network between EA and gateway: the request arrives, the answer is lost; or a proxy answers 503.
    const flaky: FetchLike = async (url, init) => {
      const key = new Headers(init.headers).get('idempotency-key');
      if (init.method === 'POST' && key) keys.push(`${new URL(url).pathname.split('/').pop()}:${key}`);
      if (fail503 > 0 && init.method === 'POST') {
        fail503--;
        return new Response(JSON.stringify({ error: 'not_ready', message: 'upstream unavailable' }), {
          status: 503,
        });
      }
      const res = await fetch(url, init);
      if (lose > 0 && init.method === 'POST') {
        lose--;
        await res.text();
        throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      }
      return res;
    };
    const retries: string[] = [];
    const clock = new InstantClock();
    const master = client('M1', {
      role: 'master',
      fetch: flaky,
      clock,
      onRetry: (i) => retries.push(i.error.code),
    });

    lose = 1;
    const session = await master.connect();
    expect(keys[0]).toBe(keys[1]);
    expect(keys[0]!.startsWith('sessions:')).toBe(true);
    const sessions = await db
      .selectFrom('sessions')
      .select('session_id')
      .where('account_id', '=', 'M1')
      .execute();
    expect(sessions.map((s) => s.session_id)).toEqual([session.sessionId]);

    keys.length = 0;
    lose = 1;
    fail503 = 1;
    const body = {
      type: 'position.opened' as const,
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy' as const,
      volume: 0.5,
      price: 1.085,
      occurredAt: new Date().toISOString(),
      dealTicket: '9001',
    };
    const accepted = await master.signal(body);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^signals:deal-9001-[0-9a-f]{16}$/);
    expect(keys).toHaveLength(3);
    // One lost answer for the session, then a proxy's 503 and a lost answer for the signal.
    expect(retries).toEqual(['network_error', 'not_ready', 'network_error']);
    expect(clock.sleeps).toHaveLength(3);
    expect(accepted.copies).toHaveLength(1);
    const orders = await db
      .selectFrom('copy_orders')
      .select('order_id')
      .where('follower_account_id', '=', 'F1')
      .execute();
    expect(orders.map((o) => o.order_id)).toEqual([accepted.copies[0]!.orderId]);

    // A deal sent again later (the EA restarted) is answered, not copied again.
    const again = await master.signal(body);
    expect(again.signalId).toBe(accepted.signalId);
    expect(
      await db.selectFrom('copy_orders').select('order_id').where('follower_account_id', '=', 'F1').execute(),
    ).toHaveLength(1);
  });

  it('gives up on the network after the retry budget with a NetworkError', async () => {
    await approvedAccount(g, 'F1');
    const clock = new InstantClock();
    const down: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    };
    const err = await client('F1', { fetch: down, clock, retry: { attempts: 3 } })
      .connect()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toMatch(/ECONNREFUSED/);
    expect(clock.sleeps).toHaveLength(2);
    expect(clock.sleeps[1]!).toBeGreaterThan(clock.sleeps[0]! * 1.2);
  });

  it('re-creates the session after session_expired and session_terminated', async () => {
    await approvedAccount(g, 'F1');
    const created: string[] = [];
    const c = client('F1', { onSession: (s) => created.push(s.sessionId) });
    const first = await c.connect();
    // Three missed heartbeat intervals: the lease lapses.
    g.clock.advance((3 * HEARTBEAT_SEC + 1) * 1000);
    expect((await c.heartbeat({ balance: 1, equity: 1, margin: 0, openPositions: 0 })).accepted).toBe(1);
    const second = c.session!;
    expect(second.sessionId).not.toBe(first.sessionId);
    const old = await g.platform.database.db
      .selectFrom('sessions')
      .select(['status'])
      .where('session_id', '=', first.sessionId)
      .executeTakeFirstOrThrow();
    expect(old.status).toBe('expired');

    // Released behind the client's back (another tool with the same token): terminated.
    const res = await fetch(`${g.url}/trade-agent/v1/sessions/current`, {
      method: 'DELETE',
      headers: {
        'x-tradeagent-account': 'F1',
        authorization: `Bearer ${second.token}`,
        'idempotency-key': 'external-release',
      },
    });
    expect(res.status).toBe(200);
    expect((await c.heartbeat({ balance: 1, equity: 1, margin: 0, openPositions: 0 })).accepted).toBe(1);
    expect(created).toEqual([first.sessionId, second.sessionId, c.session!.sessionId]);
    expect(new Set(created).size).toBe(3);
  });

  it('keeps its cursor when an acknowledgement is refused, so events still waiting are read again', async () => {
    await approvedAccount(g, 'F1');
    const db = g.platform.database.db;
    // Two copy events wait before the terminal comes; its session's init ack comes after them.
    for (const orderId of ['o-1', 'o-2'])
      await enqueueOutbox(
        db,
        { accountId: 'F1', type: 'trade.modified', payload: { orderId, masterPositionId: '1' } },
        g.clock.now(),
      );
    const c = client('F1');
    const first = await c.connect();
    // The lease lapses (the gateway was down): the ended session still reads what is addressed
    // to it, its init ack, and nothing else.
    g.clock.advance((3 * HEARTBEAT_SEC + 1) * 1000);
    const ended = await c.poll();
    expect(ended.events.map((e) => e.type)).toEqual(['session.init_ack']);
    // Meanwhile a heartbeat replaced the session; the init ack's acknowledgement goes out under
    // the new one, which may not acknowledge its predecessor's own event.
    await c.heartbeat({ balance: 1, equity: 1, margin: 0, openPositions: 0 });
    expect(c.session!.sessionId).not.toBe(first.sessionId);
    const res = await c.ack(ended.events);
    expect(res.refused.map((r) => r.reason)).toEqual(['unknown_event']);
    expect(c.cursor).toBe(0);
    expect((await c.poll()).events.map((e) => e.payload['orderId'] ?? e.type)).toEqual([
      'o-1',
      'o-2',
      'session.init_ack',
    ]);
  });

  /** Signs in as the configured admin and calls the management API. */
  const operator = async (method: string, path: string, body: unknown) => {
    const login = await fetch(`${g.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const { token } = (await login.json()) as { token: string };
    const res = await fetch(`${g.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': `op-${Math.random()}`,
      },
      body: JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return res.json();
  };

  it('does not come back after an operator terminated the session (reconnectAfterSec: null)', async () => {
    await approvedAccount(g, 'F1');
    const created: string[] = [];
    const c = client('F1', { onSession: (s) => created.push(s.sessionId) });
    const s = await c.connect();
    await operator('POST', `/api/admin/sessions/${s.sessionId}/terminate`, { reason: 'maintenance' });
    const err = await c
      .heartbeat({ balance: 1, equity: 1, margin: 0, openPositions: 0 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionShutdownError);
    expect(err).toMatchObject({ reason: 'terminated', message: 'maintenance' });
    await expect(c.poll()).rejects.toBeInstanceOf(SessionShutdownError);
    expect(created).toEqual([s.sessionId]);
    const unacked = await g.platform.database.db
      .selectFrom('outbox_events')
      .select('type')
      .where('account_id', '=', 'F1')
      .where('acked_at', 'is', null)
      .execute();
    expect(unacked).toEqual([]);
  });

  it('lets a simulated follower carry out a manual order.command and report its outcome', async () => {
    const key = await approvedAccount(g, 'F1');
    const f = new SimFollower({
      gateway: g.url,
      accountId: 'F1',
      authKey: key,
      wait: 5,
      snapshotIntervalMs: 0,
    });
    clients.push(f.client);
    await f.start();
    const queued = (await operator('POST', `/trade-agent/v1/sessions/${f.client.session!.sessionId}/orders`, {
      action: 'open',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.2,
      comment: 'by hand',
    })) as { commandId: string };
    await expect.poll(() => f.account.positions.size, { timeout: 5000 }).toBe(1);
    const ticket = [...f.account.positions.keys()][0];
    await expect
      .poll(async () => {
        const rows = await g.platform.database.db
          .selectFrom('inbox_events')
          .select('payload')
          .where('account_id', '=', 'F1')
          .where('event_type', '=', 'ea.execution_notice')
          .execute();
        return rows.map((r) => JSON.parse(r.payload));
      })
      .toEqual([
        {
          commandId: queued.commandId,
          action: 'open',
          status: 'filled',
          ticket,
          message: `opened ticket ${ticket}`,
        },
      ]);
    await f.stop();
  });

  it('sends heartbeats on the advertised interval', async () => {
    await approvedAccount(g, 'F1');
    const clock = new InstantClock();
    let beats = 0;
    const stop = new AbortController();
    clock.onSleep = () => {
      if (clock.sleeps.length >= 3) stop.abort();
    };
    const c = client('F1', { clock });
    await c.connect();
    const hb = c.startHeartbeats(
      () => {
        beats++;
        return { balance: 100, equity: 100, margin: 0, openPositions: 0 };
      },
      { signal: stop.signal },
    );
    await hb.done;
    expect(clock.sleeps).toEqual([HEARTBEAT_SEC * 1000, HEARTBEAT_SEC * 1000, HEARTBEAT_SEC * 1000]);
    expect(beats).toBe(3);
    const stored = await g.platform.database.db
      .selectFrom('inbox_events')
      .select('event_type')
      .where('account_id', '=', 'F1')
      .where('event_type', '=', 'ea.heartbeat')
      .execute();
    expect(stored).toHaveLength(3);
  });

  it('runs `kopitra ea master|follower` with one line per trade and execution', async () => {
    const masterKey = await approvedAccount(g, 'M1');
    const followerKey = await approvedAccount(g, 'F1');
    const db = g.platform.database.db;
    const grp = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, g.clock.now());
    await putSubscription(
      db,
      {
        groupId: grp.group_id,
        followerAccountId: 'F1',
        settings: {
          symbolMap: {
            EURUSD: 'EURUSD.m',
            GBPUSD: 'GBPUSD.m',
            USDJPY: 'USDJPY.m',
            XAUUSD: 'XAUUSD.m',
            US30: 'US30.m',
          },
        },
      },
      g.clock.now(),
    );

    const usage: string[] = [];
    expect(await runEaCommand(['trader', '--gateway', g.url], { err: (l) => usage.push(l) })).toBe(2);
    expect(usage.join('\n')).toMatch(/master or follower.*--account ID is required/s);

    const followerLines: string[] = [];
    const stopFollower = new AbortController();
    const follower = runEaCommand(
      [
        'follower',
        '--gateway',
        g.url,
        '--account',
        'F1',
        '--key',
        followerKey,
        '--suffix',
        '.m',
        '--seed',
        '3',
        '--latency-ms',
        '1-3',
      ],
      { out: (l) => followerLines.push(l), signal: stopFollower.signal },
    );
    await expect.poll(() => followerLines.some((l) => l.includes('session ses_'))).toBe(true);
    const masterLines: string[] = [];
    const code = await runEaCommand(
      [
        'master',
        '--gateway',
        g.url,
        '--account',
        'M1',
        '--key',
        masterKey,
        '--seed',
        '3',
        '--trades',
        '6',
        '--interval-ms',
        '10',
      ],
      { out: (l) => masterLines.push(l) },
    );
    expect(code).toBe(0);
    expect(masterLines.at(-1)).toBe('master M1: 6 signals sent');
    expect(masterLines.filter((l) => / → \d+ copies/.test(l))).toHaveLength(6);
    await expect
      .poll(() => followerLines.filter((l) => /order ord_/.test(l)).length, { timeout: 5000 })
      .toBe(6);
    expect(followerLines.some((l) => /filled open \S+\.m /.test(l))).toBe(true);
    stopFollower.abort();
    expect(await follower).toBe(0);
    expect(followerLines.at(-1)).toMatch(/^follower F1: 6 executions/);
  });

  describe.each(['poll', 'websocket'] as const)('outbox over %s', (transport) => {
    it('delivers trade events, acknowledges after the handler, and redelivers what was not finished', async () => {
      await approvedAccount(g, 'M1');
      await approvedAccount(g, 'F1');
      const db = g.platform.database.db;
      const grp = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, g.clock.now());
      await putSubscription(
        db,
        {
          groupId: grp.group_id,
          followerAccountId: 'F1',
          settings: { sizing: { mode: 'multiplier', multiplier: 2 } },
        },
        g.clock.now(),
      );
      const follower = client('F1');
      await follower.symbolCatalog(symbolCatalogue().map((s) => s.spec));
      const master = client('M1', { role: 'master' });
      const open = (id: string) =>
        master.signal({
          type: 'position.opened',
          masterPositionId: id,
          symbol: 'EURUSD',
          side: 'sell',
          volume: 0.3,
          price: 1.085,
          occurredAt: new Date(g.clock.now()).toISOString(),
          dealTicket: `d${id}`,
        });

      // The session's init ack, then a trade: the loop body that breaks leaves the trade unacknowledged.
      await open('601');
      const seen: OutboxEvent[] = [];
      for await (const e of follower.events({ transport, wait: 5 })) {
        seen.push(e);
        if (e.type === 'trade.started') break;
      }
      expect(seen.map((e) => e.type)).toEqual(['session.init_ack', 'trade.started']);
      expect(seen[1]!.payload).toMatchObject({
        symbol: 'EURUSD',
        side: 'sell',
        volume: 0.6,
        comment: positionTag(grp.group_id, '601'),
      });
      expect(follower.cursor).toBe(seen[0]!.sequence);

      // Read again: the unfinished trade comes back first; a new one follows; both are acknowledged.
      await open('602');
      const handled: OutboxEvent[] = [];
      const stop = new AbortController();
      await follower.consume(
        (e) => {
          handled.push(e);
          if (handled.length === 2) stop.abort();
        },
        { transport, wait: 5, signal: stop.signal },
      );
      expect(handled.map((e) => e.payload['masterPositionId'])).toEqual(['601', '602']);
      expect(handled[0]!.eventId).toBe(seen[1]!.eventId);
      expect(follower.cursor).toBe(handled[1]!.sequence);
      const pending = await db
        .selectFrom('outbox_events')
        .select('event_id')
        .where('account_id', '=', 'F1')
        .where('acked_at', 'is', null)
        .execute();
      expect(pending).toEqual([]);
    });
  });
});
