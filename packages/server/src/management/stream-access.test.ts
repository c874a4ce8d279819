/**
 * The console's live stream opens with a single-use, short-lived ticket (never a token in the
 * URL), and an open stream ends as soon as its operator's access shrinks: sign-out, disable,
 * demotion, token expiry — also when the change is made on another replica.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isoTime } from '@kopitra/contracts';
import { dialects } from '../testing/databases.js';
import { ADMIN, startReplica, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import type { Platform } from '../runtime.js';

interface OpenStream {
  status: number;
  /** Everything received so far. */
  text(): string;
  /** Resolves once `pattern` has been received. */
  until(pattern: string): Promise<string>;
  /** Resolves with everything received when the server ends the stream. */
  ended: Promise<string>;
  abort(): void;
}

async function openStream(baseUrl: string, query: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(`${baseUrl}/api/admin/stream${query}`, { headers, signal: controller.signal });
  let received = '';
  const waiters: Array<() => void> = [];
  const ended = (async () => {
    if (!res.headers.get('content-type')?.includes('text/event-stream')) {
      received = await res.text();
      return received;
    }
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return received;
        received += decoder.decode(value, { stream: true });
        waiters.splice(0).forEach((w) => w());
      }
    } catch {
      return received; // aborted by the test
    } finally {
      waiters.splice(0).forEach((w) => w());
    }
  })();
  const stream: OpenStream = {
    status: res.status,
    text: () => received,
    until: async (pattern) => {
      while (!received.includes(pattern)) {
        const more = new Promise<void>((resolve) => waiters.push(resolve));
        const finished = await Promise.race([more.then(() => false), ended.then(() => true)]);
        if (finished && !received.includes(pattern))
          throw new Error(`stream ended without ${pattern}: ${received}`);
      }
      return received;
    },
    ended,
    abort: () => controller.abort(),
  };
  return stream;
}

