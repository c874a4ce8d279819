/**
 * Races the SDK simulators' end-to-end run found between copying and reconciliation:
 * - a copy whose open was rejected waits for the reconciler to re-open it; if the master acts
 *   on the position meanwhile, the waiting link must follow (a partial close shrinks what will
 *   be re-opened, a close ends it), or the reconciler re-opens a position the master closed;
 * - a snapshot taken before a partial close was executed must not make the reconciler trim
 *   the position a second time (and then detach what is left).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

async function setup(tp: TestPlatform, rejectOpens = 1) {
  const master = await new SimMaster(tp.platform, 'M1').connect();
  const f = await new SimFollower(tp.platform, 'F1', { rejectOpens }).connect();
  await f.catalog([spec('EURUSD')]);
  await f.drain();
  const db = tp.platform.database.db;
  const g = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, tp.clock.now());
  await putSubscription(db, { groupId: g.group_id, followerAccountId: 'F1', settings: {} }, tp.clock.now());
  await master.signal({
    type: 'position.opened',
    masterPositionId: '801',
    symbol: 'EURUSD',
    side: 'buy',
    volume: 1,
    price: 1.1,
    dealTicket: 9801,
  });
  await f.drain();
  return { master, f };
}

const link = (tp: TestPlatform) =>
  tp.platform.database.db
    .selectFrom('position_links')
    .selectAll()
    .where('master_position_id', '=', '801')
    .executeTakeFirstOrThrow();
const corrections = async (tp: TestPlatform) =>
  (await tp.platform.reconcile()).flatMap((s) => s.corrections.map((c) => c.kind));
const reopens = async (tp: TestPlatform) =>
  (
    await tp.platform.database.db
      .selectFrom('copy_orders')
      .select(['kind', 'volume'])
      .where('origin', '=', 'reconcile')
      .execute()
  ).map((o) => [o.kind, o.volume]);

describe.each(dialects)('links of copies waiting to be re-opened on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('end when the master closes, and nothing is re-opened', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p);
    expect((await link(p)).status).toBe('failed');
    const close = await master.signal({
      type: 'position.closed',
      masterPositionId: '801',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.101,
      dealTicket: 9802,
    });
    expect(close.skipped.map((s: { reason: string }) => s.reason)).toEqual(['no_linked_position']);
    expect((await link(p)).status).toBe('closed');
    await p.platform.reconcile();
    await f.drain();
    expect(await reopens(p)).toEqual([]);
    expect(f.book.size).toBe(0);
  });

  it('follow a partial close and a modification, so the re-open has the master’s current size and levels', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p);
    await master.signal({
      type: 'position.partially_closed',
      masterPositionId: '801',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.4,
      remainingVolume: 0.6,
      price: 1.101,
      dealTicket: 9803,
    });
    await master.signal({
      type: 'position.modified',
      masterPositionId: '801',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.6,
      price: 1.1,
      sl: 1.09,
      tp: 1.12,
      signalId: 'mod-801-1',
    });
    expect(await link(p)).toMatchObject({
      status: 'failed',
      open_volume: 0.6,
      master_volume: 0.6,
      sl: 1.09,
      tp: 1.12,
    });
    await p.platform.reconcile();
    await f.drain();
    expect(await reopens(p)).toEqual([['open', 0.6]]);
    expect([...f.book.values()].map((x) => [x.volume, x.sl, x.tp])).toEqual([[0.6, 1.09, 1.12]]);
    expect(await link(p)).toMatchObject({ status: 'open', open_volume: 0.6 });
  });

  it('do not trim again a partial close the snapshot predates', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p, 0);
    expect([...f.book.values()].map((x) => x.volume)).toEqual([1]);
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    await master.signal({
      type: 'position.partially_closed',
      masterPositionId: '801',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.4,
      remainingVolume: 0.6,
      price: 1.101,
      dealTicket: 9804,
    });
    await f.drain();
    expect([...f.book.values()].map((x) => x.volume)).toEqual([0.6]);
    p.clock.advance(1000);
    // The snapshot still shows 1 lot; the link says 0.6 since the partial close was executed after it.
    expect(await corrections(p)).toEqual([]);
    await f.drain();
    expect([...f.book.values()].map((x) => x.volume)).toEqual([0.6]);
    p.clock.advance(1000);
    await f.snapshot();
    expect(await corrections(p)).toEqual([]);
    expect(await link(p)).toMatchObject({ status: 'open', open_volume: 0.6 });

    // A fresh snapshot still catches a real difference: a partial close the broker refused.
    await master.signal({
      type: 'position.partially_closed',
      masterPositionId: '801',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      remainingVolume: 0.3,
      price: 1.102,
      dealTicket: 9805,
    });
    const [event] = await f.peek();
    expect(
      (await f.execution({ orderId: event!.payload.orderId, status: 'rejected', errorCode: 10006 }))
        .statusCode,
    ).toBe(200);
    await f.inbox([{ eventType: 'OutboxAck', eventId: event!.eventId, sequence: event!.sequence }]);
    f.cursor = event!.sequence;
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    expect(await corrections(p)).toEqual(['adjust_volume']);
    await f.drain();
    expect([...f.book.values()].map((x) => x.volume)).toEqual([0.3]);
  });
});
