/**
 * Two masters that use the same position id, and followers in both copy groups, whole chain
 * over the EA HTTP plane: each follower holds two copies told apart by their tags
 * (`kp:<group>:<id>`); a partial close of one master touches only its copy, each close closes
 * the right one, and reconciliation leaves both alone — on a hedging follower (two positions)
 * and on a netting one (one net position holding both). Real storage on both dialects; only
 * the broker behind each EA is simulated.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { connectFollower, connectMaster, copyGroup, type SimFollower } from '../../testing/sim.js';

const book = (f: SimFollower) => [...f.book.values()].map((p) => `${p.comment} ${p.side} ${p.volume}`).sort();

describe.each(dialects)('two masters with the same position id on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('keeps the two copies apart through a partial close, the closes and reconciliation', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const a = await connectMaster(p.platform, 'SA');
    const b = await connectMaster(p.platform, 'SB');
    const hedging = await connectFollower(p.platform, 'F-hedge', { netting: false });
    const netting = await connectFollower(p.platform, 'F-net', { netting: true });
    const followers = [hedging, netting];
    const ga = await copyGroup(p.platform, 'a', a, followers);
    const gb = await copyGroup(p.platform, 'b', b, followers);
    const tagA = positionTag(ga, '777');
    const tagB = positionTag(gb, '777');
    expect(tagA).not.toBe(tagB);
    const drain = async () => {
      for (const f of followers) await f.drain();
    };
    const reconciled = async () => {
      p.clock.advance(1000);
      for (const f of followers) await f.snapshot();
      p.clock.advance(1000);
      return (await p.platform.reconcile()).flatMap((s) => s.corrections);
    };
    const links = (followerAccountId: string) =>
      db
        .selectFrom('position_links')
        .select(['group_id', 'ticket', 'open_volume', 'status'])
        .where('follower_account_id', '=', followerAccountId)
        .where('master_position_id', '=', '777')
        .orderBy('group_id')
        .execute();
    const position = { masterPositionId: '777', symbol: 'EURUSD', side: 'buy', price: 1.1 };

    await a.signal({ type: 'position.opened', ...position, volume: 1, dealTicket: 1 });
    await b.signal({ type: 'position.opened', ...position, volume: 0.5, dealTicket: 1 });
    await drain();
    expect(book(hedging)).toEqual([`${tagA} buy 1`, `${tagB} buy 0.5`].sort());
    // The netting follower holds both in its one position, under the tag of the first deal.
    expect(book(netting)).toEqual([`${tagA} buy 1.5`]);
    const hedged = await links(hedging.accountId);
    expect(hedged.map((l) => l.open_volume).sort()).toEqual([0.5, 1]);
    expect(new Set(hedged.map((l) => l.ticket)).size).toBe(2);
    expect(await reconciled()).toEqual([]);

    // Master a closes 40 % of its 777: only group a's copy shrinks.
    p.clock.advance(1000);
    await a.signal({
      type: 'position.partially_closed',
      ...position,
      volume: 0.4,
      remainingVolume: 0.6,
      dealTicket: 2,
    });
    await drain();
    expect(book(hedging)).toEqual([`${tagA} buy 0.6`, `${tagB} buy 0.5`].sort());
    expect(book(netting)).toEqual([`${tagA} buy 1.1`]);
    const partials = hedging.received.filter((e) => e.type === 'trade.partial_close');
    expect(partials.map((e) => e.payload.comment)).toEqual([tagA]);
    expect(await reconciled()).toEqual([]);

    // Master b closes its 777: group b's copy goes, a's stays.
    p.clock.advance(1000);
    await b.signal({ type: 'position.closed', ...position, volume: 0.5, dealTicket: 2 });
    await drain();
    expect(book(hedging)).toEqual([`${tagA} buy 0.6`]);
    expect(book(netting)).toEqual([`${tagA} buy 0.6`]);
    for (const f of followers)
      expect((await links(f.accountId)).map((l) => [l.group_id, l.status, l.open_volume])).toEqual(
        [
          [ga, 'open', 0.6],
          [gb, 'closed', 0.5],
        ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      );
    expect(await reconciled()).toEqual([]);

    // And master a's close closes the last one.
    p.clock.advance(1000);
    await a.signal({ type: 'position.closed', ...position, volume: 0.6, dealTicket: 3 });
    await drain();
    for (const f of followers) expect(book(f)).toEqual([]);
    expect(await reconciled()).toEqual([]);
    const orders = await db
      .selectFrom('copy_orders')
      .select(['follower_account_id', 'group_id', 'kind', 'status'])
      .where('origin', '!=', 'signal')
      .execute();
    // Nothing was corrected: no order came from anything but the masters' signals.
    expect(orders).toEqual([]);
  });
});