describe.each(dialects)('live stream access on %s', (dialect) => {
  let tp: TestPlatform | null = null;
  const replicas: Platform[] = [];
  const streams: OpenStream[] = [];
  afterEach(async () => {
    streams.splice(0).forEach((s) => s.abort());
    for (const r of replicas.splice(0)) await r.stop();
    await tp?.close();
    tp = null;
  });

  const start = async () => {
    tp = await startTestPlatform(dialect, { KOPITRA_TOKEN_TTL_SEC: '3600' });
    if (!tp) return null;
    const url = await tp.platform.app.listen({ port: 0, host: '127.0.0.1' });
    return { tp, url };
  };
  const api = async (
    platform: Platform,
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    token?: string,
    payload?: unknown,
  ) => {
    const res = await platform.app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    return { status: res.statusCode, body: res.json() };
  };
  const login = async (platform: Platform, email: string, password: string) => {
    const res = await api(platform, 'POST', '/api/auth/login', undefined, { email, password });
    expect(res.status).toBe(200);
    return res.body.token as string;
  };
  const ticketFor = async (platform: Platform, token: string) => {
    const res = await api(platform, 'POST', '/api/admin/stream/ticket', token);
    expect(res.status).toBe(201);
    return res.body.ticket as string;
  };
  const open = async (baseUrl: string, query: string, headers?: Record<string, string>) => {
    const s = await openStream(baseUrl, query, headers);
    streams.push(s);
    return s;
  };
  /** An operator of `role` and their token. */
  const operator = async (platform: Platform, admin: string, role: 'viewer' | 'operator') => {
    const email = `${role}-${randomBytes(3).toString('hex')}@stream.local`;
    const password = `Tq${randomBytes(6).toString('hex')}!stream`;
    const created = await api(platform, 'POST', '/api/admin/users', admin, { email, role, password });
    expect(created.status).toBe(201);
    return { userId: created.body.userId as string, token: await login(platform, email, password) };
  };

  it('opens with a fresh single-use ticket, stored hashed; a token in the URL opens nothing', async (t) => {
    const s = await start();
    if (!s) return t.skip();
    const { platform, clock } = s.tp;
    const admin = await login(platform, ADMIN.email, ADMIN.password);

    // The old way: the token itself in the URL, where logs and proxies keep it.
    const byToken = await open(s.url, `?access_token=${admin}`);
    expect(byToken.status).toBe(401);
    expect(JSON.parse(await byToken.ended).error).toBe('stream_ticket_invalid');
    expect((await open(s.url, '')).status).toBe(401);
    expect((await api(platform, 'POST', '/api/admin/stream/ticket')).status).toBe(401);

    const issued = await api(platform, 'POST', '/api/admin/stream/ticket', admin);
    expect(issued.status).toBe(201);
    expect(issued.body.expiresAt).toBe(isoTime(clock.now() + 30_000));
    const ticket = issued.body.ticket as string;
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await platform.database.db.selectFrom('stream_tickets').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(ticket);

    const stream = await open(s.url, `?ticket=${ticket}`);
    expect(stream.status).toBe(200);
    await stream.until(': connected');
    // Taken: the ticket cannot open a second stream, on this replica or any other.
    const again = await open(s.url, `?ticket=${ticket}`);
    expect(again.status).toBe(401);
    expect(JSON.parse(await again.ended).error).toBe('stream_ticket_invalid');
    expect(await platform.database.db.selectFrom('stream_tickets').selectAll().execute()).toEqual([]);

    // Events flow as before.
    await terminal(platform, 'STREAM-1').create();
    await stream.until('event: session.state_changed');

    // An unused ticket lapses after 30 s.
    const late = await ticketFor(platform, admin);
    clock.advance(30_001);
    expect((await open(s.url, `?ticket=${late}`)).status).toBe(401);
    expect((await open(s.url, `?ticket=${late}x`)).status).toBe(401);
    // A client that can send headers may still use its bearer token.
    const byHeader = await open(s.url, '', { authorization: `Bearer ${admin}` });
    expect(byHeader.status).toBe(200);
    await byHeader.until(': connected');
  });

  it('closes at once when its operator signs out', async (t) => {
    const s = await start();
    if (!s) return t.skip();
    const { platform } = s.tp;
    const admin = await login(platform, ADMIN.email, ADMIN.password);
    const stream = await open(s.url, `?ticket=${await ticketFor(platform, admin)}`);
    await stream.until(': connected');
    expect((await api(platform, 'POST', '/api/auth/logout', admin)).status).toBe(200);
    // No tick: the sign-out itself wakes the guard.
    const text = await stream.ended;
    expect(text).toContain('event: stream.closed');
    expect(text).toContain('token revoked');
  });

  // Operators are created and signed in with argon2id: slow on a loaded machine.
  it(
    'closes when its operator is demoted, disabled or their password reset',
    { timeout: 60_000 },
    async (t) => {
      const s = await start();
      if (!s) return t.skip();
      const { platform } = s.tp;
      const admin = await login(platform, ADMIN.email, ADMIN.password);
      const changed = await operator(platform, admin, 'operator');
      const reset = await operator(platform, admin, 'viewer');
      const streamOf = async (token: string) => {
        const stream = await open(s.url, `?ticket=${await ticketFor(platform, token)}`);
        await stream.until(': connected');
        return stream;
      };
      const [demotedStream, resetStream, adminStream] = await Promise.all(
        [changed.token, reset.token, admin].map(streamOf),
      );
      const patch = (userId: string, body: unknown) =>
        api(platform, 'PATCH', `/api/admin/users/${userId}`, admin, body);

      expect((await patch(changed.userId, { role: 'viewer' })).status).toBe(200);
      expect(await demotedStream!.ended).toContain('role changed');
      // Demoted, the same token opens a stream again; disabled, that one ends too.
      const againStream = await streamOf(changed.token);
      expect((await patch(changed.userId, { status: 'disabled' })).status).toBe(200);
      expect(await againStream.ended).toContain('event: stream.closed');
      expect(
        (await api(platform, 'POST', `/api/admin/users/${reset.userId}/reset-password`, admin)).status,
      ).toBe(200);
      expect(await resetStream!.ended).toContain('token revoked');

      // Someone else's changes leave a stream alone: it still delivers.
      await terminal(platform, 'STREAM-2').create();
      await adminStream!.until('event: session.state_changed');
      expect(adminStream!.text()).not.toContain('stream.closed');
    },
  );

  it('closes when its token expires, at the next tick', async (t) => {
    const s = await start();
    if (!s) return t.skip();
    const { platform, clock, ticker } = s.tp;
    const admin = await login(platform, ADMIN.email, ADMIN.password);
    const stream = await open(s.url, `?ticket=${await ticketFor(platform, admin)}`);
    await stream.until(': connected');
    clock.advance(3_600_000);
    ticker.tick();
    expect(await stream.ended).toContain('token expired');
  });

  it('closes on another replica when the operator signs out on this one', async (t) => {
    const s = await start();
    if (!s) return t.skip();
    const replica = await startReplica(s.tp, { gateway: false, management: true });
    replicas.push(replica.platform);
    const replicaUrl = await replica.platform.app.listen({ port: 0, host: '127.0.0.1' });
    const admin = await login(s.tp.platform, ADMIN.email, ADMIN.password);
    // Issued on one replica, taken on the other.
    const stream = await open(replicaUrl, `?ticket=${await ticketFor(s.tp.platform, admin)}`);
    expect(stream.status).toBe(200);
    await stream.until(': connected');

    expect((await api(s.tp.platform, 'POST', '/api/auth/logout', admin)).status).toBe(200);
    // PostgreSQL carries the sign-out to the other replica by NOTIFY; SQLite replicas share
    // no notifier, and the other replica finds the revoked token at its next tick.
    if (dialect === 'sqlite') replica.ticker.tick();
    expect(await stream.ended).toContain('token revoked');
  });
});
