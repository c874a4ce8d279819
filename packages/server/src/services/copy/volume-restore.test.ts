/**
 * Reconciliation restores volume reduced outside Kopitra under the reopen policy: a netting
 * follower gets an open of exactly the missing volume (reason volume_restored), once, however
 * many passes run before and after it fills; a hedging follower is alerted instead.
 */
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

  it('opens the missing volume on a netting follower once, and only alerts a hedging one', async (t) => {
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
      'V-hedging alert volume_mismatch',
      'V-hedging update_link',
      'V-netting adjust_volume',
    ]);
    // Passes while the open is on its way, and after it filled on an older book report, add nothing.
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);
    await netting.drain();
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);

    const restores = await db
      .selectFrom('copy_orders')
      .select(['kind', 'origin', 'status', 'volume', 'reason'])
      .where('follower_account_id', '=', 'V-netting')
      .where('origin', '=', 'reconcile')
      .execute();
    expect(restores).toEqual([
      { kind: 'open', origin: 'reconcile', status: 'filled', volume: 0.37, reason: 'volume_restored' },
    ]);
    expect([...netting.book.values()].map((x) => x.volume)).toEqual([1]);
    // A fresh book report agrees with the link: nothing more to do.
    p.clock.advance(1000);
    await netting.snapshot();
    await hedging.snapshot();
    p.clock.advance(1000);
    expect(await corrections()).toEqual([]);
    const links = await db
      .selectFrom('position_links')
      .select(['follower_account_id', 'open_volume'])
      .orderBy('follower_account_id')
      .execute();
    expect(links).toEqual([
      { follower_account_id: 'V-hedging', open_volume: 0.63 },
      { follower_account_id: 'V-netting', open_volume: 1 },
    ]);
  });
});
