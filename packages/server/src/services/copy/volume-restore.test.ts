/**
 * Reconciliation restores volume reduced outside Kopitra under the reopen policy: a netting
 * follower gets an open of exactly the missing volume (reason volume_restored) on its net
 * position, a hedging follower a further position carrying the copy's tag (`trade.increased`),
 * each once, however many passes run before and after it fills. A refused or forbidden restore
 * leaves the link following the follower.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

describe.each(dialects)('restoring reduced volume on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it("opens the missing volume once, on a netting follower's position and as a further hedging position", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'VM').connect();
    await master.heartbeat(20_000);
    const netting = await new SimFollower(p.platform, 'V-netting', { netting: true }).connect();
    const hedging = await new SimFollower(p.platform, 'V-hedging', { netting: false }).connect();
    for (const f of [netting, hedging]) {
      await f.catalog([spec('EURUSD')]);
      await f.heartbeat(10_000);
      await f.drain();
    }
    const g = await insertGroup(db, { name: 'restore', masterAccountId: master.accountId }, p.clock.now());
    for (const f of [netting, hedging])
      await putSubscription(
        db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: { manualClosePolicy: 'reopen' } },
        p.clock.now(),
      );
    await master.signal({
      type: 'position.opened',
      masterPositionId: '8101',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      dealTicket: 1,
    });
    for (const f of [netting, hedging]) await f.drain();

    // Someone takes 0.37 lots off each copy by hand.
    for (const f of [netting, hedging]) [...f.book.values()][0]!.volume = 0.63;
    p.clock.advance(1000);
    for (const f of [netting, hedging]) await f.snapshot();
    p.clock.advance(1000);

    const corrections = async () =>
      (await p.platform.reconcile()).flatMap((s) =>
        s.corrections.map((c) => `${s.followerAccountId} ${c.kind}${c.reason ? ` ${c.reason}` : ''}`),
      );
    expect((await corrections()).sort()).toEqual([
      'V-hedging adjust_volume',
      'V-netting net_deal volume_restored',
    ]);
    // Passes while the open is on its way, and after it filled on an older book report, add nothing.
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);
    for (const f of [netting, hedging]) await f.drain();
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);

    const restores = await db
      .selectFrom('copy_orders')
      .select(['follower_account_id', 'kind', 'origin', 'status', 'volume', 'reason'])
      .where('origin', '=', 'reconcile')
      .orderBy('follower_account_id')
      .execute();
    expect(restores).toEqual([
      {
        follower_account_id: 'V-hedging',
        kind: 'increase',
        origin: 'reconcile',
        status: 'filled',
        volume: 0.37,
        reason: 'volume_restored',
      },
      {
        follower_account_id: 'V-netting',
        kind: 'open',
        origin: 'reconcile',
        status: 'filled',
        volume: 0.37,
        reason: 'volume_restored',
      },
    ]);
    expect([...netting.book.values()].map((x) => x.volume)).toEqual([1]);
    const tag = positionTag(g.group_id, '8101');
    expect(hedging.received.find((e) => e.type === 'trade.increased')?.payload).toMatchObject({
      ticket: '1000',
      side: 'buy',
      volume: 0.37,
      comment: tag,
    });
    expect([...hedging.book.values()].map((x) => [x.volume, x.comment])).toEqual([
      [0.63, tag],
      [0.37, tag],
    ]);
    // A fresh book report agrees with the link: nothing more to do.
    p.clock.advance(1000);
    await netting.snapshot();
    await hedging.snapshot();
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);
    const links = await db
      .selectFrom('position_links')
      .select(['follower_account_id', 'open_volume', 'position_count'])
      .orderBy('follower_account_id')
      .execute();
    expect(links).toEqual([
      { follower_account_id: 'V-hedging', open_volume: 1, position_count: 2 },
      { follower_account_id: 'V-netting', open_volume: 1, position_count: 1 },
    ]);

    // The master's close closes both positions of the hedging copy.
    p.clock.advance(1000);
    await master.signal({
      type: 'position.closed',
      masterPositionId: '8101',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      dealTicket: 2,
    });
    for (const f of [netting, hedging]) await f.drain();
    expect([...hedging.book.values()]).toEqual([]);
    expect([...netting.book.values()]).toEqual([]);
  });

  it('leaves the link following a hedging follower when the restore is refused or over the position limit', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'VM2').connect();
    await master.heartbeat(20_000);
    const refusing = await new SimFollower(p.platform, 'V-refusing', { netting: false }).connect();
    const full = await new SimFollower(p.platform, 'V-full', { netting: false }).connect();
    for (const f of [refusing, full]) {
      await f.catalog([spec('EURUSD')]);
      await f.heartbeat(10_000);
      await f.drain();
    }
    const g = await insertGroup(db, { name: 'restore 2', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      {
        groupId: g.group_id,
        followerAccountId: refusing.accountId,
        settings: { manualClosePolicy: 'reopen' },
      },
      p.clock.now(),
    );
    await putSubscription(
      db,
      {
        groupId: g.group_id,
        followerAccountId: full.accountId,
        settings: { manualClosePolicy: 'reopen', maxOpenPositions: 1 },
      },
      p.clock.now(),
    );
    await master.signal({
      type: 'position.opened',
      masterPositionId: '8201',
      symbol: 'EURUSD',
      side: 'sell',
      volume: 1,
      price: 1.1,
      dealTicket: 11,
    });
    for (const f of [refusing, full]) await f.drain();
    for (const f of [refusing, full]) [...f.book.values()][0]!.volume = 0.6;
    p.clock.advance(1000);
    for (const f of [refusing, full]) await f.snapshot();
    p.clock.advance(1000);
    const summary = (await p.platform.reconcile()).flatMap((s) =>
      s.corrections.map((c) => `${s.followerAccountId} ${c.kind}${c.reason ? ` ${c.reason}` : ''}`),
    );
    expect(summary.sort()).toEqual([
      'V-full alert volume_mismatch',
      'V-full update_link',
      'V-refusing adjust_volume',
    ]);
    const message = await db
      .selectFrom('alerts')
      .select('message')
      .where('account_id', '=', 'V-full')
      .executeTakeFirstOrThrow();
    expect(message.message).toContain('max_open_positions');

    refusing.behaviour.rejectAdds = 1;
    await refusing.drain();
    const add = await db
      .selectFrom('copy_orders')
      .select(['kind', 'status', 'reason'])
      .where('follower_account_id', '=', 'V-refusing')
      .where('origin', '=', 'reconcile')
      .executeTakeFirstOrThrow();
    expect(add).toEqual({ kind: 'increase', status: 'rejected', reason: 'execution_rejected' });
    const links = await db
      .selectFrom('position_links')
      .select(['follower_account_id', 'open_volume', 'position_count', 'status'])
      .orderBy('follower_account_id')
      .execute();
    expect(links).toEqual([
      { follower_account_id: 'V-full', open_volume: 0.6, position_count: 1, status: 'open' },
      { follower_account_id: 'V-refusing', open_volume: 0.6, position_count: 1, status: 'open' },
    ]);
    // The book and the links agree now: nothing is tried again.
    p.clock.advance(1000);
    for (const f of [refusing, full]) await f.snapshot();
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
  });
});
