/**
 * Retention: rows that only grow are deleted once older than their window (configuration
 * `KOPITRA_RETENTION_*`). Runs as the claimed periodic job `retention.sweep`, in batches so no
 * transaction holds locks for long.
 *
 * - inbox events (telemetry, acknowledgements): older than `inboxDays`, except the newest
 *   event of each type per account, which reconciliation and the console still read;
 * - webhook deliveries that are settled (delivered, failed, dropped): older than `webhookDeliveriesDays`;
 * - jobs that are done: older than `jobsDays` (dead jobs stay for operators to inspect);
 * - task reports (audit exports) of runs finished more than `reportsDays` ago: the file or
 *   blob is deleted and the run no longer offers a download;
 * - live-stream tickets that expired unused (a used one is deleted when it is taken).
 */
import type { Clock } from '../clock.js';
import { deleteFinishedJobs } from '../store/jobs.js';
import type { Database } from '../store/database.js';
import type { ReportStore } from '../reports/report-store.js';
import { deleteExpiredStreamTickets } from '../store/stream-tickets.js';
import {
  clearRunReport,
  deleteDeliveriesBatch,
  deleteInboxBatch,
  expiredReportsBatch,
} from '../store/retention.js';

export const RETENTION_JOB = 'retention.sweep';
const BATCH = 1000;
const DAY_MS = 86_400_000;

export interface RetentionWindows {
  readonly inboxDays: number;
  readonly webhookDeliveriesDays: number;
  readonly jobsDays: number;
  readonly reportsDays: number;
}

export interface RetentionSummary {
  inboxEvents: number;
  webhookDeliveries: number;
  jobs: number;
  reports: number;
  streamTickets: number;
}

async function drain(batch: () => Promise<number>, signal?: AbortSignal): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await batch();
    total += n;
    if (n < BATCH || signal?.aborted) return total;
  }
}

/** One retention pass over every table with a window. */
export async function applyRetention(
  deps: { db: Database['db']; clock: Clock; reports: ReportStore },
  windows: RetentionWindows,
  signal?: AbortSignal,
): Promise<RetentionSummary> {
  const now = deps.clock.now();
  return {
    inboxEvents: await drain(
      () => deleteInboxBatch(deps.db, now - windows.inboxDays * DAY_MS, BATCH),
      signal,
    ),
    webhookDeliveries: await drain(
      () => deleteDeliveriesBatch(deps.db, now - windows.webhookDeliveriesDays * DAY_MS, BATCH),
      signal,
    ),
    jobs: await drain(
      () => deleteFinishedJobs(deps.db, 'done', now - windows.jobsDays * DAY_MS, BATCH),
      signal,
    ),
    reports: await drain(async () => {
      const expired = await expiredReportsBatch(deps.db, now - windows.reportsDays * DAY_MS, BATCH);
      // The file goes first: a pass that stops between the two leaves a run that retries, not a stray file.
      for (const r of expired) {
        await deps.reports.delete(r.report_name);
        await clearRunReport(deps.db, r.run_id);
      }
      return expired.length;
    }, signal),
    streamTickets: await drain(() => deleteExpiredStreamTickets(deps.db, now, BATCH), signal),
  };
}
