/**
 * Volume rules on the whole chain: a filter on the master's own lots that sits out a
 * martingale master's outsized steps, and partial closes that follow the master's ratio as
 * closely as the follower's lot step allows. Real storage on both dialects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { operatorApi, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

describe.each(dialects)('volume rules on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it("skips a martingale master's outsized step and says which limit applied", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('martingale', 'MM', ['MF-guard', 'MF-cap']);
    const master = await new SimMaster(p.platform, 'MM').connect();
    const guard = await new SimFollower(p.platform, 'MF-guard').connect();
    const cap = await new SimFollower(p.platform, 'MF-cap').connect();
    for (const f of [guard, cap]) {
      await f.catalog([spec('EURUSD')]);
      await f.drain();
    }
    const path = (id: string) => `/api/admin/groups/${groupId}/followers/${id}`;
    // One sits out master trades above 0.4 lots; the other caps its own volume at 0.4.
    expect((await api.put(path('MF-guard'), { masterVolume: { max: 0.4 } })).statusCode).toBe(200);
    expect((await api.put(path('MF-cap'), { maxVolume: 0.4 })).statusCode).toBe(200);
    expect((await api.put(path('MF-cap'), { masterVolume: { min: 2, max: 1 } })).json()).toMatchObject({
      error: 'invalid_request',
      issues: [{ path: 'body.masterVolume', message: 'masterVolume.min must not exceed masterVolume.max' }],
    });

    // The martingale doubles after each loss: 0.1, 0.2, 0.4, 0.8.
    const steps: any[] = [];
    for (const [i, volume] of [0.1, 0.2, 0.4, 0.8].entries()) {
      const id = `S${i + 1}`;
      steps.push(
        await master.signal({
          type: 'position.opened',
          masterPositionId: id,
          symbol: 'EURUSD',
          side: 'buy',
          volume,
          price: 1.1,
        }),
      );
      p.clock.advance(1000);
    }
    const outcome = (f: string) =>
      steps.map((s) =>
        s.copies.some((c: any) => c.followerAccountId === f)
          ? `copied ${s.copies.find((c: any) => c.followerAccountId === f).volume}`
          : s.skipped.find((x: any) => x.followerAccountId === f).reason,
      );
    expect(outcome('MF-guard')).toEqual([
      'copied 0.1',
      'copied 0.2',
      'copied 0.4',
      'master_volume_above_maximum',
    ]);
    expect(outcome('MF-cap')).toEqual(['copied 0.1', 'copied 0.2', 'copied 0.4', 'copied 0.4']);
    const skippedStep = steps[3].skipped.find((x: any) => x.followerAccountId === 'MF-guard');
    expect(skippedStep.detail).toBe('the master opened 0.8 lots, maximum 0.4');
    const stored = await p.platform.database.db
      .selectFrom('copy_orders')
      .select(['status', 'reason', 'detail'])
      .where('follower_account_id', '=', 'MF-guard')
      .where('master_position_id', '=', 'S4')
      .executeTakeFirstOrThrow();
    expect(stored).toEqual({
      status: 'skipped',
      reason: 'master_volume_above_maximum',
      detail: skippedStep.detail,
    });

    // The exit of the skipped step is not copied either; the copied steps close as usual.
    const closeAll: any[] = [];
    for (const [i, volume] of [0.1, 0.2, 0.4, 0.8].entries())
      closeAll.push(
        await master.signal({
          type: 'position.closed',
          masterPositionId: `S${i + 1}`,
          symbol: 'EURUSD',
          side: 'buy',
          volume,
          price: 1.11,
        }),
      );
    expect(closeAll[3].skipped.find((x: any) => x.followerAccountId === 'MF-guard').reason).toBe(
      'no_linked_position',
    );
    for (const f of [guard, cap]) await f.drain();
    expect(guard.book.size + cap.book.size).toBe(0);
  });

  it("closes the master's share of a partial close to the nearest lot step", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const api = await operatorApi(p.platform);
    const groupId = await api.group('partial', 'PM', ['PF']);
    const master = await new SimMaster(p.platform, 'PM').connect();
    const f = await new SimFollower(p.platform, 'PF').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    await api.put(`/api/admin/groups/${groupId}/followers/PF`, { sizing: { mode: 'fixed', lots: 0.03 } });
    await master.signal({
      type: 'position.opened',
      masterPositionId: 'H',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
    });
    await f.drain();
    // Half of the master's position: half of 0.03 is 0.015, which closes 0.02 (not 0.01).
    const half = await master.signal({
      type: 'position.partially_closed',
      masterPositionId: 'H',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.5,
      remainingVolume: 0.5,
      price: 1.1,
    });
    expect(half.copies[0].volume).toBe(0.02);
    await f.drain();
    expect([...f.book.values()].map((b) => b.volume)).toEqual([0.01]);
    // A further 20 % of what is left (0.002 of 0.01) would leave under the minimum share: skipped, still open.
    const small = await master.signal({
      type: 'position.partially_closed',
      masterPositionId: 'H',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      remainingVolume: 0.4,
      price: 1.1,
    });
    expect(small.skipped.map((s: any) => s.reason)).toEqual(['partial_close_too_small']);
    await master.signal({
      type: 'position.closed',
      masterPositionId: 'H',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.4,
      price: 1.1,
    });
    await f.drain();
    expect(f.book.size).toBe(0);
  });
});
