/**
 * Joining late, on the whole chain: followers subscribe (through the management API) while
 * the master holds positions, or come back after their copies expired; each held position is
 * handled by the subscription's `onJoin` policy and the operator reads the outcome from the
 * copy orders. Real storage on both dialects; only the brokers behind the EAs are simulated.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { operatorApi, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';
import type { CopyOrderRow, LinkRow } from '../../store/copy.js';
import type { MasterPositionRow } from '../../store/master-positions.js';
import { joinCandidates } from './join.js';

const XAU = spec('XAUUSD', { digits: 2, point: 0.01, tickSize: 0.01, contractSize: 100 });
const catalog = [spec('EURUSD'), spec('GBPUSD'), XAU];

async function joinOrders(tp: TestPlatform, followerAccountId: string) {
  return tp.platform.database.db
    .selectFrom('copy_orders')
    .select([
      'master_position_id',
      'kind',
      'origin',
      'status',
      'reason',
      'error_code',
      'volume',
      'master_price',
    ])
    .where('follower_account_id', '=', followerAccountId)
    .where('origin', '=', 'join')
    .orderBy('master_position_id')
    .execute();
}

describe('join candidates', () => {
  const held = (id: string) => ({ master_position_id: id }) as MasterPositionRow;
  const link = (id: string, status: string) => ({ master_position_id: id, status }) as LinkRow;
  const order = (
    id: string,
    origin: string,
    status: CopyOrderRow['status'],
    reason: CopyOrderRow['reason'] = null,
  ) => ({
    master_position_id: id,
    origin,
    status,
    reason,
  });

  it('are the held positions the follower missed by being absent, not those it chose to skip', () => {
    const candidates = joinCandidates(
      ['new', 'expired', 'copied', 'no-catalog', 'filtered', 'joined', 'refused'].map(held),
      [link('expired', 'expired'), link('copied', 'open'), link('refused', 'closed')],
      [
        order('expired', 'signal', 'expired'),
        order('copied', 'signal', 'filled'),
        order('no-catalog', 'signal', 'skipped', 'symbol_catalog_missing'),
        order('filtered', 'signal', 'skipped', 'symbol_excluded'),
        order('joined', 'join', 'skipped', 'master_volume_above_maximum'),
        order('refused', 'join', 'rejected', 'join_price_too_far'),
      ],
    );
    expect(candidates.map((c) => [c.position.master_position_id, c.link?.status ?? null])).toEqual([
      ['new', null],
      ['expired', 'expired'],
      ['no-catalog', null],
    ]);
  });
});

describe.each(dialects)('joining late on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('handles each of three positions the master holds by the policy of each subscription', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('late', 'JM', ['J-market', 'J-none', 'J-limit']);
    const master = await new SimMaster(p.platform, 'JM').connect();
    // The master holds three positions before anyone follows it.
    await master.signal({
      type: 'position.opened',
      masterPositionId: 'P1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      price: 1.1,
      sl: 1.09,
      tp: 1.12,
    });
    await master.signal({
      type: 'position.opened',
      masterPositionId: 'P2',
      symbol: 'XAUUSD',
      side: 'sell',
      volume: 0.2,
      price: 2400,
    });
    // A martingale step: far bigger than the master's usual lots.
    await master.signal({
      type: 'position.opened',
      masterPositionId: 'P3',
      symbol: 'GBPUSD',
      side: 'buy',
      volume: 2.4,
      price: 1.25,
    });
    await master.signal({
      type: 'position.partially_closed',
      masterPositionId: 'P1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      remainingVolume: 0.2,
      price: 1.101,
    });

    // EURUSD is 20 points from the master's entry, gold 150 points (0.01 a point).
    const market = await new SimFollower(p.platform, 'J-market', {
      prices: { EURUSD: 1.1002, XAUUSD: 2401.5 },
    }).connect();
    const none = await new SimFollower(p.platform, 'J-none').connect();
    for (const f of [market, none]) {
      await f.catalog(catalog);
      await f.drain();
    }
    const path = (id: string) => `/api/admin/groups/${groupId}/followers/${id}`;
    const joinMarket = { onJoin: { mode: 'market', maxDistancePoints: 50 }, masterVolume: { max: 1 } };
    expect((await api.put(path('J-market'), joinMarket)).statusCode).toBe(200);
    expect((await api.put(path('J-none'), {})).statusCode).toBe(200);
    // A limit join needs pending orders, which the protocol lacks: refused with its own code, nothing stored.
    const limit = await api.put(path('J-limit'), { onJoin: { mode: 'limit', expiryMinutes: 30 } });
    expect(limit.statusCode).toBe(422);
    expect(limit.json()).toMatchObject({ error: 'setting_unsupported', issues: [{ path: 'body.onJoin' }] });
    expect(
      (await api.get(`/api/admin/groups/${groupId}`))
        .json()
        .followers.map((f: any) => f.accountId)
        .sort(),
    ).toEqual(['J-market', 'J-none']);
    // Without `maxDistancePoints` a market join would open at any price: refused as invalid.
    expect((await api.put(path('J-none'), { onJoin: { mode: 'market' } })).json()).toMatchObject({
      error: 'invalid_request',
    });

    const summaries = await p.platform.reconcile();
    const joins = Object.fromEntries(
      summaries.map((s) => [
        s.followerAccountId,
        s.joins.map((j) => [j.masterPositionId, j.action, j.reason]),
      ]),
    );
    expect(joins).toEqual({
      'J-market': [
        ['P1', 'open', undefined],
        ['P2', 'open', undefined],
        ['P3', 'skip', 'master_volume_above_maximum'],
      ],
      'J-none': [],
    });
    await market.drain();
    await none.drain();

    // What was opened and what was not, with reasons.
    expect(await joinOrders(p, 'J-market')).toEqual([
      {
        master_position_id: 'P1',
        kind: 'open',
        origin: 'join',
        status: 'filled',
        reason: null,
        error_code: null,
        volume: 0.2,
        master_price: 1.1,
      },
      {
        master_position_id: 'P2',
        kind: 'open',
        origin: 'join',
        status: 'rejected',
        reason: 'join_price_too_far',
        error_code: 'slippage_exceeded',
        volume: 0.2,
        master_price: 2400,
      },
      {
        master_position_id: 'P3',
        kind: 'open',
        origin: 'join',
        status: 'skipped',
        reason: 'master_volume_above_maximum',
        error_code: null,
        volume: null,
        master_price: 1.25,
      },
    ]);
    expect([...market.book.values()].map((b) => [b.comment, b.symbol, b.side, b.volume, b.sl, b.tp])).toEqual(
      [[positionTag(groupId, 'P1'), 'EURUSD', 'buy', 0.2, 1.09, 1.12]],
    );
    const started = market.received
      .filter((e) => e.type === 'trade.started')
      .map((e) => [e.payload.masterPositionId, e.payload.maxSlippage]);
    expect(started).toEqual([
      ['P1', 50],
      ['P2', 50],
    ]);
    expect(none.book.size).toBe(0);
    expect(await joinOrders(p, 'J-none')).toEqual([]);

    // A join is decided once: another pass offers nothing again, even the refused one.
    const again = await p.platform.reconcile();
    expect(again.flatMap((s) => s.joins)).toEqual([]);

    // The joined copy follows the master from now on; the refused one has nothing to follow.
    const closeP1 = await master.signal({
      type: 'position.closed',
      masterPositionId: 'P1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.2,
      price: 1.102,
    });
    const closeP2 = await master.signal({
      type: 'position.closed',
      masterPositionId: 'P2',
      symbol: 'XAUUSD',
      side: 'sell',
      volume: 0.2,
      price: 2398,
    });
    expect(closeP1.copies.map((c: any) => c.followerAccountId)).toEqual(['J-market']);
    expect(
      closeP2.skipped.filter((s: any) => s.followerAccountId === 'J-market').map((s: any) => s.reason),
    ).toEqual(['no_linked_position']);
    await market.drain();
    expect(market.book.size).toBe(0);
    // A position opened after joining is copied as usual, not as a join.
    const fresh = await master.signal({
      type: 'position.opened',
      masterPositionId: 'P4',
      symbol: 'EURUSD',
      side: 'sell',
      volume: 0.1,
      price: 1.1,
    });
    expect(fresh.copies.map((c: any) => c.followerAccountId).sort()).toEqual(['J-market', 'J-none']);
  });

  it('joins a follower that comes back after its copies expired, where the policy says so', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('away', 'AM', ['A-market', 'A-none']);
    const master = await new SimMaster(p.platform, 'AM').connect();
    const followers = [];
    for (const id of ['A-market', 'A-none']) {
      const f = await new SimFollower(p.platform, id).connect();
      await f.catalog(catalog);
      await f.drain();
      followers.push(f);
    }
    await api.put(`/api/admin/groups/${groupId}/followers/A-market`, {
      onJoin: { mode: 'market', maxDistancePoints: 30 },
    });
    await api.put(`/api/admin/groups/${groupId}/followers/A-none`, {});
    await master.signal({
      type: 'position.opened',
      masterPositionId: 'Q1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.5,
      price: 1.1,
    });

    // Both followers are away longer than the maximum signal age: their opens expire.
    for (let i = 0; i < 9; i++) {
      p.clock.advance(10_000);
      await master.heartbeat(10_000);
    }
    const away = await p.platform.reconcile();
    // While away, nothing is decided for the joining follower; the other is told its open expired, as before.
    expect(away.flatMap((s) => s.joins)).toEqual([]);
    expect(away.find((s) => s.followerAccountId === 'A-none')?.corrections).toMatchObject([
      { kind: 'alert', reason: 'signal_too_old' },
    ]);
    expect(away.find((s) => s.followerAccountId === 'A-market')?.corrections).toEqual([]);

    for (const f of followers) {
      await f.connect();
      await f.drain();
    }
    const back = await p.platform.reconcile();
    expect(
      back.flatMap((s) => s.joins.map((j) => [s.followerAccountId, j.masterPositionId, j.action])),
    ).toEqual([['A-market', 'Q1', 'open']]);
    for (const f of followers) await f.drain();
    expect([...followers[0]!.book.values()].map((b) => [b.symbol, b.volume])).toEqual([['EURUSD', 0.5]]);
    expect(followers[1]!.book.size).toBe(0);
    const orders = await p.platform.database.db
      .selectFrom('copy_orders')
      .select(['origin', 'status'])
      .where('follower_account_id', '=', 'A-market')
      .orderBy('written_at')
      .execute();
    expect(orders).toEqual([
      { origin: 'signal', status: 'expired' },
      { origin: 'join', status: 'filled' },
    ]);
    // The master's close reaches the joined copy.
    await master.signal({
      type: 'position.closed',
      masterPositionId: 'Q1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.5,
      price: 1.1,
    });
    await followers[0]!.drain();
    expect(followers[0]!.book.size).toBe(0);
  });
});
