/**
 * The master's close wins over every open of the same position the server decided before
 * it: an open still undelivered when the close arrives is withdrawn (never delivered, shown as
 * `withdrawn` / `master_closed`), and reconciliation never re-opens a position whose master
 * close it has heard of — whichever of the two runs first, on both dialects.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const POSITION = '901';
const leg = (type: string, extra: Record<string, unknown> = {}) => ({
  type,
  masterPositionId: POSITION,
  symbol: 'EURUSD',
  side: 'buy',
  volume: 1,
  price: 1.1,
  ...extra,
});

async function setup(tp: TestPlatform, rejectOpens = 0) {
  const master = await new SimMaster(tp.platform, 'M1').connect();
  const f = await new SimFollower(tp.platform, 'F1', { rejectOpens }).connect();
  await f.catalog([spec('EURUSD')]);
  await f.drain();
  const db = tp.platform.database.db;
  const g = await insertGroup(db, { name: 'g', masterAccountId: 'M1' }, tp.clock.now());
  await putSubscription(db, { groupId: g.group_id, followerAccountId: 'F1', settings: {} }, tp.clock.now());
  return { master, f };
}

const orders = (tp: TestPlatform) =>
  tp.platform.database.db
    .selectFrom('copy_orders')
    .select(['order_id', 'kind', 'origin', 'status', 'reason', 'detail'])
    .where('master_position_id', '=', POSITION)
    .orderBy('written_at')
    .orderBy('order_id')
    .execute();
const link = (tp: TestPlatform) =>
  tp.platform.database.db
    .selectFrom('position_links')
    .selectAll()
    .where('master_position_id', '=', POSITION)
    .executeTakeFirstOrThrow();
const startedReceived = (f: SimFollower) => f.received.filter((e) => e.type === 'trade.started');

describe.each(dialects)('the master’s close wins on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('withdraws a re-open reconciliation queued when the close arrives before it is delivered', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p, 1);
    await master.signal(leg('position.opened', { dealTicket: 9901 }));
    await f.drain();
    expect((await link(p)).status).toBe('failed');
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections.map((c) => c.kind))).toEqual([
      'reopen',
    ]);
    const reopen = (await orders(p)).find((o) => o.origin === 'reconcile')!;
    expect(reopen).toMatchObject({ kind: 'open', status: 'queued' });

    const close = await master.signal(leg('position.closed', { price: 1.101, dealTicket: 9902 }));
    expect(close.copies).toEqual([]);
    expect(close.skipped.map((s: { reason: string }) => s.reason)).toEqual(['master_closed']);
    expect(await orders(p)).toEqual([
      expect.objectContaining({ origin: 'signal', kind: 'open', status: 'rejected' }),
      expect.objectContaining({
        order_id: reopen.order_id,
        origin: 'reconcile',
        kind: 'open',
        status: 'withdrawn',
        reason: 'master_closed',
      }),
      expect.objectContaining({
        origin: 'signal',
        kind: 'close',
        status: 'skipped',
        reason: 'master_closed',
      }),
    ]);
    expect((await link(p)).status).toBe('closed');

    await f.drain();
    // The withdrawn re-open never reached the terminal; only the first (rejected) open did.
    expect(startedReceived(f).map((e) => e.payload['orderId'])).not.toContain(reopen.order_id);
    expect(f.book.size).toBe(0);
    p.clock.advance(1000);
    await f.snapshot();
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
    expect((await orders(p)).filter((o) => o.status === 'queued')).toEqual([]);
  });

  it('withdraws a signal’s open (and what followed it) still waiting for a terminal that has not polled', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p);
    await master.signal(leg('position.opened', { dealTicket: 9911 }));
    p.clock.advance(500);
    await master.signal(leg('position.modified', { sl: 1.09, signalId: 'mod-901' }));
    p.clock.advance(500);
    await master.signal(leg('position.closed', { price: 1.101, dealTicket: 9912 }));
    expect((await orders(p)).map((o) => [o.kind, o.status, o.reason])).toEqual([
      ['open', 'withdrawn', 'master_closed'],
      ['modify', 'withdrawn', 'master_closed'],
      ['close', 'skipped', 'master_closed'],
    ]);
    await f.drain();
    expect(f.received.filter((e) => e.type.startsWith('trade.'))).toEqual([]);
    expect(f.book.size).toBe(0);
    expect((await link(p)).status).toBe('closed');
  });

  it('sends the close after an open the terminal already fetched: it may be executing it', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p);
    await master.signal(leg('position.opened', { dealTicket: 9921 }));
    expect((await f.peek()).map((e) => e.type)).toEqual(['trade.started']);
    const close = await master.signal(leg('position.closed', { price: 1.101, dealTicket: 9922 }));
    expect(close.copies).toHaveLength(1);
    await f.drain();
    expect(f.book.size).toBe(0);
    expect((await orders(p)).map((o) => [o.kind, o.status])).toEqual([
      ['open', 'filled'],
      ['close', 'filled'],
    ]);
    expect((await link(p)).status).toBe('closed');
  });

  it('closes the link of an open the broker refused after the master closed, so nothing is re-opened', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p);
    await master.signal(leg('position.opened', { dealTicket: 9931 }));
    const [open] = await f.peek();
    await master.signal(leg('position.closed', { price: 1.101, dealTicket: 9932 }));
    expect((await link(p)).status).toBe('closing');
    // The terminal refuses the open it fetched before the close; the close is still to come.
    const res = await f.execution({
      orderId: open!.payload['orderId'],
      status: 'rejected',
      errorCode: 10019,
      message: 'No money',
    });
    expect(res.statusCode).toBe(200);
    await f.inbox([{ eventType: 'OutboxAck', eventId: open!.eventId, sequence: open!.sequence }]);
    f.cursor = open!.sequence;
    expect((await link(p)).status).toBe('closed');
    p.clock.advance(1000);
    expect((await p.platform.reconcile()).flatMap((s) => s.corrections)).toEqual([]);
    await f.drain();
    expect(f.book.size).toBe(0);
    expect((await orders(p)).filter((o) => o.origin === 'reconcile')).toEqual([]);
  });

  it('never delivers a re-open however reconciliation and the close interleave', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, f } = await setup(p, 4);
    for (let i = 0; i < 4; i++) {
      const id = `95${i}`;
      await master.signal({ ...leg('position.opened', { dealTicket: 9950 + i * 2 }), masterPositionId: id });
      await f.drain();
      p.clock.advance(1000);
      // Both start before either commits; on PostgreSQL they really run side by side.
      await Promise.all([
        p.platform.reconcile(),
        master.signal({
          ...leg('position.closed', { price: 1.101, dealTicket: 9951 + i * 2 }),
          masterPositionId: id,
        }),
      ]);
      await f.drain();
    }
    const reopened = await p.platform.database.db
      .selectFrom('copy_orders')
      .select(['order_id', 'status'])
      .where('origin', '=', 'reconcile')
      .execute();
    const delivered = new Set(startedReceived(f).map((e) => e.payload['orderId']));
    expect(reopened.filter((o) => delivered.has(o.order_id))).toEqual([]);
    expect(reopened.every((o) => o.status === 'withdrawn')).toBe(true);
    expect(f.book.size).toBe(0);
  });
});
