/**
 * Fan-out beyond one transaction, on both dialects: the first batch with the signal, the rest
 * by the claimed fan-out job (the platform's own worker); stopped between two batches (as a
 * crash would) and resumed,
 * written again from a stale cursor, and with a later signal of the master accepted while an
 * earlier one is still being written. Every follower ends with exactly one copy order per
 * signal and gap-free sequences, the earlier signal's event first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertGroup, putSubscription } from '../../store/copy.js';
import { getFanout } from '../../store/fanouts.js';
import { getJobByKey } from '../../store/jobs.js';
import { dialects } from '../../testing/databases.js';
import { eventually, startTestPlatform, type TestPlatform } from '../../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../../testing/sim.js';

const BATCH = 4;
const FOLLOWERS = 10;

describe.each(dialects)('fan-out in batches on %s', (dialect) => {
  let tp: TestPlatform | null;
  /** Batch numbers at which the hook throws, once each: the job stops there. */
  let stopAt: Set<number>;
  const seen: Array<[string, number]> = [];
  beforeEach(async () => {
    stopAt = new Set();
    seen.length = 0;
    tp = await startTestPlatform(dialect, { KOPITRA_FANOUT_BATCH: String(BATCH) }, undefined, {
      afterFanoutBatch: (signalId, batch) => {
        seen.push([signalId, batch]);
        if (stopAt.delete(batch)) throw new Error(`stopped after batch ${batch}`);
      },
    });
  });
  afterEach(async () => {
    await tp?.close();
  });

  async function setUp(p: TestPlatform) {
    const master = await new SimMaster(p.platform, 'M').connect();
    await master.heartbeat(10_000);
    const followers: SimFollower[] = [];
    for (let i = 0; i < FOLLOWERS; i++) {
      const f = await new SimFollower(p.platform, `F${String(i).padStart(2, '0')}`).connect();
      await f.catalog([spec('EURUSD')]);
      await f.heartbeat(10_000);
      followers.push(f);
    }
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'g', masterAccountId: master.accountId }, p.clock.now());
    for (const f of followers)
      await putSubscription(
        db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: { sizing: { mode: 'mirror' } } },
        p.clock.now(),
      );
    return { master, followers };
  }

  const signalIdOf = async (p: TestPlatform, clientSignalId: string) =>
    (
      await p.platform.database.db
        .selectFrom('signals')
        .select('signal_id')
        .where('client_signal_id', '=', clientSignalId)
        .executeTakeFirstOrThrow()
    ).signal_id;

  /** Waits until the fan-out job stopped after batch 2 and is queued for its retry; its key. */
  async function stoppedAfterBatch2(p: TestPlatform, signalId: string): Promise<string> {
    const key = `copy.fanout:${signalId}`;
    await eventually(async () => {
      const job = await getJobByKey(p.platform.database.db, key);
      return job?.state === 'queued' && job.attempts === 1;
    });
    return key;
  }

  const open = (id: string, ticket: number) => ({
    signalId: id,
    type: 'position.opened',
    masterPositionId: id,
    symbol: 'EURUSD',
    side: 'buy',
    volume: 0.1,
    price: 1.1,
    dealTicket: ticket,
  });

  /** Each follower's copy orders by signal, and its outbox sequences. */
  async function books(p: TestPlatform, followers: SimFollower[]) {
    const db = p.platform.database.db;
    const out = [];
    for (const f of followers) {
      const orders = await db
        .selectFrom('copy_orders as o')
        .innerJoin('outbox_events as e', 'e.event_id', 'o.outbox_event_id')
        .select(['o.master_signal_id', 'o.status', 'e.sequence'])
        .where('o.follower_account_id', '=', f.accountId)
        .orderBy('e.sequence')
        .execute();
      const sequences = await db
        .selectFrom('outbox_events')
        .select('sequence')
        .where('account_id', '=', f.accountId)
        .orderBy('sequence')
        .execute();
      out.push({ orders, sequences: sequences.map((s) => Number(s.sequence)) });
    }
    return out;
  }

  function expectOnePerSignalInOrder(found: Awaited<ReturnType<typeof books>>, signals: string[]): void {
    for (const { orders, sequences } of found) {
      expect(orders.map((o) => o.master_signal_id)).toEqual(signals);
      // No sequence skipped or taken twice.
      expect(sequences).toEqual(sequences.map((_, i) => sequences[0]! + i));
    }
  }

  it('answers after the first batch, resumes after a stop between batches, and keeps a later signal behind', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, followers } = await setUp(p);

    stopAt.add(2);
    const first = await master.signal(open('s1', 1));
    expect(first.copies).toHaveLength(BATCH);
    expect(first.deferred).toBe(FOLLOWERS - BATCH);
    const signalId = await signalIdOf(p, 's1');

    // The job writes batch 2 and stops before batch 3, as a crash between the two would; it
    // waits out its back-off on the manual clock.
    const db = p.platform.database.db;
    const job = await stoppedAfterBatch2(p, signalId);
    expect(seen).toEqual([[signalId, 2]]);
    expect(await getFanout(db, signalId)).toMatchObject({ batches: 2, orders: 2 * BATCH });
    expect((await books(p, followers)).filter((b) => b.orders.length === 1)).toHaveLength(2 * BATCH);

    // A later signal of the master waits behind the unfinished fan-out: nothing is written now.
    const second = await master.signal(open('s2', 2));
    expect(second.copies).toEqual([]);
    expect(second.deferred).toBe(FOLLOWERS);

    // The second signal's job finishes the first fan-out, then writes its own.
    await eventually(async () => (await db.selectFrom('fanouts').selectAll().execute()).length === 0);
    expect(seen.slice(1)).toEqual([
      [signalId, 3],
      [expect.any(String), 1],
      [expect.any(String), 2],
      [expect.any(String), 3],
    ]);
    expectOnePerSignalInOrder(await books(p, followers), ['s1', 's2']);
    // The stopped job, due again after its back-off (5 s), finds nothing left.
    p.clock.advance(5_000);
    await eventually(async () => (await getJobByKey(db, job))?.state === 'done');
    expectOnePerSignalInOrder(await books(p, followers), ['s1', 's2']);

    // The followers copy both opens, in order.
    for (const f of followers) {
      await f.drain();
      expect(
        f.received
          .filter((e) => e.type.startsWith('trade.'))
          .map((e) => [e.type, e.payload['masterPositionId']]),
      ).toEqual([
        ['trade.started', 's1'],
        ['trade.started', 's2'],
      ]);
      expect(f.book.size).toBe(2);
    }
  });

  it('writes nothing twice when a batch is written again from a stale cursor', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { master, followers } = await setUp(p);
    stopAt.add(2);
    await master.signal(open('s1', 1));
    const db = p.platform.database.db;
    const signalId = await signalIdOf(p, 's1');
    const job = await stoppedAfterBatch2(p, signalId);
    // The recorded progress falls back to the start, as if batches 1 and 2 had not been recorded.
    await db
      .updateTable('fanouts')
      .set({ after_group_id: null, after_follower_id: null, batches: 0, orders: 0 })
      .execute();
    p.clock.advance(60_000);
    await eventually(async () => (await getJobByKey(db, job))?.state === 'done');
    expect(await db.selectFrom('fanouts').selectAll().execute()).toEqual([]);
    expectOnePerSignalInOrder(await books(p, followers), ['s1']);
    // Batches 1 and 2 were read again and found written; batch 3 wrote the last two.
    expect(seen.map(([, batch]) => batch)).toEqual([2, 1, 2, 3]);
  });

  it('writes a fan-out of one batch or less in the accepting transaction, with no job', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const { followers } = await setUp(p);
    const db = p.platform.database.db;
    const small = await new SimMaster(p.platform, 'M-small').connect();
    const g = await insertGroup(db, { name: 'small', masterAccountId: small.accountId }, p.clock.now());
    for (const f of followers.slice(0, 2))
      await putSubscription(
        db,
        { groupId: g.group_id, followerAccountId: f.accountId, settings: {} },
        p.clock.now(),
      );
    const res = await small.signal(open('small', 3));
    expect(res.copies).toHaveLength(2);
    expect(res.deferred).toBeUndefined();
    expect(await db.selectFrom('fanouts').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('jobs').select('kind').where('kind', '=', 'copy.fanout').execute()).toEqual(
      [],
    );
  });
});
