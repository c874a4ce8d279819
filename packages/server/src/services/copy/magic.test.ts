/**
 * MT5 magic numbers are 64-bit unsigned: they travel as decimal strings and must reach the
 * store and the subscription's magic filter without losing a digit.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { dialects } from '../../testing/databases.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const BIG = '18446744073709551557';
const NEIGHBOUR = '18446744073709551556'; // the same double as BIG: only a string tells them apart

describe.each(dialects)('64-bit magic numbers on %s', (dialect) => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('filters on the exact magic number and stores it unchanged', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, 'MG').connect();
    const f = await new SimFollower(p.platform, 'FG').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    const g = await insertGroup(db, { name: 'g', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: f.accountId, settings: { magicFilter: { include: [BIG] } } },
      p.clock.now(),
    );
    const base = { type: 'position.opened', symbol: 'EURUSD', side: 'buy', volume: 1, price: 1.1 };
    const copied = await master.signal({ ...base, masterPositionId: '1', magic: BIG });
    expect(copied.copies).toHaveLength(1);
    const skipped = await master.signal({ ...base, masterPositionId: '2', magic: NEIGHBOUR });
    expect(skipped.copies).toHaveLength(0);
    expect(skipped.skipped.map((s: { reason: string }) => s.reason)).toEqual(['magic_excluded']);
    const legacy = await master.signal({ ...base, masterPositionId: '3', magic: 7191 });
    expect(legacy.skipped.map((s: { reason: string }) => s.reason)).toEqual(['magic_excluded']);

    const rows = await sql<{
      magic: string | null;
    }>`select magic from signals order by master_position_id`.execute(db);
    expect(rows.rows.map((r) => r.magic)).toEqual([BIG, NEIGHBOUR, '7191']);
  });
});
