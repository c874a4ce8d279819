/** Batched deletes for the retention pass (services/retention.ts decides the windows). */
import type { Db } from './schema.js';

/** Deletes one batch of inbox events older than `before` that a newer event of the same type supersedes. */
export async function deleteInboxBatch(db: Db, before: number, batch: number): Promise<number> {
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
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

export async function deleteDeliveriesBatch(db: Db, before: number, batch: number): Promise<number> {
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
        .limit(batch),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** One batch of runs whose report finished before `before`: the retention pass removes their files. */
export async function expiredReportsBatch(
  db: Db,
  before: number,
  batch: number,
): Promise<Array<{ run_id: string; report_name: string }>> {
  const rows = await db
    .selectFrom('task_runs')
    .select(['run_id', 'report_name'])
    .where('report_name', 'is not', null)
    .where('finished_at', '<', before)
    .orderBy('finished_at')
    .limit(batch)
    .execute();
  return rows.map((r) => ({ run_id: r.run_id, report_name: r.report_name! }));
}

/** The run keeps its size and content type for the record; without a name it has nothing to download. */
export async function clearRunReport(db: Db, runId: string): Promise<void> {
  await db.updateTable('task_runs').set({ report_name: null }).where('run_id', '=', runId).execute();
}
