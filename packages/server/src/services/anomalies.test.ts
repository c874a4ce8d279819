import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { eventually, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

describe.each(dialects)('anomaly alerts on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('raises repeated_rejects and follower_silent once each', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'AM').connect();
    const rejecting = await new SimFollower(p.platform, 'A-rej', { rejectOpens: 5 }).connect();
    const silent = await new SimFollower(p.platform, 'A-silent').connect();
    for (const f of [rejecting, silent]) await f.catalog([spec('EURUSD')]);
    await rejecting.heartbeat(1000);
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'AM' }, p.clock.now());
    for (const f of [rejecting, silent])
      await putSubscription(
        db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: {} },
        p.clock.now(),
      );
    for (let i = 1; i <= 4; i++) {
      await master.signal({
        type: 'position.opened',
        masterPositionId: String(i),
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.1,
        price: 1.1,
      });
      await rejecting.drain();
    }
    const alerts = await eventually(async () => {
      const rows = await db.selectFrom('alerts').select(['code', 'account_id']).execute();
      return rows.some((r) => r.code === 'repeated_rejects') && rows.some((r) => r.code === 'follower_silent')
        ? rows
        : undefined;
    });
    expect(alerts.filter((a) => a.code === 'repeated_rejects')).toEqual([
      { code: 'repeated_rejects', account_id: 'A-rej' },
    ]);
    expect(alerts.filter((a) => a.code === 'follower_silent')).toEqual([
      { code: 'follower_silent', account_id: 'A-silent' },
    ]);
  });
});
