/**
 * Input that used to reach the database or the stack and come back as a 500: NUL characters
 * (PostgreSQL refuses them in text), a cursor beyond a double, JSON nested 20,000 deep, a
 * signal dated centuries away, a terminal build beyond a 32-bit integer. Each is a coded 400
 * on both dialects and stores nothing. Also answers the generated-input tests
 * (generated-input.test.ts) found uncoded: a body sent to a route that takes none (it was
 * ignored and the action done), a URL that is not valid percent-encoding, a plain GET on the
 * WebSocket stream.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../testing/databases.js';
import { ADMIN, BASE, idem, startTestPlatform, terminal, type TestPlatform } from '../testing/platform.js';
import { SimMaster } from '../testing/sim.js';

const NUL = '\u0000';

const rows = async (tp: TestPlatform, table: 'signals' | 'inbox_events' | 'accounts' | 'sessions') =>
  Number(
    (
      await tp.platform.database.db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe.each(dialects)('bad input on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  const signal = (p: TestPlatform, master: SimMaster, body: Record<string, unknown> | string) =>
    p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/signals`,
      headers: { ...master.headers(false), 'idempotency-key': idem() },
      payload: body,
    });
  const open = (p: TestPlatform, extra: Record<string, unknown> = {}) => ({
    type: 'position.opened',
    masterPositionId: '1',
    symbol: 'EURUSD',
    side: 'buy',
    volume: 1,
    price: 1.1,
    occurredAt: new Date(p.clock.now()).toISOString(),
    ...extra,
  });

  it('answers NUL characters in ids, symbols, comments, broker names and ack ids with a coded 400', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-nul').connect();
    for (const extra of [
      { symbol: `EUR${NUL}USD` },
      { masterPositionId: `1${NUL}` },
      { comment: `hello${NUL}` },
      { signalId: `s${NUL}1` },
    ]) {
      const res = await signal(p, master, open(p, extra));
      expect([res.statusCode, res.json().error], JSON.stringify(extra)).toEqual([400, 'invalid_request']);
    }
    expect(await rows(p, 'signals')).toBe(0);

    const accounts = await rows(p, 'accounts');
    const broker = await terminal(p.platform, 'nul-broker').create({ broker: `Broker${NUL}Ltd` });
    expect([broker.statusCode, broker.json().error]).toEqual([400, 'invalid_request']);
    expect(await rows(p, 'accounts')).toBe(accounts);

    const before = await rows(p, 'inbox_events');
    const ack = await p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/inbox`,
      headers: { ...master.headers(false), 'idempotency-key': idem() },
      payload: { events: [{ eventType: 'OutboxAck', eventId: `evt${NUL}` }] },
    });
    expect([ack.statusCode, ack.json().error]).toEqual([400, 'invalid_request']);
    const error = await p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/inbox`,
      headers: { ...master.headers(false), 'idempotency-key': idem() },
      payload: { events: [{ eventType: 'ea.error', payload: { message: `bad${NUL}` } }] },
    });
    expect([error.statusCode, error.json().error]).toEqual([400, 'invalid_request']);
    expect(await rows(p, 'inbox_events')).toBe(before);
  });

  it('answers a cursor of 1e400 with a coded 400', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-cursor').connect();
    for (const cursor of ['1e400', '-1', 'NaN', '9'.repeat(400)]) {
      const res = await p.platform.app.inject({
        method: 'GET',
        url: `${BASE}/sessions/current/outbox?cursor=${cursor}`,
        headers: master.headers(false),
      });
      expect([res.statusCode, res.json().error], cursor).toEqual([400, 'invalid_request']);
    }
  });

  it('answers JSON nested 20,000 deep with a coded 400', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-deep').connect();
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const body = JSON.stringify(open(p)).replace('"price":1.1', `"price":1.1,"extra":${deep}`);
    const res = await signal(p, master, body);
    expect([res.statusCode, res.json().error]).toEqual([400, 'invalid_request']);
    const objects = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    const res2 = await signal(p, master, objects);
    expect([res2.statusCode, res2.json().error]).toEqual([400, 'invalid_request']);
    expect(await rows(p, 'signals')).toBe(0);
  });

  it('refuses a signal dated far from server time instead of copying it with that expiry', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-time').connect();
    for (const occurredAt of ['2999-01-01T00:00:00.000Z', '1970-01-02T00:00:00.000Z']) {
      const res = await signal(p, master, open(p, { occurredAt }));
      expect([res.statusCode, res.json().error], occurredAt).toEqual([400, 'invalid_request']);
      expect(res.json().issues[0].path).toBe('body.occurredAt');
    }
    expect(await rows(p, 'signals')).toBe(0);
    const ok = await signal(
      p,
      master,
      open(p, { occurredAt: new Date(p.clock.now() - 60_000).toISOString() }),
    );
    expect(ok.statusCode).toBe(202);
  });
});

describe.each(dialects)('bad requests found by generated input on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('refuses a body on a route that takes none, and does nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M-nobody').connect();
    const release = await p.platform.app.inject({
      method: 'POST',
      url: `${BASE}/sessions/current/release`,
      headers: { ...master.headers(false), 'idempotency-key': idem() },
      payload: { force: true },
    });
    expect([release.statusCode, release.json().error]).toEqual([400, 'invalid_request']);
    const login = await p.platform.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: ADMIN.email, password: ADMIN.password },
    });
    const token = login.json().token;
    const logout = (payload?: unknown) =>
      p.platform.app.inject({
        method: 'POST',
        url: '/api/auth/logout',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
      });
    for (const body of [null, [], { everywhere: true }, 'x']) {
      const res = await logout(body);
      expect([res.statusCode, res.json().error], JSON.stringify(body)).toEqual([400, 'invalid_request']);
    }
    // Nothing happened: the session is live and the token still works; `{}` is no body.
    const poll = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox`,
      headers: master.headers(false),
    });
    expect(poll.statusCode).toBe(200);
    expect((await logout({})).statusCode).toBe(200);
  });

  it('answers a URL that is not valid percent-encoding with a coded 400', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    for (const url of [
      '/api/admin/groups/%FF',
      `${BASE}/sessions/%E0%A4%A/orders`,
      '/api/admin/users/%ED%A0%80',
    ])
      for (const method of ['GET', 'POST', 'DELETE'] as const) {
        const res = await p.platform.app.inject({ method, url });
        expect([res.statusCode, res.json().error], `${method} ${url}`).toEqual([400, 'invalid_request']);
      }
  });

  it('answers a plain GET on the WebSocket stream with a coded 426, and a bad cursor before the upgrade', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const follower = await new SimMaster(p.platform, 'F-plain').connect();
    const plain = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/stream`,
      headers: follower.headers(false),
    });
    expect([plain.statusCode, plain.json().error]).toEqual([426, 'upgrade_required']);
    const bad = await p.platform.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/stream?cursor=1e400`,
      headers: follower.headers(false),
    });
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_request']);
  });

  it('refuses a terminal build no 32-bit column holds, and registers nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const before = await rows(p, 'accounts');
    const res = await terminal(p.platform, 'build-overflow').create({ terminalBuild: 2 ** 31 });
    expect([res.statusCode, res.json().error]).toEqual([400, 'invalid_request']);
    expect(await rows(p, 'accounts')).toBe(before);
  });
});
