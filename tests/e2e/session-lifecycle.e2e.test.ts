/**
 * A terminal's whole session life against the built server over real sockets, on SQLite
 * and PostgreSQL: pending → approved by the CLI over the bus → init_ack → ack → empty; a
 * second terminal refused; an idempotent replay; SIGKILL and restart with nothing lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import {
  dialects,
  dropTarget,
  freshTarget,
  tempDir,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import type { DatabaseTarget } from '../../packages/server/src/store/database.js';
import { runKopitra, spawnKopitra, type Spawned } from './support.js';

const B = '/trade-agent/v1';
const ACCOUNT = '2100777';
const sessionBody = {
  authMethod: 'account_session_key',
  authKey: 'e2e-terminal-key-0123456789',
  platform: 'MT5',
  role: 'follower',
  eaVersion: '1.0.0',
  terminalBuild: 4410,
};

describe.each(dialects)('session lifecycle, spawned server on %s', (dialect) => {
  const running: Spawned[] = [];
  let target: DatabaseTarget | null = null;
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill('SIGKILL')));
    await dropTarget(target);
  });

  it('approves, delivers, refuses a second terminal, and survives SIGKILL', async (t) => {
    target = await freshTarget(dialect);
    if (!target) return t.skip();
    const env: Record<string, string> = {
      KOPITRA_DATA_DIR: tempDir(),
      DATABASE_URL: target.dialect === 'sqlite' ? target.file : urlWithSchema(target),
      KOPITRA_BUS_POLL_MS: '50',
    };
    let server = await spawnKopitra(['up'], env);
    running.push(server);
    const call = async (
      method: string,
      path: string,
      opts: { token?: string; key?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(`${server.url}${B}${path}`, {
        method,
        headers: {
          'x-tradeagent-account': ACCOUNT,
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.key ? { 'idempotency-key': opts.key } : {}),
          ...(opts.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };

    const created = await call('POST', '/sessions', { key: 'create-1', body: sessionBody });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('pending');
    const { token, sessionId } = created.body;

    // The operator approves from the command line; the running gateway applies it from the bus.
    const waiting = call('GET', '/sessions/current/outbox?wait=20', { token });
    const approval = await runKopitra(['sessions', 'approve', sessionId], env);
    expect(approval.stdout).toContain('approval for');
    const woke = await waiting;
    expect(woke.status).toBe(200);
    expect(woke.body.status).toBe('authenticated');
    expect(woke.body.events.map((e: any) => [e.type, e.sequence])).toEqual([['session.init_ack', 1]]);

    const list = await runKopitra(['sessions', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ sessionId, status: 'authenticated' });

    const acked = await call('POST', '/sessions/current/inbox', {
      token,
      key: 'ack-1',
      body: { events: [{ eventType: 'OutboxAck', eventId: woke.body.events[0].eventId, sequence: 1 }] },
    });
    expect(acked.status).toBe(202);
    expect((await call('GET', '/sessions/current/outbox', { token })).body.events).toEqual([]);

    const second = await call('POST', '/sessions', { key: 'create-2', body: sessionBody });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('session_conflict');
    const replay = await call('POST', '/sessions', { key: 'create-1', body: sessionBody });
    expect(replay.status).toBe(201);
    expect(replay.body.token).toBe(token);
    expect(replay.body.sessionId).toBe(sessionId);

    const hb = await call('POST', '/sessions/current/inbox', {
      token,
      key: 'hb-1',
      body: {
        events: [
          {
            eventType: 'ea.heartbeat',
            payload: { balance: 5000, equity: 5010, margin: 10, openPositions: 1 },
          },
        ],
      },
    });
    expect(hb.status).toBe(202);

    // Killed hard right after the 202s: everything acknowledged to the EA must be on disk.
    await server.kill('SIGKILL');
    server = await spawnKopitra(['up'], env);
    running.push(server);

    // The session, its acknowledged state and the numbering survive.
    const after = await call('GET', '/sessions/current/outbox', { token });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ status: 'authenticated', events: [] });
    const hbReplay = await call('POST', '/sessions/current/inbox', {
      token,
      key: 'hb-1',
      body: {
        events: [
          {
            eventType: 'ea.heartbeat',
            payload: { balance: 5000, equity: 5010, margin: 10, openPositions: 1 },
          },
        ],
      },
    });
    expect(hbReplay).toEqual(hb);
    const released = await call('DELETE', '/sessions/current', { token, key: 'bye-1' });
    expect(released.status).toBe(200);
    const next = await call('POST', '/sessions', { key: 'create-3', body: sessionBody });
    expect(next.status).toBe(201);
    expect(next.body).toMatchObject({ status: 'authenticated', lastSequence: 1 });
    const fresh = await call('GET', '/sessions/current/outbox', { token: next.body.token });
    expect(fresh.body.events.map((e: any) => [e.type, e.sequence])).toEqual([['session.init_ack', 2]]);
    // Left unacknowledged across another hard kill: it is replayed with the same sequence.
    await server.kill('SIGKILL');
    server = await spawnKopitra(['up'], env);
    running.push(server);
    const replayed = await call('GET', '/sessions/current/outbox', { token: next.body.token });
    expect(replayed.body.events).toEqual(fresh.body.events);
    await server.kill('SIGTERM');
    expect(server.child.exitCode).toBe(0);
  });
});
