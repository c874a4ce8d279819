import { isoTime, topics } from '@kopitra/contracts';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus/bus.js';
import { insertAccount } from '../store/accounts.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { claimDueJobs, completeJob } from '../store/jobs.js';
import { inTransaction } from '../store/transaction.js';
import { dialects } from '../testing/databases.js';
import { eventually, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import { ANOMALY_CHECK_JOB, anomalyCheckJob } from './anomalies.js';
import { JobWorker } from './job-worker.js';
import { tradeAgentEventHandler } from './trade-agent-events.js';

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

describe.each(dialects)('anomaly checks as claimed work on %s', (dialect) => {
  const LEASE_MS = 30_000;
  let tp: TestPlatform | null;
  const workers: JobWorker[] = [];
  beforeEach(async () => {
    // No consumers: this test delivers bus messages and runs the job workers itself.
    tp = await startTestPlatform(dialect, {}, undefined, { consumers: false });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await tp?.close();
  });

  /** A master trading to two followers that never sent a heartbeat: every copied signal finds both silent. */
  async function setup(p: TestPlatform) {
    const db = p.platform.database.db;
    const now = p.clock.now();
    for (const accountId of ['CM', 'CF1', 'CF2'])
      await insertAccount(db, { accountId, platform: 'MT5', registeredBy: 'test' }, now);
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'CM' }, now);
    for (const f of ['CF1', 'CF2'])
      await putSubscription(db, { groupId: g.group_id, followerAccountId: f, settings: {} }, now);
    const handler = tradeAgentEventHandler(p.platform.management);
    const message = (messageId: string, body: Record<string, unknown>): BusMessage => ({
      messageId,
      topic: topics.tradeAgentEvents,
      publishedAt: now,
      body: { occurredAt: isoTime(now), ...body },
    });
    return {
      db,
      signal: (messageId: string) =>
        message(messageId, {
          type: 'signal.accepted',
          signalId: `sig_${messageId}`,
          masterAccountId: 'CM',
          signalType: 'position.opened',
          masterPositionId: messageId,
          symbol: 'EURUSD',
          copies: 2,
          skipped: 0,
          receivedAt: isoTime(now),
        }),
      delivered: (messageId: string) =>
        message(messageId, {
          type: 'copy_order.updated',
          orderId: `ord_${messageId}`,
          groupId: g.group_id,
          followerAccountId: 'CF1',
          masterAccountId: 'CM',
          masterPositionId: messageId,
          kind: 'open',
          status: 'delivered',
          reason: null,
          ticket: null,
        }),
      /** Delivers a message as the `management-audit` subscription does: in the transaction that moves its cursor. */
      consume: (m: BusMessage) =>
        inTransaction(db, ({ trx }) => handler(m, { db: trx, afterCommit: () => undefined })),
      worker: (workerId: string) => {
        const w = new JobWorker(
          {
            db,
            dialect,
            notifier: p.platform.management.notifier,
            clock: p.clock,
            logger: pino({ level: 'silent' }),
            bus: p.platform.bus,
            workerId,
            leaseMs: LEASE_MS,
          },
          [anomalyCheckJob(p.platform.management)],
        );
        workers.push(w);
        return w;
      },
      units: () =>
        db
          .selectFrom('jobs')
          .select(['state', 'attempts', 'locked_by'])
          .where('kind', '=', ANOMALY_CHECK_JOB)
          .execute(),
      silentAlerts: async () =>
        (
          await db
            .selectFrom('alerts')
            .select('account_id')
            .where('code', '=', 'follower_silent')
            .orderBy('account_id')
            .execute()
        ).map((a) => a.account_id),
      raisedMessages: async () =>
        (
          await db
            .selectFrom('bus_messages')
            .select('body')
            .where('topic', '=', topics.tradeAgentEvents)
            .execute()
        ).filter((m) => (JSON.parse(m.body) as { type: string }).type === 'alert.raised').length,
    };
  }

  it('enqueues one unit per message that can raise an alert and runs each once across competing workers', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const env = await setup(p);
    await env.consume(env.signal('m1'));
    // Delivered again (at-least-once from a broker): the unit exists, nothing is added.
    await env.consume(env.signal('m1'));
    await env.consume(env.signal('m2'));
    // A copy on its way cannot raise anything: no unit.
    await env.consume(env.delivered('m3'));
    expect(await env.units()).toHaveLength(2);
    expect(await env.silentAlerts()).toEqual([]);

    const a = env.worker('a');
    const b = env.worker('b');
    let claimed = 0;
    for (;;) {
      const [x, y] = await Promise.all([a.runOnce(), b.runOnce()]);
      if (x + y === 0) break;
      claimed += x + y;
    }
    expect(claimed).toBe(2);
    const units = await env.units();
    expect(units.map((u) => [u.state, u.attempts])).toEqual([
      ['done', 1],
      ['done', 1],
    ]);
    // Both checks found both followers silent; each alert is raised and published once.
    expect(await env.silentAlerts()).toEqual(['CF1', 'CF2']);
    expect(await env.raisedMessages()).toBe(2);
  });

  it('takes over a check whose claimer died, and raises its alerts once', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const env = await setup(p);
    await env.consume(env.signal('m1'));
    // A claimer that dies right after claiming: the unit stays running under its lease.
    const [dead] = await inTransaction(env.db, ({ trx }) =>
      claimDueJobs(
        trx,
        dialect,
        { kinds: [ANOMALY_CHECK_JOB], workerId: 'dead', limit: 1, leaseMs: LEASE_MS },
        p.clock.now(),
      ),
    );
    expect(dead).toBeDefined();
    const alive = env.worker('alive');
    expect(await alive.runOnce()).toBe(0);
    p.clock.advance(LEASE_MS);
    expect(await alive.runOnce()).toBe(1);
    expect(await env.units()).toEqual([{ state: 'done', attempts: 2, locked_by: 'alive' }]);
    expect(await env.silentAlerts()).toEqual(['CF1', 'CF2']);
    expect(await env.raisedMessages()).toBe(2);
    // The dead claimer's late completion changes nothing.
    expect(
      await completeJob(env.db, { jobId: dead!.jobId, lockedBy: 'dead', attempts: 1 }, p.clock.now()),
    ).toBe(false);
  });
});
