/**
 * A netting master that adds to its position, whole chain: `position.increased` fans out as
 * `trade.increased`; a hedging follower opens a second (and third) tagged position, a netting
 * follower grows its one position; a later partial close is spread over the hedging copy's
 * positions newest first, reconciliation finds both books as expected, and the close takes
 * everything. Real storage on both dialects; only the broker behind each EA is simulated.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const book = (f: SimFollower) =>
  [...f.book.values()]
    .map((p) => ({ ticket: p.ticket, symbol: p.symbol, side: p.side, volume: p.volume, comment: p.comment }))
    .sort((a, b) => Number(a.ticket) - Number(b.ticket));

describe.each(dialects)('netting master adds on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('adds twice, closes partially and then wholly, on a hedging and a netting follower', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'NM').connect();
    await master.heartbeat(20_000);
    const hedging = await new SimFollower(p.platform, 'F-hedging', { netting: false }).connect();
    const netting = await new SimFollower(p.platform, 'F-netting', { netting: true }).connect();
    const followers = [hedging, netting];
    for (const f of followers) {
      await f.catalog([spec('EURUSD')]);
      await f.heartbeat(10_000);
      await f.drain();
    }
    const g = await insertGroup(db, { name: 'netting', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      {
        groupId: g.group_id,
        followerAccountId: hedging.accountId,
        settings: { sizing: { mode: 'multiplier', multiplier: 2 } },
      },
      p.clock.now(),
    );
    await putSubscription(
      db,
      {
        groupId: g.group_id,
        followerAccountId: netting.accountId,
        settings: { sizing: { mode: 'fixed', lots: 0.3 } },
      },
      p.clock.now(),
    );
    const drain = async () => {
      for (const f of followers) await f.drain();
    };
    const position = { masterPositionId: '7001', symbol: 'EURUSD', side: 'buy' };

    await master.signal({ type: 'position.opened', ...position, volume: 1, price: 1.1, dealTicket: 1 });
    await drain();
    p.clock.advance(1000);
    const firstAdd = await master.signal({
      type: 'position.increased',
      ...position,
      volume: 0.5,
      remainingVolume: 1.5,
      price: 1.101,
      dealTicket: 2,
    });
    expect(firstAdd.copies.map((c: { volume: number }) => c.volume)).toEqual([1, 0.3]);
    // A repeated deal adds nothing.
    const again = await master.signal({
      type: 'position.increased',
      ...position,
      volume: 0.5,
      remainingVolume: 1.5,
      price: 1.101,
      dealTicket: 2,
    });
    expect(again).toEqual(firstAdd);
    await drain();
    p.clock.advance(1000);
    // Without remainingVolume the gateway adds the master's volume up itself.
    await master.signal({
      type: 'position.increased',
      ...position,
      volume: 0.5,
      price: 1.102,
      dealTicket: 3,
    });
    await drain();

    const increased = hedging.received.filter((e) => e.type === 'trade.increased');
    expect(increased).toHaveLength(2);
    expect(increased[0]!.payload).toMatchObject({
      masterPositionId: '7001',
      ticket: '1000',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      comment: positionTag(g.group_id, '7001'),
    });
    expect(book(hedging)).toEqual([
      { ticket: '1000', symbol: 'EURUSD', side: 'buy', volume: 2, comment: positionTag(g.group_id, '7001') },
      { ticket: '1001', symbol: 'EURUSD', side: 'buy', volume: 1, comment: positionTag(g.group_id, '7001') },
      { ticket: '1002', symbol: 'EURUSD', side: 'buy', volume: 1, comment: positionTag(g.group_id, '7001') },
    ]);
    expect(book(netting)).toEqual([
      {
        ticket: '1000',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.9,
        comment: positionTag(g.group_id, '7001'),
      },
    ]);
    const linkOf = (followerAccountId: string) =>
      db
        .selectFrom('position_links')
        .select(['ticket', 'open_volume', 'master_volume', 'position_count', 'status'])
        .where('follower_account_id', '=', followerAccountId)
        .executeTakeFirstOrThrow();
    expect(await linkOf(hedging.accountId)).toEqual({
      ticket: '1000',
      open_volume: 4,
      master_volume: 2,
      position_count: 3,
      status: 'open',
    });
    expect(await linkOf(netting.accountId)).toEqual({
      ticket: '1000',
      open_volume: 0.9,
      master_volume: 2,
      position_count: 1,
      status: 'open',
    });

    // 0.8 of the master's 2 lots: 40 % of each copy; the hedging one closes its newest add
    // whole and takes the rest from its first position (the older add would not close whole).
    p.clock.advance(1000);
    await master.signal({
      type: 'position.partially_closed',
      ...position,
      volume: 0.8,
      remainingVolume: 1.2,
      price: 1.104,
      dealTicket: 4,
    });
    await drain();
    expect(book(hedging).map((x) => [x.ticket, x.volume])).toEqual([
      ['1000', 1.4],
      ['1001', 1],
    ]);
    expect(book(netting).map((x) => [x.ticket, x.volume])).toEqual([['1000', 0.54]]);
    // The hedging EA is told its copy spans three positions; the netting one holds one.
    expect(hedging.received.find((e) => e.type === 'trade.partial_close')!.payload).toMatchObject({
      ticket: '1000',
      volume: 1.6,
      positions: 3,
    });
    expect(netting.received.find((e) => e.type === 'trade.partial_close')!.payload).not.toHaveProperty(
      'positions',
    );
    const partials = await db
      .selectFrom('copy_orders')
      .select(['follower_account_id', 'volume', 'filled_volume', 'status'])
      .where('kind', '=', 'partial_close')
      .orderBy('follower_account_id')
      .execute();
    expect(partials).toEqual([
      { follower_account_id: 'F-hedging', volume: 1.6, filled_volume: 1.6, status: 'filled' },
      { follower_account_id: 'F-netting', volume: 0.36, filled_volume: 0.36, status: 'filled' },
    ]);

    // Both books are as their links say: the hedging copy's two positions are one copy, summed.
    p.clock.advance(1000);
    for (const f of followers) await f.snapshot();
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
    expect(await linkOf(hedging.accountId)).toMatchObject({ open_volume: 2.4, master_volume: 1.2 });

    p.clock.advance(1000);
    await master.signal({ type: 'position.closed', ...position, volume: 1.2, price: 1.105, dealTicket: 5 });
    await drain();
    expect(book(hedging)).toEqual([]);
    expect(book(netting)).toEqual([]);
    expect(await linkOf(hedging.accountId)).toMatchObject({ status: 'closed' });
    const kinds = await db
      .selectFrom('copy_orders')
      .select(['kind', 'status'])
      .where('follower_account_id', '=', hedging.accountId)
      .orderBy('written_at')
      .execute();
    expect(kinds).toEqual([
      { kind: 'open', status: 'filled' },
      { kind: 'increase', status: 'filled' },
      { kind: 'increase', status: 'filled' },
      { kind: 'partial_close', status: 'filled' },
      { kind: 'close', status: 'filled' },
    ]);
    p.clock.advance(1000);
    for (const f of followers) await f.snapshot();
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
  });

  it('takes a refused add back off the link, and skips an add the guards refuse while later exits still copy', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'NM2').connect();
    await master.heartbeat(20_000);
    const capped = await new SimFollower(p.platform, 'F-capped', { netting: false }).connect();
    await capped.catalog([spec('EURUSD')]);
    await capped.heartbeat(10_000);
    await capped.drain();
    const g = await insertGroup(db, { name: 'capped', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: capped.accountId, settings: { maxTotalLots: 1.5 } },
      p.clock.now(),
    );
    const position = { masterPositionId: '7101', symbol: 'EURUSD', side: 'sell' };
    await master.signal({ type: 'position.opened', ...position, volume: 1, price: 1.1, dealTicket: 11 });
    await capped.drain();
    p.clock.advance(1000);
    const add = await master.signal({
      type: 'position.increased',
      ...position,
      volume: 1,
      price: 1.1,
      dealTicket: 12,
    });
    expect(add.skipped).toMatchObject([{ followerAccountId: 'F-capped', reason: 'max_total_lots' }]);
    const link = () =>
      db
        .selectFrom('position_links')
        .select(['open_volume', 'master_volume', 'position_count'])
        .where('follower_account_id', '=', capped.accountId)
        .executeTakeFirstOrThrow();
    // The master's position grew all the same: its half closed later is half of the copy.
    expect(await link()).toEqual({ open_volume: 1, master_volume: 2, position_count: 1 });

    p.clock.advance(1000);
    capped.behaviour.rejectAdds = 1;
    const small = await master.signal({
      type: 'position.increased',
      ...position,
      volume: 0.4,
      price: 1.1,
      dealTicket: 13,
    });
    expect(small.copies).toHaveLength(1);
    expect(await link()).toEqual({ open_volume: 1.4, master_volume: 2.4, position_count: 2 });
    await capped.drain();
    expect(await link()).toEqual({ open_volume: 1, master_volume: 2.4, position_count: 1 });

    p.clock.advance(1000);
    await master.signal({
      type: 'position.partially_closed',
      ...position,
      volume: 1.2,
      remainingVolume: 1.2,
      price: 1.1,
      dealTicket: 14,
    });
    await capped.drain();
    expect([...capped.book.values()].map((x) => x.volume)).toEqual([0.5]);
  });
  it('expires an add the follower could not receive in time, and takes it back off the link', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'NM3').connect();
    await master.heartbeat(20_000);
    const away = await new SimFollower(p.platform, 'F-away', { netting: false }).connect();
    await away.catalog([spec('EURUSD')]);
    await away.heartbeat(10_000);
    await away.drain();
    const g = await insertGroup(db, { name: 'away', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: away.accountId, settings: {} },
      p.clock.now(),
    );
    const position = { masterPositionId: '7201', symbol: 'EURUSD', side: 'buy' };
    await master.signal({ type: 'position.opened', ...position, volume: 1, price: 1.1, dealTicket: 21 });
    await away.drain();
    p.clock.advance(1000);
    // The follower is away while the master adds, and for longer than the maximum signal age.
    await master.signal({ type: 'position.increased', ...position, volume: 0.5, price: 1.1, dealTicket: 22 });
    p.clock.advance(61_000);
    await p.platform.reconcile();
    const add = await db
      .selectFrom('copy_orders')
      .select(['status', 'reason'])
      .where('follower_account_id', '=', away.accountId)
      .where('kind', '=', 'increase')
      .executeTakeFirstOrThrow();
    expect(add).toEqual({ status: 'expired', reason: 'signal_too_old' });
    expect(
      await db
        .selectFrom('position_links')
        .select(['open_volume', 'master_volume', 'position_count'])
        .where('follower_account_id', '=', away.accountId)
        .executeTakeFirstOrThrow(),
    ).toEqual({ open_volume: 1, master_volume: 1.5, position_count: 1 });
    // Back online: the add is not delivered late.
    await away.connect();
    await away.drain();
    expect(away.received.filter((e) => e.type === 'trade.increased')).toEqual([]);
    expect([...away.book.values()].map((x) => x.volume)).toEqual([1]);
  });
});
