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
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { deleteFinishedJobs } from '../store/jobs.js';
import type { DB, Db } from '../store/schema.js';

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

/** Deletes one batch of inbox events older than `before` that a newer event of the same type supersedes. */
async function deleteInboxBatch(db: Db, before: number): Promise<number> {
  const res = await db
    .deleteFrom('inbox_events')
    .where(
      'inbox_event_id',
      'in',
      db
        .selectFrom('inbox_events as e')
        .select('e.inbox_event_id')
        .where('e.received_at', '<', before)
        .where(({ exists, selectFrom }) =>
          exists(
            selectFrom('inbox_events as n')
              .select('n.inbox_event_id')
              .whereRef('n.account_id', '=', 'e.account_id')
              .whereRef('n.event_type', '=', 'e.event_type')
              .where((eb) =>
                eb.or([
                  eb('n.occurred_at', '>', eb.ref('e.occurred_at')),
                  eb.and([
                    eb('n.occurred_at', '=', eb.ref('e.occurred_at')),
                    eb('n.received_at', '>', eb.ref('e.received_at')),
                  ]),
                ]),
              ),
          ),
        )
        .limit(BATCH),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

async function deleteDeliveriesBatch(db: Db, before: number): Promise<number> {
  const res = await db
    .deleteFrom('webhook_deliveries')
    .where(
      'delivery_id',
      'in',
      db
        .selectFrom('webhook_deliveries')
        .select('delivery_id')
        .where('status', '!=', 'pending')
        .where('created_at', '<', before)
        .limit(BATCH),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
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
  deps: { db: Kysely<DB>; clock: Clock },
  windows: RetentionWindows,
  signal?: AbortSignal,
): Promise<RetentionSummary> {
  const now = deps.clock.now();
  return {
    inboxEvents: await drain(() => deleteInboxBatch(deps.db, now - windows.inboxDays * DAY_MS), signal),
    webhookDeliveries: await drain(
      () => deleteDeliveriesBatch(deps.db, now - windows.webhookDeliveriesDays * DAY_MS),
      signal,
    ),
    jobs: await drain(
      () => deleteFinishedJobs(deps.db, 'done', now - windows.jobsDays * DAY_MS, BATCH),
      signal,
    ),
  };
}
