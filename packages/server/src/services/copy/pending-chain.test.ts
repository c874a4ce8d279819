/**
 * Pending orders through the gateway, whole chain: the master places, modifies, cancels and
 * fills pending orders; followers place their own, move them, delete them and report their
 * fills; the policies for a fill the follower has not matched. Real storage on both dialects;
 * only the broker behind each EA is simulated.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SubscriptionInput } from '@kopitra/engine';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const HOUR = 3_600_000;

describe.each(dialects)('pending orders on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('placed → modified → filled on master and followers; one cancelled, one expired', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const now = () => p.clock.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const master = await new SimMaster(p.platform, 'PM').connect();
    const follower = async (id: string) => {
      const f = await new SimFollower(p.platform, id).connect();
      await f.catalog([spec('EURUSD'), spec('EURUSD.m')]);
      await f.heartbeat(10_000);
      await f.drain();
      return f;
    };
    const mirror = await follower('P-mirror');
    const reversed = await follower('P-reversed');
    const mapped = await follower('P-mapped');
    const onFill = await follower('P-onfill');
    await master.heartbeat(10_000);
    const g = await insertGroup(db, { name: 'pending', masterAccountId: master.accountId }, now());
    const subscriptions: Array<[SimFollower, SubscriptionInput]> = [
      [mirror, {}],
      [reversed, { reverse: true }],
      [mapped, { symbolMap: { EURUSD: 'EURUSD.m' }, pendingOnMasterFill: 'market', maxSlippagePoints: 50 }],
      [onFill, { pendingOrders: 'market_on_fill' }],
    ];
    for (const [f, settings] of subscriptions)
      await putSubscription(db, { groupId: g.group_id, followerAccountId: f.accountId, settings }, now());
    const all = [mirror, reversed, mapped, onFill];
    const drainAll = async () => {
      for (const f of all) await f.drain();
    };
    const order = {
      masterOrderId: '3001',
      symbol: 'EURUSD',
      side: 'buy',
      orderType: 'limit',
      volume: 0.5,
      price: 1.095,
      sl: 1.09,
      tp: 1.105,
      expiresAt: iso(now() + HOUR),
    };

    const placed = await master.signal({ type: 'order.placed', ...order });
    expect(placed.copies).toHaveLength(3);
    expect(placed.skipped).toEqual([
      expect.objectContaining({ followerAccountId: 'P-onfill', reason: 'pending_waits_for_fill' }),
    ]);
    await drainAll();
    const one = (f: SimFollower) => [...f.orders.values()].map(({ ticket: _t, placeOrderId: _o, ...o }) => o);
    expect(one(mirror)).toEqual([
      {
        symbol: 'EURUSD',
        side: 'buy',
        orderType: 'limit',
        volume: 0.5,
        price: 1.095,
        sl: 1.09,
        tp: 1.105,
        expiresAt: order.expiresAt,
        comment: positionTag(g.group_id, '3001'),
      },
    ]);
    expect(one(reversed)).toMatchObject([
      { side: 'sell', orderType: 'stop', price: 1.095, sl: 1.105, tp: 1.09 },
    ]);
    expect(one(mapped)).toMatchObject([{ symbol: 'EURUSD.m', side: 'buy', orderType: 'limit' }]);
    expect(onFill.orders.size).toBe(0);

    // Modified on the master: every copy moves, the reversed one keeps its mirror image. The
    // mapped follower's broker refuses the move (inside its stops level): its order stays, and
    // so does the server's record of it.
    mapped.behaviour.rejectOrderModifies = 1;
    await master.signal({ type: 'order.modified', ...order, price: 1.094, sl: 1.089 });
    await drainAll();
    expect(one(mirror)).toMatchObject([{ price: 1.094, sl: 1.089, tp: 1.105 }]);
    expect(one(mapped)).toMatchObject([{ price: 1.095, sl: 1.09 }]);
    const copyPrices = Object.fromEntries(
      (
        await p.platform.database.db
          .selectFrom('order_links')
          .select(['follower_account_id', 'price', 'sl'])
          .where('master_order_id', '=', '3001')
          .execute()
      ).map((l) => [l.follower_account_id, [l.price, l.sl]]),
    );
    expect(copyPrices['P-mirror']).toEqual([1.094, 1.089]);
    expect(copyPrices['P-mapped']).toEqual([1.095, 1.09]);
    expect(one(reversed)).toMatchObject([
      { side: 'sell', orderType: 'stop', price: 1.094, sl: 1.105, tp: 1.089 },
    ]);

    // The price reaches the mirror's and the reversed follower's orders, not the mapped one's broker.
    await mirror.fillOrder('3001');
    await reversed.fillOrder('3001');
    const filled = await master.signal({
      type: 'order.filled',
      ...order,
      masterPositionId: '3001',
      price: 1.094,
      sl: 1.089,
    });
    const reasons = Object.fromEntries(
      filled.skipped.map((s: { followerAccountId: string; reason: string }) => [
        s.followerAccountId,
        s.reason,
      ]),
    );
    expect(reasons).toEqual({ 'P-mirror': 'order_already_filled', 'P-reversed': 'order_already_filled' });
    expect(filled.copies.map((c: { followerAccountId: string }) => c.followerAccountId).sort()).toEqual([
      'P-mapped',
      'P-onfill',
    ]);
    await drainAll();
    const positions = (f: SimFollower) =>
      [...f.book.values()].map((x) => ({
        symbol: x.symbol,
        side: x.side,
        volume: x.volume,
        comment: x.comment,
      }));
    expect(positions(mirror)).toEqual([
      { symbol: 'EURUSD', side: 'buy', volume: 0.5, comment: positionTag(g.group_id, '3001') },
    ]);
    expect(positions(reversed)).toEqual([
      { symbol: 'EURUSD', side: 'sell', volume: 0.5, comment: positionTag(g.group_id, '3001') },
    ]);
    // Replaced by a market open: the unfilled order is gone, the position is there once.
    expect(mapped.orders.size).toBe(0);
    expect(positions(mapped)).toEqual([
      { symbol: 'EURUSD.m', side: 'buy', volume: 0.5, comment: positionTag(g.group_id, '3001') },
    ]);
    expect(positions(onFill)).toEqual([
      { symbol: 'EURUSD', side: 'buy', volume: 0.5, comment: positionTag(g.group_id, '3001') },
    ]);
    const replaced = await db
      .selectFrom('copy_orders')
      .select(['kind', 'status', 'reason'])
      .where('follower_account_id', '=', 'P-mapped')
      .where('signal_id', 'is not', null)
      .orderBy('written_at')
      .execute();
    expect(replaced.at(-1)).toEqual({ kind: 'open', status: 'filled', reason: 'order_filled_at_market' });

    // The filled orders are positions now: the master's close reaches every copy.
    await master.signal({
      type: 'position.closed',
      masterPositionId: '3001',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.5,
      price: 1.1,
    });
    await drainAll();
    for (const f of all) expect(f.book.size).toBe(0);

    // One cancelled and one expired on the master: the copies are deleted.
    await master.signal({
      type: 'order.placed',
      ...order,
      masterOrderId: '3002',
      orderType: 'stop',
      price: 1.11,
    });
    await master.signal({ type: 'order.placed', ...order, masterOrderId: '3003' });
    await drainAll();
    expect(mirror.orders.size).toBe(2);
    await master.signal({
      type: 'order.cancelled',
      ...order,
      masterOrderId: '3002',
      orderType: 'stop',
      price: 1.11,
    });
    await master.signal({ type: 'order.cancelled', ...order, masterOrderId: '3003' });
    await drainAll();
    for (const f of all) expect(f.orders.size).toBe(0);
    const links = await db
      .selectFrom('order_links')
      .select(['follower_account_id', 'master_order_id', 'status'])
      .orderBy('master_order_id')
      .orderBy('follower_account_id')
      .execute();
    expect(links).toEqual([
      { follower_account_id: 'P-mapped', master_order_id: '3001', status: 'replaced' },
      { follower_account_id: 'P-mirror', master_order_id: '3001', status: 'filled' },
      { follower_account_id: 'P-reversed', master_order_id: '3001', status: 'filled' },
      { follower_account_id: 'P-mapped', master_order_id: '3002', status: 'cancelled' },
      { follower_account_id: 'P-mirror', master_order_id: '3002', status: 'cancelled' },
      { follower_account_id: 'P-reversed', master_order_id: '3002', status: 'cancelled' },
      { follower_account_id: 'P-mapped', master_order_id: '3003', status: 'cancelled' },
      { follower_account_id: 'P-mirror', master_order_id: '3003', status: 'cancelled' },
      { follower_account_id: 'P-reversed', master_order_id: '3003', status: 'cancelled' },
    ]);
  }, 60_000);

  it('a fill the follower has not matched is left pending when the policy says leave; a cancel before delivery withdraws the placement', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const now = () => p.clock.now();
    const master = await new SimMaster(p.platform, 'PM2').connect();
    const f = await new SimFollower(p.platform, 'P-leave').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    const g = await insertGroup(db, { name: 'leave', masterAccountId: master.accountId }, now());
    await putSubscription(db, { groupId: g.group_id, followerAccountId: f.accountId, settings: {} }, now());
    const order = {
      masterOrderId: '4001',
      symbol: 'EURUSD',
      side: 'sell',
      orderType: 'limit',
      volume: 1,
      price: 1.2,
    };
    await master.signal({ type: 'order.placed', ...order });
    await f.drain();
    const filled = await master.signal({ type: 'order.filled', ...order, masterPositionId: '4001' });
    expect(filled.skipped).toEqual([expect.objectContaining({ reason: 'order_left_pending' })]);
    expect(f.orders.size).toBe(1);

    // Placed and cancelled before the follower polled: nothing ever reaches its terminal.
    await master.signal({ type: 'order.placed', ...order, masterOrderId: '4002' });
    const cancelled = await master.signal({ type: 'order.cancelled', ...order, masterOrderId: '4002' });
    expect(cancelled.skipped).toEqual([expect.objectContaining({ reason: 'master_order_cancelled' })]);
    await f.drain();
    expect([...f.orders.values()].map((o) => o.comment)).toEqual([positionTag(g.group_id, '4001')]);
    const placement = await db
      .selectFrom('copy_orders')
      .select(['status', 'reason'])
      .where('master_position_id', '=', '4002')
      .where('kind', '=', 'place_order')
      .executeTakeFirstOrThrow();
    expect(placement).toEqual({ status: 'withdrawn', reason: 'master_order_cancelled' });
  });
});
