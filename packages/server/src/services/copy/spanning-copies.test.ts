/**
 * A hedging follower's copy of a master that added to its position spans several positions.
 * A partial close spread over them can close the copy's first position whole (the one its link
 * names), and the reconciler then finds the copy by its tag: the link must take the volume of
 * the whole copy, not of the one position it found first, or the next pass trims the copy to
 * that position's size while the master still holds it all (the soak's sizing findings).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const position = { masterPositionId: '901', symbol: 'EURUSD', side: 'buy' } as const;

describe.each(dialects)('a copy spanning several positions on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('keeps its whole volume when a partial close took its first position', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M1').connect();
    const f = await new SimFollower(p.platform, 'F1').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, p.clock.now());
    await putSubscription(db, { groupId: g.group_id, followerAccountId: 'F1', settings: {} }, p.clock.now());
    let deal = 9900;
    const step = async (type: string, volume: number, remainingVolume?: number) => {
      p.clock.advance(1000);
      await master.signal({ type, ...position, volume, remainingVolume, price: 1.1, dealTicket: deal++ });
      await f.drain();
    };
    // The soak's master position 1000029, as S01 copied it.
    await step('position.opened', 1);
    await step('position.increased', 1, 2);
    await step('position.partially_closed', 0.5, 1.5);
    await step('position.partially_closed', 0.3, 1.2);
    await step('position.increased', 1, 2.2);
    // Spread newest first: neither add closes whole, the first position gives its 0.2 and
    // goes, the newest add the remaining 0.3.
    await step('position.partially_closed', 0.5, 1.7);
    const volumes = () => [...f.book.values()].map((x) => x.volume).sort();
    expect(volumes()).toEqual([0.7, 1]);

    for (let pass = 0; pass < 3; pass++) {
      p.clock.advance(1000);
      await f.snapshot();
      p.clock.advance(1000);
      const kinds = (await p.platform.reconcile()).flatMap((s) => s.corrections.map((c) => c.kind));
      expect(kinds.filter((k) => k !== 'update_link')).toEqual([]);
      await f.drain();
    }
    expect(volumes()).toEqual([0.7, 1]);
    const link = await db
      .selectFrom('position_links')
      .selectAll()
      .where('master_position_id', '=', '901')
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({ status: 'open', open_volume: 1.7 });
  });
});
