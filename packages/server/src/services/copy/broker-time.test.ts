/**
 * Risk-limit periods follow the broker's clock: a follower whose terminal reports its trade
 * server at UTC+3 starts its "day" at 21:00 UTC, one that reports nothing at 00:00 UTC.
 * Real storage on both dialects, heartbeats through the gateway.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const DAY_LIMIT = {
  riskLimits: [
    {
      period: 'day' as const,
      metric: 'equity_drawdown' as const,
      maxPercent: 5,
      action: 'halt_opens' as const,
    },
  ],
};
const UTC_PLUS_3 = 3 * 3600;

describe.each(dialects)('broker time on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it("starts a daily risk limit's day at the broker's midnight, and at UTC's when the terminal tells no offset", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    // 20:58 UTC is 23:58 at the broker: its new day begins at 21:00 UTC.
    p.clock.set(Date.parse('2026-03-02T20:58:00Z'));
    const master = await new SimMaster(p.platform, 'BT-M').connect();
    const broker = await new SimFollower(p.platform, 'BT-broker').connect();
    const utc = await new SimFollower(p.platform, 'BT-utc').connect();
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'bt', masterAccountId: master.accountId }, p.clock.now());
    for (const f of [broker, utc]) {
      await f.catalog([spec('EURUSD')]);
      await putSubscription(
        db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: DAY_LIMIT },
        p.clock.now(),
      );
    }
    const beat = async (equity: number) => {
      await broker.inbox([
        {
          eventType: 'ea.heartbeat',
          payload: { balance: 10_000, equity, margin: 0, openPositions: 0, serverUtcOffsetSec: UTC_PLUS_3 },
        },
      ]);
      await utc.heartbeat(10_000, equity);
    };
    // Equity 10,000 until 20:59:30 UTC, 9,600 (−4 %) until 21:00:30, then 9,450 (−5.5 % of
    // 10,000 but −1.6 % of the 9,600 the broker's day opened with). A heartbeat every 10 s.
    const end = Date.parse('2026-03-02T21:00:30Z');
    for (let at = p.clock.now(); at <= end; at += 10_000) {
      p.clock.set(at);
      const fromStart = at - Date.parse('2026-03-02T20:58:00Z');
      await beat(fromStart < 90_000 ? 10_000 : at < end ? 9_600 : 9_450);
    }

    const stopOuts = await db.selectFrom('stop_outs').select(['follower_account_id', 'period']).execute();
    expect(stopOuts).toEqual([{ follower_account_id: 'BT-utc', period: 'day' }]);
    const told = await db
      .selectFrom('account_telemetry')
      .select(['account_id', 'server_utc_offset_sec'])
      .where('account_id', 'in', ['BT-broker', 'BT-utc'])
      .orderBy('account_id')
      .execute();
    expect(told).toEqual([
      { account_id: 'BT-broker', server_utc_offset_sec: UTC_PLUS_3 },
      { account_id: 'BT-utc', server_utc_offset_sec: null },
    ]);

    // A heartbeat without the offset (an older EA) keeps the one last told.
    await broker.heartbeat(10_000, 9_450);
    const kept = await db
      .selectFrom('account_telemetry')
      .select('server_utc_offset_sec')
      .where('account_id', '=', 'BT-broker')
      .executeTakeFirstOrThrow();
    expect(kept.server_utc_offset_sec).toBe(UTC_PLUS_3);
  });

  it('refuses an offset that is not a whole number of minutes or beyond UTC±14 h, changing nothing', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const f = await new SimFollower(p.platform, 'BT-bad').connect();
    for (const serverUtcOffsetSec of [30, 15 * 3600, -15 * 3600, 1.5]) {
      const res = await p.platform.app.inject({
        method: 'POST',
        url: '/trade-agent/v1/sessions/current/inbox',
        headers: { ...f.headers(), 'idempotency-key': `bad-offset-${serverUtcOffsetSec}` },
        payload: {
          events: [
            {
              eventType: 'ea.heartbeat',
              payload: { balance: 1, equity: 1, margin: 0, openPositions: 0, serverUtcOffsetSec },
            },
          ],
        },
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toBe('invalid_request');
    }
    const rows = await p.platform.database.db
      .selectFrom('account_telemetry')
      .select('server_utc_offset_sec')
      .where('account_id', '=', 'BT-bad')
      .execute();
    expect(rows.every((r) => r.server_utc_offset_sec === null)).toBe(true);
  });
});
