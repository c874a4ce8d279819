/**
 * Retention: rows that only grow are deleted once older than their window (configuration
 * `KOPITRA_RETENTION_*`). Runs as the claimed periodic job `retention.sweep`, in batches so no
 * transaction holds locks for long.
 *
 * - inbox events (telemetry, acknowledgements): older than `inboxDays`, except the newest
 *   event of each type per account, which reconciliation and the console still read;
 * - webhook deliveries that are settled (delivered, failed, dropped): older than `webhookDeliveriesDays`;
 * - jobs that are done: older than `jobsDays` (dead jobs stay for operators to inspect).
 */
import type { Clock } from '../clock.js';
import { deleteFinishedJobs } from '../store/jobs.js';
import type { Database } from '../store/database.js';
import { deleteDeliveriesBatch, deleteInboxBatch } from '../store/retention.js';

export const RETENTION_JOB = 'retention.sweep';
const BATCH = 1000;
const DAY_MS = 86_400_000;

export interface RetentionWindows {
  readonly inboxDays: number;
  readonly webhookDeliveriesDays: number;
  readonly jobsDays: number;
}

export interface RetentionSummary {
  inboxEvents: number;
  webhookDeliveries: number;
  jobs: number;
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
  deps: { db: Database['db']; clock: Clock },
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
  };
}
