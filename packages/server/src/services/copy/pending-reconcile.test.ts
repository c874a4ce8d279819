/**
 * Pending orders and the safety net, whole chain through the gateway on both dialects:
 * a follower's copy that fills while the master's order ends unfilled is closed (whichever
 * is told first); a copy left waiting after the master's fill is cancelled once the master
 * closes the position; and reconciliation from `ea.sync_snapshot.orders` cancels tagged
 * orphans, places a young missing copy again, recognises a fill whose notice was lost, and
 * never touches the trader's own orders.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SubscriptionInput } from '@kopitra/engine';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

describe.each(dialects)('pending orders reconciled on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  const setup = async (
    p: TestPlatform,
    masterId: string,
    followerId: string,
    settings: SubscriptionInput = {},
  ) => {
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, masterId).connect();
    const f = await new SimFollower(p.platform, followerId).connect();
    await f.catalog([spec('EURUSD')]);
    await f.heartbeat(10_000);
    await master.heartbeat(10_000);
    await f.drain();
    const g = await insertGroup(db, { name: followerId, masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: f.accountId, settings },
      p.clock.now(),
    );
    return { db, master, f, groupId: g.group_id };
  };
  const order = (masterOrderId: string) => ({
    masterOrderId,
    symbol: 'EURUSD',
    side: 'buy',
    orderType: 'limit',
    volume: 0.3,
    price: 1.08,
    sl: 1.07,
    tp: 1.1,
  });
  const closes = (db: TestPlatform['platform']['database']['db'], followerId: string) =>
    db
      .selectFrom('copy_orders')
      .select(['kind', 'origin', 'status', 'reason', 'master_position_id'])
      .where('follower_account_id', '=', followerId)
      .where('kind', 'in', ['close', 'cancel_order', 'place_order'])
      .orderBy('written_at')
      .orderBy('order_id')
      .execute();
  const linkStatus = async (db: TestPlatform['platform']['database']['db'], followerId: string) =>
    (
      await db
        .selectFrom('position_links')
        .select(['master_position_id', 'status'])
        .where('follower_account_id', '=', followerId)
        .orderBy('master_position_id')
        .execute()
    ).map((l) => `${l.master_position_id} ${l.status}`);

  it("closes a copy that filled while the master's order was cancelled or expired unfilled, whichever is told first", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { db, master, f } = await setup(p, 'RM1', 'R-unmatched');
    await master.signal({ type: 'order.placed', ...order('6001') });
    await master.signal({ type: 'order.placed', ...order('6002') });
    await f.drain();
    expect(f.orders.size).toBe(2);

    // The follower's broker reaches 6001's price first; then the master cancels it.
    await f.fillOrder('6001');
    const cancelled = await master.signal({ type: 'order.cancelled', ...order('6001') });
    expect(cancelled.copies).toHaveLength(1);
    await f.drain();

    // The master's 6002 expires; the follower's copy fills before the delete reaches it, and
    // its notice arrives after the cancel was signalled.
    await master.signal({ type: 'order.cancelled', ...order('6002') });
    await f.fillOrder('6002');
    await f.drain();

    expect(f.book.size).toBe(0);
    expect(f.orders.size).toBe(0);
    expect(await closes(db, 'R-unmatched')).toEqual([
      { kind: 'place_order', origin: 'signal', status: 'filled', reason: null, master_position_id: '6001' },
      { kind: 'place_order', origin: 'signal', status: 'filled', reason: null, master_position_id: '6002' },
      {
        kind: 'close',
        origin: 'signal',
        status: 'filled',
        reason: 'order_fill_unmatched',
        master_position_id: '6001',
      },
      // The delete found the order gone (it had filled): failed, and the fill is closed instead.
      {
        kind: 'cancel_order',
        origin: 'signal',
        status: 'failed',
        reason: 'execution_failed',
        master_position_id: '6002',
      },
      {
        kind: 'close',
        origin: 'reconcile',
        status: 'filled',
        reason: 'order_fill_unmatched',
        master_position_id: '6002',
      },
    ]);
    expect(await linkStatus(db, 'R-unmatched')).toEqual(['6001 closed', '6002 closed']);
  });

  it('cancels a copy left waiting once the master closes the position its order became', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { db, master, f } = await setup(p, 'RM2', 'R-left');
    await master.signal({ type: 'order.placed', ...order('6101') });
    await f.drain();
    const filled = await master.signal({ type: 'order.filled', ...order('6101'), masterPositionId: '6101' });
    expect(filled.skipped).toEqual([expect.objectContaining({ reason: 'order_left_pending' })]);
    // While the master holds the position the copy waits for its own price.
    await p.platform.reconcile();
    await f.drain();
    expect(f.orders.size).toBe(1);

    await master.signal({
      type: 'position.closed',
      masterPositionId: '6101',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      price: 1.081,
    });
    await f.drain();
    const kinds = (await p.platform.reconcile()).flatMap((s) => s.corrections.map((c) => c.kind));
    expect(kinds).toContain('cancel_ended_order');
    await f.drain();
    expect(f.orders.size).toBe(0);
    expect((await closes(db, 'R-left')).at(-1)).toEqual({
      kind: 'cancel_order',
      origin: 'reconcile',
      status: 'filled',
      reason: 'orphan_order',
      master_position_id: '6101',
    });
    const link = await db
      .selectFrom('order_links')
      .select('status')
      .where('follower_account_id', '=', 'R-left')
      .executeTakeFirstOrThrow();
    expect(link.status).toBe('cancelled');
    // Nothing more to do on the next pass.
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
  });

  it('reconciles from snapshot orders: orphan cancelled, missing copy placed again, lost fill linked, own order untouched', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { db, master, f, groupId } = await setup(p, 'RM3', 'R-snap');
    await master.signal({ type: 'order.placed', ...order('6201') });
    await master.signal({ type: 'order.placed', ...order('6202') });
    await f.drain();
    const [first, second] = [...f.orders.values()];
    // The trader's own order, and a tagged one nothing stands for (its master order is long gone).
    f.orders.set('900', { ...first!, ticket: '900', placeOrderId: 'none', comment: '' });
    f.orders.set('901', { ...first!, ticket: '901', placeOrderId: 'none', comment: 'kopitra:5999' });
    // 6201's copy vanished from the book (deleted by hand, or the broker dropped it).
    f.orders.delete(first!.ticket);
    // 6202's copy filled, and the terminal died before it could say so.
    await f.fillOrder('6202', undefined, { tell: false });
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);

    const kinds = (await p.platform.reconcile()).flatMap((s) => s.corrections.map((c) => c.kind)).sort();
    expect(kinds).toEqual(['cancel_orphan_order', 'order_filled', 'replace_order']);
    await f.drain();
    expect([...f.orders.values()].map((o) => o.comment).sort()).toEqual(['', positionTag(groupId, '6201')]);
    expect(f.orders.has('900')).toBe(true);
    expect(await linkStatus(db, 'R-snap')).toEqual(['6202 open']);
    const position = [...f.book.values()][0]!;
    const link = await db
      .selectFrom('position_links')
      .select('ticket')
      .where('follower_account_id', '=', 'R-snap')
      .executeTakeFirstOrThrow();
    expect(link.ticket).toBe(position.ticket);
    const orderLinks = await db
      .selectFrom('order_links')
      .select(['master_order_id', 'status', 'ticket'])
      .where('follower_account_id', '=', 'R-snap')
      .orderBy('master_order_id')
      .execute();
    const replaced = [...f.orders.values()].find((o) => o.comment === positionTag(groupId, '6201'))!;
    expect(orderLinks).toEqual([
      { master_order_id: '6201', status: 'pending', ticket: replaced.ticket },
      { master_order_id: '6202', status: 'filled', ticket: second!.ticket },
    ]);

    // Settled: a fresh snapshot finds nothing more to do.
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
  });
  it("takes the broker's refusal of a placement with its code, and nothing stays pending", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { db, master, f } = await setup(p, 'RM4', 'R-refused');
    await master.signal({ type: 'order.placed', ...order('6301') });
    const [event] = await f.peek();
    expect(event!.type).toBe('trade.order_placed');
    const orderId = event!.payload['orderId'] as string;
    // A placement is answered placed, rejected or failed, never filled.
    const filled = await f.execution({ orderId, status: 'filled', ticket: '1' });
    expect(filled.statusCode).toBe(422);
    expect(filled.json().error).toBe('execution_status_invalid');
    const refused = await f.execution({
      orderId,
      status: 'rejected',
      errorCode: 10016,
      message: 'buy limit at 1.08 is 12 points from the market; the stops level is 30',
    });
    expect(refused.statusCode).toBe(200);
    expect(refused.json()).toMatchObject({ orderId, status: 'rejected' });
    const row = await db
      .selectFrom('copy_orders')
      .select(['status', 'error_code'])
      .where('order_id', '=', orderId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'rejected', error_code: '10016' });
    const link = await db
      .selectFrom('order_links')
      .select('status')
      .where('follower_account_id', '=', 'R-refused')
      .executeTakeFirstOrThrow();
    expect(link.status).toBe('failed');
  });
});
