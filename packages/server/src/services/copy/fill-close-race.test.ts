/**
 * A follower's copy of a master order fills (its own fill, told by an execution notice) while
 * the master's close of the position that order became is being fanned out. The close finds
 * no position link for the follower yet (its copy was still a pending order) and skips it; the
 * fill must therefore see the close, or the follower keeps an open copy of a closed position
 * that nothing ever closes (the soak's "holds a copy of closed master position" on
 * PostgreSQL). Only PostgreSQL runs the two at once: SQLite has one writer.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, lockMaster, putSubscription } from '../../store/copy.js';
import { startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const MASTER = 'M-fill-race';

describe('a follower’s fill told while the master’s close is fanned out on postgres', () => {
  let tp: TestPlatform | null;
  beforeEach(async () => {
    tp = await startTestPlatform('postgres');
  });
  afterEach(async () => {
    await tp?.close();
  });

  it('waits for the close and closes the copy it opened', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const master = await new SimMaster(p.platform, MASTER).connect();
    const f = await new SimFollower(p.platform, 'F1').connect();
    await f.catalog([spec('EURUSD')]);
    await f.drain();
    const g = await insertGroup(db, { name: 'g', masterAccountId: MASTER }, p.clock.now());
    await putSubscription(db, { groupId: g.group_id, followerAccountId: 'F1', settings: {} }, p.clock.now());
    const order = {
      masterOrderId: '4001',
      symbol: 'EURUSD',
      side: 'buy',
      orderType: 'limit',
      volume: 0.5,
      price: 1.095,
      expiresAt: new Date(p.clock.now() + 3_600_000).toISOString(),
    };
    await master.signal({ type: 'order.placed', ...order });
    await f.drain();
    await master.signal({ type: 'order.filled', ...order, masterPositionId: '4001' });
    await f.drain();
    expect(f.orders.size).toBe(1);

    // The master's close, in flight: its signal lock held and its position gone, not yet committed.
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    let inFlight!: () => void;
    const started = new Promise<void>((resolve) => (inFlight = resolve));
    const close = db.transaction().execute(async (trx) => {
      await lockMaster(trx, MASTER);
      await trx
        .deleteFrom('master_positions')
        .where('master_account_id', '=', MASTER)
        .where('master_position_id', '=', '4001')
        .execute();
      inFlight();
      await committed;
    });
    await started;
    let told = false;
    const fill = f.fillOrder('4001').finally(() => (told = true));
    // The fill either finishes or waits for the master's signal lock; then the close commits.
    const waiting = async () =>
      (
        await sql<{ n: number }>`select count(*)::int as n from pg_locks
          where locktype = 'advisory' and not granted
          and ((classid::bigint << 32) | objid::bigint) = hashtextextended(${`kopitra:signals:${MASTER}`}, 0)`.execute(
          db,
        )
      ).rows[0]!.n > 0;
    while (!told && !(await waiting())) await new Promise((resolve) => setImmediate(resolve));
    commit();
    await close;
    await fill;

    const link = await db
      .selectFrom('position_links')
      .selectAll()
      .where('master_position_id', '=', '4001')
      .executeTakeFirstOrThrow();
    expect(link.status).toBe('closing');
    await f.drain();
    expect(f.book.size).toBe(0);
    expect((await db.selectFrom('position_links').select('status').execute()).map((l) => l.status)).toEqual([
      'closed',
    ]);
  });
});
