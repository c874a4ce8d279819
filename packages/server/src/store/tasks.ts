/** Operator task runs. */
import type { TaskRun } from '@kopitra/contracts';
import { listNewestFirst, type PageInput } from './pagination.js';
import type { Db, TaskRunsTable } from './schema.js';

export type TaskRunRow = TaskRunsTable;

export async function insertTaskRun(db: Db, row: TaskRunRow): Promise<void> {
  await db.insertInto('task_runs').values(row).execute();
}

export const getTaskRun = (db: Db, runId: string): Promise<TaskRunRow | undefined> =>
  db.selectFrom('task_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();

export const recentTaskRuns = (db: Db, limit: number): Promise<TaskRunRow[]> =>
  db.selectFrom('task_runs').selectAll().orderBy('created_at', 'desc').limit(limit).execute();

export interface TaskRunFilter {
  status?: TaskRun['status'] | undefined;
  taskId?: string | undefined;
}

/** Task runs newest first, one page at a time. */
export function pageTaskRuns<V>(db: Db, input: PageInput & TaskRunFilter, view: (row: TaskRunRow) => V) {
  let q = db.selectFrom('task_runs').selectAll();
  if (input.status) q = q.where('status', '=', input.status);
  if (input.taskId) q = q.where('task_id', '=', input.taskId);
  return listNewestFirst(
    q,
    { time: 'created_at', id: 'run_id', key: (r) => ({ t: r.created_at, id: r.run_id }) },
    input,
    view,
  );
}

export async function updateTaskRun(
  db: Db,
  runId: string,
  patch: Partial<Omit<TaskRunRow, 'run_id'>>,
): Promise<void> {
  await db.updateTable('task_runs').set(patch).where('run_id', '=', runId).execute();
}

/** Marks a run that is not finished `running` (again, when its worker died); undefined when finished. */
export const markRunRunning = (db: Db, runId: string, now: number): Promise<TaskRunRow | undefined> =>
  db
    .updateTable('task_runs')
    .set({ status: 'running', started_at: now })
    .where('run_id', '=', runId)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();

/** Fails a run that is not finished. */
export async function failUnfinishedRun(db: Db, runId: string, error: string, now: number): Promise<void> {
  await db
    .updateTable('task_runs')
    .set({ status: 'failed', error, finished_at: now })
    .where('run_id', '=', runId)
    .where('status', 'in', ['queued', 'running'])
    .execute();
}
