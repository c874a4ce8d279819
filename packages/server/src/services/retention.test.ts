import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery } from '@kopitra/contracts';
import { ManualClock } from '../clock.js';
import { migrate, openDatabase, type Database } from '../store/database.js';
import { claimDueJobs, completeJob, insertJob } from '../store/jobs.js';
import path from 'node:path';
import { FileReportStore } from '../reports/file-store.js';
import { dialects, dropTarget, freshTarget, tempDir } from '../testing/databases.js';
import { applyRetention } from './retention.js';

const DAY = 86_400_000;

describe.each(dialects)('retention on %s', (dialect) => {
  let database: Database | undefined;
  let cleanup = async () => undefined as void;
  afterEach(async () => {
    await database?.close();
    await cleanup();
    database = undefined;
  });

  it('deletes rows past their window and keeps the newest event of each type', async (t) => {
    const target = await freshTarget(dialect);
    if (!target) return t.skip();
    cleanup = () => dropTarget(target);
    database = await openDatabase(target);
    await migrate(database);
    const db = database.db;
    const clock = new ManualClock();
    const now = clock.now();
    const inbox = (id: string, account: string, type: string, ageDays: number) => ({
      inbox_event_id: id,
      account_id: account,
      session_id: 's',
      event_type: type,
      occurred_at: now - ageDays * DAY,
      received_at: now - ageDays * DAY,
      payload: '{}',
    });
    await db
      .insertInto('inbox_events')
      .values([
        inbox('old-hb', 'A', 'ea.heartbeat', 40),
        inbox('new-hb', 'A', 'ea.heartbeat', 1),
        inbox('old-snap-superseded', 'A', 'ea.snapshot', 50),
        inbox('old-snap-latest', 'A', 'ea.snapshot', 45),
        inbox('only-b', 'B', 'ea.heartbeat', 100),
      ])
      .execute();
    const delivery = (id: string, status: Delivery['status'], ageDays: number) => ({
      delivery_id: id,
      webhook_id: 'w',
      message_id: id,
      event_type: 'signal.accepted',
      payload: '{}',
      status,
      attempts: 1,
      next_attempt_at: now,
      last_status: null,
      last_error: null,
      created_at: now - ageDays * DAY,
      delivered_at: null,
    });
    await db
      .insertInto('webhook_deliveries')
      .values([
        delivery('d-old', 'delivered', 31),
        delivery('d-failed', 'failed', 31),
        delivery('d-pending', 'pending', 31),
        delivery('d-new', 'delivered', 1),
      ])
      .execute();
    await insertJob(db, { kind: 'k', uniqueKey: 'old' }, now - 8 * DAY);
    await insertJob(db, { kind: 'k', uniqueKey: 'queued' }, now);
    const [old] = await db
      .transaction()
      .execute((trx) =>
        claimDueJobs(trx, dialect, { kinds: ['k'], workerId: 'w', limit: 1, leaseMs: 1000 }, now - 8 * DAY),
      );
    await completeJob(db, { jobId: old!.jobId, lockedBy: 'w', attempts: 1 }, now - 8 * DAY);

    const reports = new FileReportStore(path.join(tempDir(), 'reports'), 's'.repeat(32));
    const runWithReport = async (runId: string, ageDays: number) => {
      const stored = await reports.put(`${runId}-audit.json`, '[]', 'application/json');
      await db
        .insertInto('task_runs')
        .values({
          run_id: runId,
          task_id: 'export-audit',
          status: 'completed',
          progress: 1,
          params: '{}',
          result: null,
          error: null,
          correlation_id: runId,
          requested_by: 'ops',
          created_at: now - ageDays * DAY,
          started_at: now - ageDays * DAY,
          finished_at: now - ageDays * DAY,
          report_name: stored.name,
          report_size: stored.size,
          report_content_type: stored.contentType,
        })
        .execute();
    };
    await runWithReport('run_old', 31);
    await runWithReport('run_new', 29);
    const ticket = (hash: string, expiresAt: number) => ({
      ticket_hash: hash,
      user_id: 'usr',
      token_id: 'tok',
      expires_at: expiresAt,
      created_at: expiresAt - 30_000,
    });
    await db
      .insertInto('stream_tickets')
      .values([ticket('expired', now - 1), ticket('valid', now + 10_000)])
      .execute();

    const removed = await applyRetention(
      { db, clock, reports },
      { inboxDays: 30, webhookDeliveriesDays: 30, jobsDays: 7, reportsDays: 30 },
    );
    expect(removed).toEqual({ inboxEvents: 2, webhookDeliveries: 2, jobs: 1, reports: 1, streamTickets: 1 });
    expect(await db.selectFrom('stream_tickets').select('ticket_hash').execute()).toEqual([
      { ticket_hash: 'valid' },
    ]);
    expect(await reports.open('run_old-audit.json')).toBeNull();
    expect(await reports.open('run_new-audit.json')).not.toBeNull();
    expect(
      await db
        .selectFrom('task_runs')
        .select(['run_id', 'report_name', 'report_size'])
        .orderBy('run_id')
        .execute(),
    ).toEqual([
      { run_id: 'run_new', report_name: 'run_new-audit.json', report_size: 2 },
      { run_id: 'run_old', report_name: null, report_size: 2 },
    ]);
    const ids = (await db.selectFrom('inbox_events').select('inbox_event_id').execute())
      .map((r) => r.inbox_event_id)
      .sort();
    expect(ids).toEqual(['new-hb', 'old-snap-latest', 'only-b']);
    const deliveries = (await db.selectFrom('webhook_deliveries').select('delivery_id').execute())
      .map((r) => r.delivery_id)
      .sort();
    expect(deliveries).toEqual(['d-new', 'd-pending']);
    expect(await db.selectFrom('jobs').select('unique_key').execute()).toEqual([{ unique_key: 'queued' }]);
  });
});
