/**
 * Wake-ups over NATS core subjects against a real nats-server: sent on commit only, to the
 * other replicas (this process wakes its own listeners directly), none for a rolled-back
 * transaction; and through two gateway replicas on PostgreSQL with the NATS bus, a follower
 * parked on one replica is woken by a signal accepted on the other.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { natsTarget } from '../bus/nats/target.js';
import { openDatabase, migrate, type Database } from '../store/database.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { inTransaction } from '../store/transaction.js';
import { NATS_URL, dropTarget, freshTarget, natsOrSkip } from '../testing/databases.js';
import { BASE, startReplica, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import type { DatabaseTarget } from '../store/database.js';
import type { Platform } from '../runtime.js';
import { accountChannel, waitFor } from './notifier.js';
import { NatsNotifier } from './nats-notifier.js';

const silent = pino({ level: 'silent' });
const namespace = () => `wake${randomBytes(4).toString('hex')}`;

/** Counts the notifications of `channel` on `n`. */
function counter(n: NatsNotifier, channel: string) {
  const c = { count: 0 };
  n.on(channel, () => c.count++);
  return c;
}

describe('NATS wake-ups', () => {
  let target: DatabaseTarget | null = null;
  let database: Database | undefined;
  const notifiers: NatsNotifier[] = [];
  afterEach(async () => {
    for (const n of notifiers.splice(0)) await n.close();
    await database?.close();
    await dropTarget(target);
  });

  it('wakes the other replica on commit, this one directly, and sends nothing for a rollback', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    target = await freshTarget('sqlite');
    database = await openDatabase(target!);
    await migrate(database);
    const nats = natsTarget(NATS_URL, namespace())!;
    const a = await NatsNotifier.connect(nats, silent);
    const b = await NatsNotifier.connect(nats, silent);
    notifiers.push(a, b);
    const [aX, aY, bX, bY] = [counter(a, 'x'), counter(a, 'y'), counter(b, 'x'), counter(b, 'y')];
    const bothOnB = Promise.all([waitFor(b, 'x', 10_000).promise, waitFor(b, 'y', 10_000).promise]);

    await inTransaction(database.db, async ({ trx }) => {
      // `y` was handed to this process's waiters already: only other replicas wake for it.
      await a.notifyMany(trx, ['x', 'y'], new Set(['y']));
      expect([aX.count, bX.count]).toEqual([0, 0]);
    });
    expect(await bothOnB).toEqual([true, true]);
    expect([aX.count, aY.count, bX.count, bY.count]).toEqual([1, 0, 1, 1]);

    const rolledBack = counter(b, 'rolled-back');
    await expect(
      inTransaction(database.db, async ({ trx }) => {
        await a.notify(trx, 'rolled-back');
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    // Messages of one connection arrive in order: once the marker is in, the rolled-back
    // wake-up would have been too.
    const marker = waitFor(b, 'marker', 10_000).promise;
    await a.notify(database.db, 'marker');
    expect(await marker).toBe(true);
    expect(rolledBack.count).toBe(0);
    await a.ping();
  });
});

describe('cross-replica wake-ups over NATS on PostgreSQL', () => {
  let tp: TestPlatform | null = null;
  let replica: Platform | undefined;
  afterEach(async () => {
    await replica?.stop();
    await tp?.close();
  });

  it('wakes a follower parked on replica B when replica A accepts the signal', async (t) => {
    if (!(await natsOrSkip())) return t.skip();
    tp = await startTestPlatform('postgres', {
      KOPITRA_BUS_URL: NATS_URL,
      KOPITRA_BUS_NAMESPACE: namespace(),
    });
    if (!tp) return t.skip();
    const p = tp;
    replica = (await startReplica(p, { gateway: true, management: false })).platform;
    expect(p.platform.notifier).toBeInstanceOf(NatsNotifier);
    expect(replica.notifier).toBeInstanceOf(NatsNotifier);

    const master = await new SimMaster(p.platform, 'XM').connect();
    await master.heartbeat(10_000);
    const follower = await new SimFollower(p.platform, 'XF').connect();
    await follower.catalog([spec('EURUSD')]);
    await follower.heartbeat(10_000);
    await follower.drain();
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'x', masterAccountId: master.accountId }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: follower.accountId, settings: {} },
      p.clock.now(),
    );

    // The follower's long poll waits on replica B; the wake-up has to come from A over NATS.
    const woken = waitFor(replica.notifier, accountChannel(follower.accountId), 30_000).promise;
    const parked = replica.app.inject({
      method: 'GET',
      url: `${BASE}/sessions/current/outbox?cursor=${follower.cursor}&wait=20`,
      headers: follower.headers(false),
    });
    await master.signal({
      signalId: 'x1',
      type: 'position.opened',
      masterPositionId: 'x1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
    });
    expect(await woken).toBe(true);
    const res = await parked;
    expect(res.statusCode).toBe(200);
    expect(res.json().events.map((e: { type: string }) => e.type)).toEqual(['trade.started']);
  });
});
