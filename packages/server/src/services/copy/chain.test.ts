/**
 * Whole chains through the gateway: master signal → fan-out → follower EAs execute →
 * execution reports → books reconciled. Real storage on both dialects; only the broker
 * behind each EA is simulated.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { positionTag } from '@kopitra/contracts';
import type { SubscriptionInput } from '@kopitra/engine';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const book = (f: SimFollower) =>
  [...f.book.values()]
    .map((p) => ({
      symbol: p.symbol,
      side: p.side,
      volume: p.volume,
      sl: p.sl,
      tp: p.tp,
      comment: p.comment,
    }))
    .sort((a, b) => a.comment.localeCompare(b.comment));

async function group(
  tp: TestPlatform,
  master: SimMaster,
  followers: Array<[SimFollower, SubscriptionInput]>,
  name = 'g',
) {
  const db = tp.platform.database.db;
  const g = await insertGroup(db, { name, masterAccountId: master.accountId }, tp.clock.now());
  for (const [f, settings] of followers)
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: f.accountId, settings },
      tp.clock.now(),
    );
  return g.group_id;
}

describe.each(dialects)('copy chain on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('replicates opens, a partial close, a modification and closes to followers with different sizing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'M1').connect();
    const mirror = await new SimFollower(p.platform, 'F-mirror').connect();
    const double = await new SimFollower(p.platform, 'F-double').connect();
    const fixed = await new SimFollower(p.platform, 'F-fixed').connect();
    for (const f of [mirror, double, fixed]) {
      await f.catalog([
        spec('EURUSD'),
        spec('XAUUSD', { digits: 2, point: 0.01, tickSize: 0.01, contractSize: 100 }),
        spec('EURUSD.m'),
      ]);
      await f.heartbeat(10_000);
      await f.drain();
    }
    await master.heartbeat(20_000);
    const g = await group(p, master, [
      [mirror, { sizing: { mode: 'mirror' } }],
      [double, { sizing: { mode: 'multiplier', multiplier: 2 }, symbolMap: { EURUSD: 'EURUSD.m' } }],
      [fixed, { sizing: { mode: 'fixed', lots: 0.1 } }],
    ]);

    const open = await master.signal({
      signalId: 's1',
      type: 'position.opened',
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      sl: 1.09,
      tp: 1.12,
      dealTicket: 9001,
    });
    expect(open.copies).toHaveLength(3);
    expect(open.skipped).toEqual([]);
    p.clock.advance(1000);
    await master.signal({
      type: 'position.opened',
      masterPositionId: '502',
      symbol: 'XAUUSD',
      side: 'sell',
      volume: 0.5,
      price: 2400.5,
      dealTicket: 9002,
    });
    // A repeated deal (same dealTicket) creates nothing new and answers the same.
    const repeat = await master.signal({
      signalId: 's1-retry',
      type: 'position.opened',
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      dealTicket: 9001,
    });
    expect(repeat).toEqual(open);
    for (const f of [mirror, double, fixed]) await f.drain();

    p.clock.advance(1000);
    await master.signal({
      type: 'position.partially_closed',
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.4,
      remainingVolume: 0.6,
      price: 1.105,
      dealTicket: 9003,
    });
    p.clock.advance(1000);
    await master.signal({
      type: 'position.modified',
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.6,
      price: 1.105,
      sl: 1.1,
      tp: 1.13,
    });
    for (const f of [mirror, double, fixed]) await f.drain();

    expect(book(mirror)).toEqual([
      { symbol: 'EURUSD', side: 'buy', volume: 0.6, sl: 1.1, tp: 1.13, comment: positionTag(g, '501') },
      { symbol: 'XAUUSD', side: 'sell', volume: 0.5, sl: null, tp: null, comment: positionTag(g, '502') },
    ]);
    expect(book(double)).toEqual([
      { symbol: 'EURUSD.m', side: 'buy', volume: 1.2, sl: 1.1, tp: 1.13, comment: positionTag(g, '501') },
      { symbol: 'XAUUSD', side: 'sell', volume: 1, sl: null, tp: null, comment: positionTag(g, '502') },
    ]);
    expect(book(fixed)).toEqual([
      { symbol: 'EURUSD', side: 'buy', volume: 0.06, sl: 1.1, tp: 1.13, comment: positionTag(g, '501') },
      { symbol: 'XAUUSD', side: 'sell', volume: 0.1, sl: null, tp: null, comment: positionTag(g, '502') },
    ]);

    p.clock.advance(1000);
    await master.signal({
      type: 'position.closed',
      masterPositionId: '501',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.6,
      price: 1.11,
      dealTicket: 9004,
    });
    p.clock.advance(1000);
    await master.signal({
      type: 'position.closed',
      masterPositionId: '502',
      symbol: 'XAUUSD',
      side: 'sell',
      volume: 0.5,
      price: 2399,
      dealTicket: 9005,
    });
    for (const f of [mirror, double, fixed]) await f.drain();
    for (const f of [mirror, double, fixed]) expect(book(f)).toEqual([]);

    // The follower's outbox saw exactly this sequence, and every copy order ended filled.
    expect(
      mirror.received
        .filter((e) => e.type.startsWith('trade.'))
        .map((e) => [e.type, e.payload.masterPositionId]),
    ).toEqual([
      ['trade.started', '501'],
      ['trade.started', '502'],
      ['trade.partial_close', '501'],
      ['trade.modified', '501'],
      ['trade.closed', '501'],
      ['trade.closed', '502'],
    ]);
    const orders = await p.platform.database.db
      .selectFrom('copy_orders')
      .selectAll()
      .where('follower_account_id', '=', 'F-double')
      .orderBy('written_at')
      .orderBy('order_id')
      .execute();
    expect(orders.map((o) => [o.kind, o.status, o.volume])).toEqual([
      ['open', 'filled', 2],
      ['open', 'filled', 1],
      ['partial_close', 'filled', 0.8],
      ['modify', 'filled', null],
      ['close', 'filled', 1.2],
      ['close', 'filled', 1],
    ]);
    const first = orders[0]!;
    expect(first.ticket).not.toBeNull();
    expect(
      [
        first.signal_received_at,
        first.written_at,
        first.delivered_at,
        first.acknowledged_at,
        first.executed_at,
        first.reported_at,
      ].every((t) => typeof t === 'number'),
    ).toBe(true);
    const links = await p.platform.database.db
      .selectFrom('position_links')
      .selectAll()
      .where('follower_account_id', '=', 'F-double')
      .execute();
    expect(links.map((l) => l.status).sort()).toEqual(['closed', 'closed']);

    const metrics = (await p.platform.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('kopitra_signals_total{type="position.opened"} 2');
    expect(metrics).toContain('kopitra_copy_orders_total{kind="position.closed",status="queued"} 6');
    expect(metrics).toMatch(
      /kopitra_http_request_duration_seconds_count\{method="POST",route="\/trade-agent\/v1\/signals",status="202"\} 7/,
    );
  });
});

describe.each(dialects)('netting reversal deals on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('copies one reversal deal reported as a close and an open, and still refuses a true repeat', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'NM').connect();
    const f = await new SimFollower(p.platform, 'NF').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    const g = await group(p, master, [[f, {}]]);
    await master.signal({
      type: 'position.opened',
      masterPositionId: '999',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      dealTicket: 7776,
    });
    await f.drain();
    p.clock.advance(1000);
    const close = await master.signal({
      type: 'position.closed',
      masterPositionId: '999',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      price: 1.1,
      dealTicket: 7777,
    });
    await f.drain();
    p.clock.advance(1000);
    const open = await master.signal({
      type: 'position.opened',
      masterPositionId: '1000',
      symbol: 'EURUSD',
      side: 'sell',
      volume: 0.5,
      price: 1.1,
      dealTicket: 7777,
    });
    expect(open.signalId).not.toBe(close.signalId);
    expect(open.copies).toHaveLength(1);
    expect(
      await master.signal({
        type: 'position.opened',
        masterPositionId: '1000',
        symbol: 'EURUSD',
        side: 'sell',
        volume: 0.5,
        price: 1.1,
        dealTicket: 7777,
      }),
    ).toEqual(open);
    await f.drain();
    expect(book(f)).toEqual([
      { symbol: 'EURUSD', side: 'sell', volume: 0.5, sl: null, tp: null, comment: positionTag(g, '1000') },
    ]);
  });
});

describe.each(dialects)('risk limits on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('halts opens on a breach, keeps copying exits, and close_all closes every copied position', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'RM').connect();
    const halt = await new SimFollower(p.platform, 'R-halt').connect();
    const closeAll = await new SimFollower(p.platform, 'R-close').connect();
    for (const f of [halt, closeAll]) {
      await f.catalog([spec('EURUSD')]);
      await f.heartbeat(10_000);
      await f.drain();
    }
    await group(p, master, [
      [
        halt,
        { riskLimits: [{ period: 'day', metric: 'equity_drawdown', maxPercent: 5, action: 'halt_opens' }] },
      ],
      [
        closeAll,
        {
          riskLimits: [
            { period: 'lifetime', metric: 'equity_drawdown', maxAmount: 300, action: 'close_all' },
          ],
        },
      ],
    ]);
    await master.signal({
      type: 'position.opened',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      price: 1.1,
    });
    for (const f of [halt, closeAll]) await f.drain();

    p.clock.advance(20_000);
    // Equity falls 6 % (600): both limits breach.
    for (const f of [halt, closeAll]) await f.heartbeat(10_000, 9_400);
    const stopOuts = await p.platform.database.db
      .selectFrom('stop_outs')
      .selectAll()
      .orderBy('follower_account_id')
      .execute();
    expect(stopOuts.map((s) => [s.follower_account_id, s.action])).toEqual([
      ['R-close', 'close_all'],
      ['R-halt', 'halt_opens'],
    ]);
    await closeAll.drain();
    expect(closeAll.book.size).toBe(0);
    expect(closeAll.received.some((e) => e.type === 'error.alert')).toBe(true);

    const second = await master.signal({
      type: 'position.opened',
      masterPositionId: '2',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
    });
    expect(second.skipped.map((s: any) => [s.followerAccountId, s.reason]).sort()).toEqual([
      ['R-close', 'risk_limit_halted'],
      ['R-halt', 'risk_limit_halted'],
    ]);
    // Exits are never blocked.
    const close = await master.signal({
      type: 'position.closed',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      price: 1.09,
    });
    expect(close.copies.map((c: any) => c.followerAccountId)).toEqual(['R-halt']);
    await halt.drain();
    expect(halt.book.size).toBe(0);
    // A second breach report does not record a second stop-out.
    await halt.heartbeat(10_000, 9_300);
    expect(await p.platform.database.db.selectFrom('stop_outs').selectAll().execute()).toHaveLength(2);
  });
});
