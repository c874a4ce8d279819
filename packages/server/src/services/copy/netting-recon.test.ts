/**
 * A netting follower reconciled per symbol, whole chain: the broker refuses the follower's close
 * of a master position and the master's next position on the same symbol deals on what is
 * left, so two links share one net position. Reconciliation compares the net volume with the
 * sum of the links — of two copy groups here — and corrects the difference with one deal for
 * the copy whose exit was refused; a close of one group's copy deals its share, whichever way
 * the net position stands. Real storage on both dialects; only the broker is simulated.
 */
import { positionTag } from '@kopitra/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { connectFollower, connectMaster, copyGroup, type SimFollower } from '../../testing/sim.js';

const net = (f: SimFollower) => [...f.book.values()].map((p) => `${p.symbol} ${p.side} ${p.volume}`).sort();

describe.each(dialects)('netting follower reconciled per symbol on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('takes out what a refused close left under the next copy, in one deal, and keeps two groups apart', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const a = await connectMaster(p.platform, 'NA');
    const b = await connectMaster(p.platform, 'NB');
    const f = await connectFollower(p.platform, 'F-net', { netting: true });
    const ga = await copyGroup(p.platform, 'a', a, [f]);
    const gb = await copyGroup(p.platform, 'b', b, [f]);
    const corrections = async () =>
      (await p.platform.reconcile()).flatMap((s) =>
        s.corrections.map((c) =>
          `${c.groupId === ga ? 'a' : 'b'} ${c.kind} ${c.masterPositionId ?? ''} ${c.reason ?? ''}`.trim(),
        ),
      );
    const settle = async () => {
      p.clock.advance(1000);
      await f.snapshot();
      p.clock.advance(1000);
    };
    const eurusd = { symbol: 'EURUSD', price: 1.1 };

    // Group b's copy holds long 0.5 on EURUSD; group a's master opens long 1 on top of it.
    await b.signal({
      type: 'position.opened',
      masterPositionId: '500',
      side: 'buy',
      volume: 0.5,
      dealTicket: 1,
      ...eurusd,
    });
    await a.signal({
      type: 'position.opened',
      masterPositionId: '100',
      side: 'buy',
      volume: 1,
      dealTicket: 1,
      ...eurusd,
    });
    await f.drain();
    expect(net(f)).toEqual(['EURUSD buy 1.5']);
    await settle();
    expect(await corrections()).toEqual([]);

    // Master a closes 100 and the broker refuses the follower's close; then a opens 101 short 1
    // on the same symbol, which deals on the same net position.
    p.clock.advance(1000);
    f.behaviour.rejectExits = 1;
    await a.signal({
      type: 'position.closed',
      masterPositionId: '100',
      side: 'buy',
      volume: 1,
      dealTicket: 2,
      ...eurusd,
    });
    await f.drain();
    await a.signal({
      type: 'position.opened',
      masterPositionId: '101',
      side: 'sell',
      volume: 1,
      dealTicket: 3,
      ...eurusd,
    });
    await f.drain();
    // Links: b long 0.5, a short 1 → short 0.5 expected; the follower holds long 0.5.
    expect(net(f)).toEqual(['EURUSD buy 0.5']);
    await settle();
    expect(await corrections()).toEqual(['a net_deal 100 orphan_position']);
    const deal = await db
      .selectFrom('copy_orders')
      .select(['kind', 'side', 'volume', 'reason', 'master_position_id'])
      .where('origin', '=', 'reconcile')
      .executeTakeFirstOrThrow();
    // One deal of the whole difference, turning the position round, for the copy whose close was refused.
    expect(deal).toEqual({
      kind: 'open',
      side: 'sell',
      volume: 1,
      reason: 'orphan_position',
      master_position_id: '100',
    });
    // Nothing more while it is on its way, or judged on a report older than its fill.
    expect(await corrections()).toEqual([]);
    await f.drain();
    expect(await corrections()).toEqual([]);
    expect(net(f)).toEqual(['EURUSD sell 0.5']);
    expect(f.received.filter((e) => e.type === 'trade.started').at(-1)?.payload.comment).toBe(
      positionTag(ga, '100'),
    );

    // The book agrees now; the links follow the position's new ticket, and then nothing is left to do.
    await settle();
    expect((await corrections()).every((c) => c.includes('update_link'))).toBe(true);
    await settle();
    expect(await corrections()).toEqual([]);
    const ticket = [...f.book.values()][0]!.ticket;
    const links = await db
      .selectFrom('position_links')
      .select(['group_id', 'master_position_id', 'status', 'ticket', 'open_volume'])
      .where('status', '=', 'open')
      .orderBy('master_position_id')
      .execute();
    expect(links).toEqual([
      { group_id: ga, master_position_id: '101', status: 'open', ticket, open_volume: 1 },
      { group_id: gb, master_position_id: '500', status: 'open', ticket, open_volume: 0.5 },
    ]);

    // Master b closes its long 0.5 while the net position is short: the close deals b's share
    // (a sell of 0.5), which makes the position larger, as a's copy alone asks.
    p.clock.advance(1000);
    await b.signal({
      type: 'position.closed',
      masterPositionId: '500',
      side: 'buy',
      volume: 0.5,
      dealTicket: 2,
      ...eurusd,
    });
    await f.drain();
    expect(net(f)).toEqual(['EURUSD sell 1']);
    expect(f.received.filter((e) => e.type === 'trade.closed').at(-1)?.payload).toMatchObject({
      masterPositionId: '500',
      side: 'buy',
      volume: 0.5,
    });
    await settle();
    expect(await corrections()).toEqual([]);
    p.clock.advance(1000);
    await a.signal({
      type: 'position.closed',
      masterPositionId: '101',
      side: 'sell',
      volume: 1,
      dealTicket: 4,
      ...eurusd,
    });
    await f.drain();
    expect(net(f)).toEqual([]);
    await settle();
    expect(await corrections()).toEqual([]);
    expect(
      await db.selectFrom('position_links').select('status').where('status', '!=', 'closed').execute(),
    ).toEqual([]);
  });

  it('trims excess a refused partial close left, and has links follow a reduction by hand', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const m = await connectMaster(p.platform, 'NM');
    const f = await connectFollower(p.platform, 'F-net2', { netting: true });
    await copyGroup(p.platform, 'm', m, [f]);
    const pos = { masterPositionId: '200', symbol: 'EURUSD', side: 'sell', price: 1.1 };
    await m.signal({ type: 'position.opened', ...pos, volume: 1, dealTicket: 1 });
    await f.drain();
    p.clock.advance(1000);
    f.behaviour.rejectExits = 1;
    await m.signal({
      type: 'position.partially_closed',
      ...pos,
      volume: 0.4,
      remainingVolume: 0.6,
      dealTicket: 2,
    });
    await f.drain();
    expect(net(f)).toEqual(['EURUSD sell 1']);
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    const summary = async () =>
      (await p.platform.reconcile()).flatMap((s) =>
        s.corrections.map((c) => `${c.kind} ${c.reason ?? ''}`.trim()),
      );
    expect(await summary()).toEqual(['net_deal volume_mismatch']);
    expect(
      await db
        .selectFrom('copy_orders')
        .select(['kind', 'volume'])
        .where('origin', '=', 'reconcile')
        .executeTakeFirstOrThrow(),
    ).toEqual({ kind: 'partial_close', volume: 0.4 });
    await f.drain();
    expect(net(f)).toEqual(['EURUSD sell 0.6']);

    // The trader takes 0.2 off by hand: under the detach policy the link follows.
    [...f.book.values()][0]!.volume = 0.4;
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    expect(await summary()).toEqual(['update_link', 'alert volume_mismatch']);
    expect(
      await db.selectFrom('position_links').select(['open_volume', 'status']).executeTakeFirstOrThrow(),
    ).toEqual({ open_volume: 0.4, status: 'open' });
  });

  it('counts what a refused partial close left once the rest of the copy closed', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const m = await connectMaster(p.platform, 'NP');
    const f = await connectFollower(p.platform, 'F-net3', { netting: true });
    await copyGroup(p.platform, 'p', m, [f]);
    const first = { masterPositionId: '300', symbol: 'EURUSD', side: 'buy', price: 1.1 };
    await m.signal({ type: 'position.opened', ...first, volume: 2, dealTicket: 1 });
    await f.drain();
    p.clock.advance(1000);
    f.behaviour.rejectExits = 1;
    await m.signal({
      type: 'position.partially_closed',
      ...first,
      volume: 1,
      remainingVolume: 1,
      dealTicket: 2,
    });
    await m.signal({ type: 'position.closed', ...first, volume: 1, dealTicket: 3 });
    await f.drain();
    // The close took its 1 lot; the refused half is still held though the link is closed.
    expect(net(f)).toEqual(['EURUSD buy 1']);
    await m.signal({
      type: 'position.opened',
      masterPositionId: '301',
      symbol: 'EURUSD',
      side: 'sell',
      volume: 0.5,
      price: 1.1,
      dealTicket: 4,
    });
    await f.drain();
    expect(net(f)).toEqual(['EURUSD buy 0.5']);
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    const summary = (await p.platform.reconcile()).flatMap((s) =>
      s.corrections.map((c) => `${c.kind} ${c.masterPositionId} ${c.reason ?? ''}`.trim()),
    );
    expect(summary).toEqual(['net_deal 300 orphan_position']);
    await f.drain();
    expect(net(f)).toEqual(['EURUSD sell 0.5']);
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    expect(
      (await p.platform.reconcile()).flatMap((s) => s.corrections).filter((c) => c.kind !== 'update_link'),
    ).toEqual([]);
  });
});
