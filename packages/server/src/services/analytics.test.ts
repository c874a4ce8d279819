import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, insertOrders, type CopyOrderRow } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { buckets } from './analytics.js';

const HOUR = 3_600_000;

describe('analytics buckets', () => {
  it('ends with the current bucket: hourly up to 48 hours, daily beyond', () => {
    const now = Date.UTC(2026, 0, 10, 15, 20);
    const day = buckets(now, 24);
    expect(day.bucketMs).toBe(HOUR);
    expect(day.starts).toHaveLength(24);
    expect(day.starts.at(-1)).toBe(Date.UTC(2026, 0, 10, 15));
    expect(day.starts[0]).toBe(Date.UTC(2026, 0, 9, 16));
    const week = buckets(now, 168);
    expect(week.bucketMs).toBe(24 * HOUR);
    expect(week.starts).toHaveLength(7);
    expect(week.starts.at(-1)).toBe(Date.UTC(2026, 0, 10));
    expect(buckets(now, 1).starts).toEqual([Date.UTC(2026, 0, 10, 15)]);
  });
});

describe.each(dialects)('account and group analytics on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('reports latency per hop, slippage and PnL over time per account and per group', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const token = (
      await p.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
    ).json().token as string;
    const get = (url: string) =>
      p.platform.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    for (const accountId of ['AM', 'AF1', 'AF2'])
      await p.platform.app.inject({
        method: 'POST',
        url: '/api/admin/accounts',
        headers: { authorization: `Bearer ${token}` },
        payload: { accountId, platform: 'MT5' },
      });
    const now = p.clock.now();
    const group = await insertGroup(db, { name: 'A', masterAccountId: 'AM' }, now);
    const thisHour = now - (now % HOUR);
    let n = 0;
    const order = (
      follower: string,
      at: number,
      o: Partial<CopyOrderRow> & { hops?: [number, number, number] },
    ): CopyOrderRow => {
      const [toDelivery, toAck, toExecution] = o.hops ?? [10, 20, 30];
      const { hops: _hops, ...rest } = o;
      return {
        order_id: `ord_a${++n}`,
        signal_id: null,
        master_signal_id: null,
        master_deal_ticket: null,
        group_id: group.group_id,
        follower_account_id: follower,
        master_account_id: 'AM',
        master_position_id: String(n),
        kind: 'open',
        origin: 'signal',
        status: 'filled',
        reason: null,
        detail: null,
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        sl: null,
        tp: null,
        master_price: 1.1,
        ticket: String(1000 + n),
        fill_price: 1.1,
        filled_volume: 0.1,
        slippage_points: 0,
        slippage_amount: 0,
        profit: null,
        error_code: null,
        message: null,
        outbox_event_id: null,
        master_deal_at: at - 5,
        signal_received_at: at,
        written_at: at,
        delivered_at: at + toDelivery,
        acknowledged_at: at + toDelivery + toAck,
        executed_at: at + toDelivery + toAck + toExecution,
        reported_at: at + toDelivery + toAck + toExecution,
        expires_at: null,
        updated_at: at,
        trace_context: null,
        ...rest,
      };
    };
    await insertOrders(db, [
      // Two hours ago: two fills on AF1 with different hops, slippage and profit.
      order('AF1', thisHour - 2 * HOUR + 60_000, { hops: [10, 20, 30], slippage_points: 2, profit: 5 }),
      order('AF1', thisHour - 2 * HOUR + 120_000, { hops: [30, 40, 50], slippage_points: 4, profit: -1 }),
      // This hour: a fill on AF1 and a rejection on AF2.
      order('AF1', thisHour + 1_000, { hops: [100, 200, 300], slippage_points: 1, profit: 10 }),
      order('AF2', thisHour + 2_000, {
        status: 'rejected',
        acknowledged_at: null,
        executed_at: null,
        reported_at: null,
        slippage_points: null,
      }),
      // Older than the window: not counted.
      order('AF1', thisHour - 30 * HOUR, { profit: 1000 }),
    ]);

    const account = await get('/api/admin/analytics/accounts/AF1');
    expect(account.statusCode).toBe(200);
    const a = account.json();
    expect(a).toMatchObject({
      windowHours: 24,
      bucketMinutes: 60,
      copyOrders: 3,
      copiedTrades: 3,
      profit: 14,
    });
    expect(a.latencyMs.signalToDelivered).toMatchObject({ count: 3, p50: 30 });
    expect(a.latencyMs.deliveredToAcknowledged).toMatchObject({ count: 3, p50: 40 });
    expect(a.latencyMs.acknowledgedToExecuted).toMatchObject({ count: 3, p50: 50 });
    expect(a.series).toHaveLength(24);
    expect(a.series.at(-1).at).toBe(new Date(thisHour).toISOString());
    const twoAgo = a.series.at(-3);
    expect(twoAgo).toMatchObject({
      copied: 2,
      failed: 0,
      slippagePoints: 3,
      profit: 4,
      cumulativeProfit: 4,
      latencyMs: {
        signalToDelivered: 30,
        deliveredToAcknowledged: 40,
        acknowledgedToExecuted: 50,
        signalToExecuted: 120,
      },
    });
    // Empty buckets are points with no latency, not gaps in the axis.
    expect(a.series.at(-2)).toMatchObject({
      copied: 0,
      profit: 0,
      cumulativeProfit: 4,
      slippagePoints: null,
      latencyMs: { signalToDelivered: null },
    });
    expect(a.series.at(-1)).toMatchObject({ copied: 1, profit: 10, cumulativeProfit: 14, slippagePoints: 1 });

    const g = (await get(`/api/admin/analytics/groups/${group.group_id}`)).json();
    expect(g).toMatchObject({ copyOrders: 4, copiedTrades: 3, successRate: 0.75 });
    expect(g.series.at(-1)).toMatchObject({ copied: 1, failed: 1 });

    // A week: daily buckets, and the order 30 hours old counts.
    const week = (await get('/api/admin/analytics/accounts/AF1?hours=168')).json();
    expect(week).toMatchObject({ windowHours: 168, bucketMinutes: 1440, profit: 1014 });
    expect(week.series).toHaveLength(7);
    expect(week.series.at(-1).cumulativeProfit).toBe(1014);

    expect((await get('/api/admin/analytics/accounts/NOPE')).json().error).toBe('account_not_found');
    expect((await get('/api/admin/analytics/groups/grp_nope')).json().error).toBe('group_not_found');
    const bad = await get('/api/admin/analytics/accounts/AF1?hours=0');
    expect([bad.statusCode, bad.json().error]).toEqual([400, 'invalid_request']);
  });
});
