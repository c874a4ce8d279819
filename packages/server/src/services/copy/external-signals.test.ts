/**
 * External signals as a whole chain: an admin makes an account a virtual master, a
 * TradingView-style alert (and a signed script) reaches `POST /api/signals/{accountId}`, and
 * two follower terminals copy it like any master's — real storage on both dialects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { operatorApi, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, spec } from '../../testing/sim.js';
import { signalSignature } from './external-signals.js';

const ordersOf = (tp: TestPlatform, followerAccountId: string) =>
  tp.platform.database.db
    .selectFrom('copy_orders')
    .selectAll()
    .where('follower_account_id', '=', followerAccountId)
    .execute();

const books = (fs: SimFollower[]) =>
  fs.map((f) =>
    [...f.book.values()]
      .map((p) => ({ symbol: p.symbol, side: p.side, volume: p.volume, sl: p.sl, tp: p.tp }))
      .sort((a, b) => a.symbol.localeCompare(b.symbol)),
  );

describe.each(dialects)('external signals on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('copies a virtual master’s alerts to two followers, once, and refuses what does not prove the secret', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { app } = p.platform;
    const mirror = await new SimFollower(p.platform, 'F-mirror').connect();
    const double = await new SimFollower(p.platform, 'F-double').connect();
    for (const f of [mirror, double]) {
      await f.catalog([spec('EURUSD'), spec('EURUSD.m')]);
      await f.heartbeat(10_000);
    }
    const api = await operatorApi(p.platform);
    const groupId = await api.group('tradingview', 'TV-1', [mirror.accountId, double.accountId]);
    expect(
      (
        await api.put(`/api/admin/groups/${groupId}/followers/${mirror.accountId}`, {
          sizing: { mode: 'mirror' },
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await api.put(`/api/admin/groups/${groupId}/followers/${double.accountId}`, {
          sizing: { mode: 'multiplier', multiplier: 2 },
          symbolMap: { EURUSD: 'EURUSD.m' },
        })
      ).statusCode,
    ).toBe(200);

    const send = (body: Record<string, unknown>, headers: Record<string, string> = {}, account = 'TV-1') =>
      app.inject({
        method: 'POST',
        url: `/api/signals/${account}`,
        headers: { 'content-type': 'application/json', ...headers },
        payload: JSON.stringify(body),
      });

    // Before an admin creates its secret the account takes no external signals.
    const early = await send({
      secret: 'x',
      signalId: 'a0',
      action: 'buy',
      symbol: 'EURUSD',
      volume: 0.1,
      price: 1.1,
    });
    expect(early.statusCode).toBe(401);
    expect(early.json().error).toBe('signal_auth_failed');

    const issued = await api.post('/api/admin/accounts/TV-1/signal-secret', {});
    expect(issued.statusCode).toBe(201);
    const { secret, signalPath } = issued.json() as { secret: string; signalPath: string };
    expect(signalPath).toBe('/api/signals/TV-1');
    expect((await api.get('/api/admin/accounts/TV-1')).json().signalSource).toMatchObject({
      rotatedBy: 'admin@test.local',
    });

    // A TradingView alert: the secret rides in the body (TradingView cannot set headers).
    const alert = {
      secret,
      signalId: 'tv-1',
      action: 'buy',
      symbol: 'EURUSD',
      volume: 0.1,
      price: 1.1,
      sl: 1.09,
    };
    const opened = await send(alert);
    expect(opened.statusCode).toBe(202);
    expect(
      opened
        .json()
        .copies.map((c: { followerAccountId: string }) => c.followerAccountId)
        .sort(),
    ).toEqual(['F-double', 'F-mirror']);
    // The same alert again (TradingView retries) copies nothing twice and answers the same.
    const again = await send(alert);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual(opened.json());
    for (const f of [mirror, double]) await f.drain();
    expect(books([mirror, double])).toEqual([
      [{ symbol: 'EURUSD', side: 'buy', volume: 0.1, sl: 1.09, tp: null }],
      [{ symbol: 'EURUSD.m', side: 'buy', volume: 0.2, sl: 1.09, tp: null }],
    ]);

    // A script signs the raw body with the secret and a timestamp.
    p.clock.advance(1000);
    const partial = JSON.stringify({
      signalId: 'tv-2',
      action: 'partial_close',
      positionId: 'tv-1',
      volume: 0.05,
      price: 1.105,
    });
    const ts = Math.floor(p.clock.now() / 1000);
    const signed = await app.inject({
      method: 'POST',
      url: '/api/signals/TV-1',
      headers: {
        'content-type': 'application/json',
        'x-kopitra-signature': signalSignature(secret, ts, partial),
      },
      payload: partial,
    });
    expect(signed.statusCode).toBe(202);
    expect(signed.json().copies).toHaveLength(2);
    for (const f of [mirror, double]) await f.drain();
    expect(books([mirror, double]).map((b) => b.map((x) => x.volume))).toEqual([[0.05], [0.1]]);

    // Refused, each with its code, and nothing stored: a bad signature, a stale one, a wrong
    // bearer, an unknown position, a malformed alert.
    const ordersBefore = (await ordersOf(p, 'F-mirror')).length;
    const tampered = await app.inject({
      method: 'POST',
      url: '/api/signals/TV-1',
      headers: {
        'content-type': 'application/json',
        'x-kopitra-signature': signalSignature(secret, ts, partial),
      },
      payload: partial.replace('0.05', '0.04'),
    });
    expect([tampered.statusCode, tampered.json().error]).toEqual([401, 'signal_auth_failed']);
    const stale = await app.inject({
      method: 'POST',
      url: '/api/signals/TV-1',
      headers: {
        'content-type': 'application/json',
        'x-kopitra-signature': signalSignature(secret, ts - 3600, partial),
      },
      payload: partial,
    });
    expect([stale.statusCode, stale.json().error]).toEqual([401, 'signature_expired']);
    const wrong = await send(
      { signalId: 'tv-x', action: 'close', positionId: 'tv-1', symbol: 'EURUSD', price: 1 },
      {
        authorization: `Bearer ${secret}x`,
      },
    );
    expect([wrong.statusCode, wrong.json().error]).toEqual([401, 'signal_auth_failed']);
    const unknown = await send(
      { signalId: 'tv-y', action: 'close', positionId: 'nope', symbol: 'EURUSD', price: 1 },
      { authorization: `Bearer ${secret}` },
    );
    expect([unknown.statusCode, unknown.json().error]).toEqual([422, 'master_position_unknown']);
    const malformed = await send({ secret, signalId: 'tv-z', action: 'buy', symbol: 'EURUSD', price: 1 });
    expect([malformed.statusCode, malformed.json().error]).toEqual([400, 'invalid_request']);
    expect(malformed.json().issues[0].path).toBe('body.volume');
    expect(await ordersOf(p, 'F-mirror')).toHaveLength(ordersBefore);

    // The EA's own shape, with a bearer: the close ends both copies.
    p.clock.advance(1000);
    const closed = await send(
      {
        signalId: 'tv-3',
        type: 'position.closed',
        masterPositionId: 'tv-1',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.05,
        price: 1.11,
      },
      { authorization: `Bearer ${secret}` },
    );
    expect(closed.statusCode).toBe(202);
    expect(closed.json().copies).toHaveLength(2);
    for (const f of [mirror, double]) await f.drain();
    expect(books([mirror, double])).toEqual([[], []]);

    // A rotated secret replaces the old one at once; a revoked one takes nothing.
    const rotated = (await api.post('/api/admin/accounts/TV-1/signal-secret', {})).json().secret as string;
    expect(rotated).not.toBe(secret);
    const old = await send({
      secret,
      signalId: 'tv-4',
      action: 'sell',
      symbol: 'EURUSD',
      volume: 0.1,
      price: 1.1,
    });
    expect(old.statusCode).toBe(401);
    const fresh = await send({
      secret: rotated,
      signalId: 'tv-4',
      action: 'sell',
      symbol: 'EURUSD',
      volume: 0.1,
      price: 1.1,
    });
    expect(fresh.statusCode).toBe(202);
    expect((await api.delete('/api/admin/accounts/TV-1/signal-secret')).json()).toEqual({
      accountId: 'TV-1',
      revoked: true,
    });
    const gone = await send({
      secret: rotated,
      signalId: 'tv-5',
      action: 'sell',
      symbol: 'EURUSD',
      volume: 0.1,
      price: 1.1,
    });
    expect(gone.statusCode).toBe(401);
    const audit = (await api.get('/api/admin/audit')).json().items.map((e: { action: string }) => e.action);
    expect(audit).toEqual(
      expect.arrayContaining(['signal_secret.create', 'signal_secret.rotate', 'signal_secret.revoke']),
    );
  });
});
