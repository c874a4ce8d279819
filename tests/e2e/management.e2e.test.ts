/**
 * An operator's day against the spawned all-in-one server: sign in, build the team, set up
 * accounts and a group, approve a terminal, watch a signal become copy orders, run a resync
 * with its progress on the live stream, read the audit trail; a viewer may read but not write.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../packages/server/src/testing/databases.js';
import { spawnKopitra, type Spawned } from './support.js';

const ADMIN = { email: 'admin@e2e.local', password: 'admin-password-e2e-0123' };

describe('management API, spawned all-in-one server', () => {
  let server: Spawned | undefined;
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('runs the operator workflow end to end', async () => {
    server = await spawnKopitra(['up'], {
      KOPITRA_DATA_DIR: tempDir(),
      KOPITRA_ADMIN_EMAIL: ADMIN.email,
      KOPITRA_ADMIN_PASSWORD: ADMIN.password,
      KOPITRA_BUS_POLL_MS: '50',
    });
    const url = server.url;
    const api = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const ea = async (
      method: string,
      path: string,
      account: string,
      opts: { token?: string; key?: string; body?: unknown } = {},
    ) => {
      const res = await fetch(`${url}/trade-agent/v1${path}`, {
        method,
        headers: {
          'x-tradeagent-account': account,
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.key ? { 'idempotency-key': opts.key } : {}),
          ...(opts.body ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };

    const admin = (await api('POST', '/api/auth/login', undefined, ADMIN)).body.token as string;
    expect(
      (
        await api('POST', '/api/admin/users', admin, {
          email: 'op@e2e.local',
          role: 'operator',
          password: 'operator-password-0123',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await api('POST', '/api/admin/users', admin, {
          email: 'view@e2e.local',
          role: 'viewer',
          password: 'viewer-password-0123',
        })
      ).status,
    ).toBe(201);
    const op = (
      await api('POST', '/api/auth/login', undefined, {
        email: 'op@e2e.local',
        password: 'operator-password-0123',
      })
    ).body.token as string;
    const viewer = (
      await api('POST', '/api/auth/login', undefined, {
        email: 'view@e2e.local',
        password: 'viewer-password-0123',
      })
    ).body.token as string;

    for (const accountId of ['M-100', 'F-200'])
      expect((await api('POST', '/api/admin/accounts', op, { accountId, platform: 'MT5' })).status).toBe(201);
    const masterKey = (await api('POST', '/api/admin/accounts/M-100/keys', op, {})).body.key as string;
    const f200Key = (await api('POST', '/api/admin/accounts/F-200/keys', op, {})).body.key as string;
    const group = (await api('POST', '/api/admin/groups', op, { name: 'Signals', masterAccountId: 'M-100' }))
      .body;
    expect(
      (
        await api('PUT', `/api/admin/groups/${group.groupId}/followers/F-200`, op, {
          sizing: { mode: 'multiplier', multiplier: 2 },
        })
      ).status,
    ).toBe(200);

    // A terminal set up before its account was entered: pending until approved from the API.
    const pending = await ea('POST', '/sessions', 'F-300', {
      key: 'f300-1',
      body: {
        authMethod: 'account_session_key',
        authKey: 'f300-generated-key-0123456789',
        platform: 'MT4',
        role: 'follower',
        eaVersion: '1.0',
        terminalBuild: 1400,
      },
    });
    expect(pending.body.status).toBe('pending');
    const listed = await api('GET', '/api/admin/sessions?status=pending', viewer);
    expect(listed.body.items.map((s: any) => s.sessionId)).toContain(pending.body.sessionId);
    expect((await api('POST', `/api/admin/sessions/${pending.body.sessionId}/approve`, op, {})).status).toBe(
      200,
    );
    const init = await ea('GET', '/sessions/current/outbox?wait=10', 'F-300', { token: pending.body.token });
    expect(init.body.status).toBe('authenticated');
    expect(
      (
        await api('PUT', `/api/admin/groups/${group.groupId}/followers/F-300`, op, {
          sizing: { mode: 'fixed', lots: 0.05 },
        })
      ).status,
    ).toBe(200);

    const master = await ea('POST', '/sessions', 'M-100', {
      key: 'm-1',
      body: {
        authMethod: 'account_session_key',
        authKey: masterKey,
        platform: 'MT5',
        role: 'master',
        eaVersion: '1.0',
        terminalBuild: 4410,
      },
    });
    const f200 = await ea('POST', '/sessions', 'F-200', {
      key: 'f200-1',
      body: {
        authMethod: 'account_session_key',
        authKey: f200Key,
        platform: 'MT5',
        role: 'follower',
        eaVersion: '1.0',
        terminalBuild: 4410,
      },
    });
    expect([master.body.status, f200.body.status]).toEqual(['authenticated', 'authenticated']);
    for (const [account, token] of [
      ['F-200', f200.body.token],
      ['F-300', pending.body.token],
    ]) {
      expect(
        (
          await ea('POST', '/sessions/current/inbox', account, {
            token,
            key: `cat-${account}`,
            body: {
              events: [
                {
                  eventType: 'ea.symbol_catalog',
                  payload: {
                    symbols: [
                      {
                        symbol: 'EURUSD',
                        digits: 5,
                        point: 0.00001,
                        tickSize: 0.00001,
                        tickValue: 1,
                        contractSize: 100000,
                        volumeMin: 0.01,
                        volumeMax: 100,
                        volumeStep: 0.01,
                        tradeMode: 'full',
                      },
                    ],
                  },
                },
              ],
            },
          })
        ).status,
      ).toBe(202);
    }
    const signal = await ea('POST', '/signals', 'M-100', {
      token: master.body.token,
      key: 'deal-1',
      body: {
        type: 'position.opened',
        masterPositionId: '9001',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.3,
        price: 1.1,
        occurredAt: new Date().toISOString(),
        dealTicket: 9001,
      },
    });
    expect(signal.status).toBe(202);
    expect(signal.body.copies).toHaveLength(2);
    const orders = await api('GET', '/api/admin/orders?masterAccountId=M-100', viewer);
    expect(orders.body.items.map((o: any) => [o.followerAccountId, o.volume]).sort()).toEqual([
      ['F-200', 0.6],
      ['F-300', 0.05],
    ]);

    // The live stream, opened before the task starts, with a single-use ticket (never the token).
    const ticket = await api('POST', '/api/admin/stream/ticket', viewer);
    expect(ticket.status).toBe(201);
    const stream = await fetch(`${url}/api/admin/stream?ticket=${ticket.body.ticket}`);
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = stream.body!.getReader();
    const run = await api('POST', '/api/admin/tasks/resync-follower/run', op, {
      params: { accountId: 'F-200' },
    });
    expect(run.status).toBe(202);
    const seen: Array<{ status: string; progress: number }> = [];
    let buffer = '';
    const decoder = new TextDecoder();
    while (!seen.some((e) => e.status === 'completed' || e.status === 'failed')) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const frames = buffer.split('\n\n');
      buffer = frames.pop() ?? '';
      for (const frame of frames) {
        const data = frame.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const event = JSON.parse(data.slice(6));
        if (event.type === 'task.progress' && event.runId === run.body.runId) seen.push(event);
      }
    }
    await reader.cancel();
    expect(seen[0]!.status).toBe('running');
    expect(seen.some((e) => e.status === 'running' && e.progress > 0 && e.progress <= 1)).toBe(true);
    expect(seen.at(-1)!.status).toBe('completed');

    const audit = await api('GET', '/api/admin/audit?limit=200', viewer);
    const actions = audit.body.items.map((a: any) => a.action);
    for (const action of [
      'user.create',
      'account.create',
      'key.issue',
      'group.create',
      'subscription.create',
      'session.approve',
      'session.authenticated',
      'task.run',
    ])
      expect(actions).toContain(action);

    // The viewer reads everything and may write nothing.
    const writes: Array<[string, string, unknown]> = [
      ['POST', '/api/admin/accounts', { accountId: 'X', platform: 'MT5' }],
      ['PATCH', '/api/admin/accounts/F-200', { status: 'disabled' }],
      ['POST', '/api/admin/accounts/F-200/keys', {}],
      ['POST', '/api/admin/groups', { name: 'x', masterAccountId: 'M-100' }],
      ['PUT', `/api/admin/groups/${group.groupId}/followers/F-200`, {}],
      ['DELETE', `/api/admin/groups/${group.groupId}`, undefined],
      ['POST', `/api/admin/sessions/${pending.body.sessionId}/terminate`, { reason: 'x' }],
      ['POST', '/api/admin/tasks/resync-follower/run', { params: { accountId: 'F-200' } }],
      ['POST', '/api/admin/users', { email: 'x@e2e.local', role: 'admin', password: 'password-0123456' }],
    ];
    for (const [method, path, body] of writes)
      expect([method, path, (await api(method, path, viewer, body)).status]).toEqual([method, path, 403]);
  });
});
