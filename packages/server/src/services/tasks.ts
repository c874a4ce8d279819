/**
 * Operator tasks. `POST /api/admin/tasks/{taskId}/run` records a run and enqueues a claimed
 * `task.run` job in the same transaction; the worker that claims it reports `started →
 * progress (0..1) → completed | failed`, stored on the run and published on `task-events` for
 * the live stream. A run whose worker dies is taken over when the job's lease lapses.
 */
import {
  AppError,
  isoTime,
  TaskDefinition as TaskDefinitionView,
  type TaskRunsQuery,
} from '@kopitra/contracts';
import { operatorClose } from '@kopitra/engine';
import { z } from 'zod';
import { queueOrder } from './copy/issued.js';
import { reconcileFollower } from './copy/reconciler.js';
import { accountChannel } from '../notify/notifier.js';
import { getAccount } from '../store/accounts.js';
import { countAuditBetween, auditBetween } from '../store/audit.js';
import { getGroup, updateGroup, updateLink } from '../store/copy.js';
import { openLinksOf } from '../store/copy-records.js';
import { newId } from '../store/ids.js';
import { enqueueOutbox } from '../store/outbox.js';
import {
  failUnfinishedRun,
  getTaskRun,
  pageTaskRuns,
  insertTaskRun,
  markRunRunning,
  recentTaskRuns,
  updateTaskRun,
  type TaskRunRow,
} from '../store/tasks.js';
import { inTransaction } from '../store/transaction.js';
import { enqueueJob, type JobDefinition } from './job-worker.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import type { StoredReport } from '../reports/report-store.js';
import { auditView, runView } from './views.js';
import { runWhatIf, validateWhatIf, WhatIfParams } from './what-if.js';

export const TASK_RUN_JOB = 'task.run';
/** A run is taken over at most twice after its worker died; task failures are final (the run says why). */
const TASK_RUN_ATTEMPTS = 3;
export const TASK_EVENTS = 'task-events';

interface TaskContext {
  deps: ManagementDeps;
  runId: string;
  actor: string;
  progress(fraction: number, note?: string): Promise<void>;
  /** Writes the run's report to the report store and records its name, size and type on the run. */
  saveReport(body: string | Buffer, file: { suffix: string; contentType: string }): Promise<StoredReport>;
}

interface TaskDefinition<P> {
  title: string;
  description: string;
  params: z.ZodType<P>;
  /** Checks that run before the run is accepted, so a typo is a 4xx, not a failed run. */
  validate?(deps: ManagementDeps, params: P): Promise<void>;
  run(ctx: TaskContext, params: P): Promise<unknown>;
}

const define = <P>(d: TaskDefinition<P>) => d as unknown as TaskDefinition<unknown>;
/** Parameter messages are read by operators in the console: say what to enter, and name the field. */
const required = (what: string, field: string) =>
  z.string({ error: `Choose ${what} (${field}).` }).min(1, `Choose ${what} (${field}).`);
const AccountParams = z.object({ accountId: required('an account', 'accountId') });
const GroupParams = z.object({ groupId: required('a group', 'groupId') });
const instant = (what: string, field: string) =>
  z.iso.datetime({
    offset: true,
    error: (issue) =>
      issue.input === undefined || issue.input === ''
        ? `Enter the ${what} date and time (${field}).`
        : `The ${what} (${field}) must be a date and time such as 2026-01-31T00:00:00Z.`,
  });

async function requireAccount(deps: ManagementDeps, accountId: string) {
  if (!(await getAccount(deps.db, accountId)))
    throw new AppError('account_not_found', undefined, { accountId });
}
async function requireGroup(deps: ManagementDeps, groupId: string) {
  if (!(await getGroup(deps.db, groupId))) throw new AppError('group_not_found', undefined, { groupId });
}

async function setGroupStatus(ctx: TaskContext, groupId: string, status: 'active' | 'paused') {
  await ctx.progress(0.5, `${status === 'paused' ? 'pausing' : 'resuming'} ${groupId}`);
  await inTransaction(ctx.deps.db, async ({ trx }) => {
    const before = await getGroup(trx, groupId);
    // Deleted between the request and the work: the run fails and says why.
    if (!before) throw new AppError('group_not_found', `Group ${groupId} no longer exists.`);
    await updateGroup(trx, groupId, { status }, ctx.deps.clock.now());
    await appendAudit(
      trx,
      {
        actor: ctx.actor,
        action: status === 'paused' ? 'group.pause' : 'group.resume',
        targetType: 'group',
        targetId: groupId,
        before: { status: before?.status },
        after: { status },
      },
      ctx.deps.clock.now(),
    );
  });
  return { groupId, status };
}

const groupStatusTask = (title: string, description: string, status: 'active' | 'paused') =>
  define({
    title,
    description,
    params: GroupParams,
    validate: (deps, p) => requireGroup(deps, p.groupId),
    run: (ctx, p) => setGroupStatus(ctx, p.groupId, status),
  });

export const taskCatalogue: Record<string, TaskDefinition<unknown>> = {
  'resync-follower': define({
    title: 'Resync follower',
    description:
      "Asks the follower's EA for a fresh book (sync.request) and reconciles its copied positions.",
    params: AccountParams,
    validate: (deps, p) => requireAccount(deps, p.accountId),
    run: async (ctx, p) => {
      const { deps } = ctx;
      await ctx.progress(0.2, 'requesting a sync snapshot');
      await inTransaction(deps.db, async ({ trx }) => {
        await enqueueOutbox(
          trx,
          {
            accountId: p.accountId,
            type: 'sync.request',
            payload: { reason: 'operator resync', runId: ctx.runId },
          },
          deps.clock.now(),
        );
        await deps.notifier.notify(trx, accountChannel(p.accountId));
      });
      await ctx.progress(0.5, 'reconciling');
      const summary = await reconcileFollower(deps.gateway, p.accountId);
      await ctx.progress(0.9, `${summary.corrections.length} corrections`);
      return summary;
    },
  }),
  'close-follower-positions': define({
    title: "Close a follower's copied positions",
    description: 'Queues a close for every copied position of the follower (optionally of one group).',
    params: AccountParams.extend({ groupId: z.string().optional() }),
    validate: (deps, p) => requireAccount(deps, p.accountId),
    run: async (ctx, p) => {
      const { deps } = ctx;
      const links = await openLinksOf(deps.db, p.accountId, p.groupId);
      let closed = 0;
      for (const l of links) {
        await inTransaction(deps.db, async ({ trx }) => {
          const now = deps.clock.now();
          await queueOrder(
            deps.gateway,
            trx,
            {
              groupId: l.group_id,
              masterAccountId: l.master_account_id,
              followerAccountId: l.follower_account_id,
            },
            operatorClose({
              masterPositionId: l.master_position_id,
              ticket: l.ticket,
              symbol: l.symbol,
              side: l.side,
              volume: l.open_volume,
              positions: l.position_count,
            }),
            now,
          );
          await updateLink(
            trx,
            {
              groupId: l.group_id,
              followerAccountId: l.follower_account_id,
              masterPositionId: l.master_position_id,
            },
            { status: 'closing', updated_at: now },
          );
          await deps.notifier.notify(trx, accountChannel(l.follower_account_id));
        });
        closed++;
        await ctx.progress(closed / Math.max(1, links.length), `${closed}/${links.length} closes queued`);
      }
      return { closesQueued: closed };
    },
  }),
  'pause-group': groupStatusTask(
    'Pause a group',
    'Stops copying new signals of the group until it is resumed.',
    'paused',
  ),
  'resume-group': groupStatusTask('Resume a group', 'Copies new signals of the group again.', 'active'),
  'export-audit': define({
    title: 'Export the audit log',
    description: 'A JSON or CSV bundle of the audit log for a time range.',
    params: z
      .object({
        from: instant('start', 'from'),
        to: instant('end', 'to'),
        format: z.enum(['json', 'csv'], { error: 'The format must be json or csv.' }).default('json'),
      })
      .refine(
        // Only when both are dates: a bad date is already reported on its own.
        (p) => !(Date.parse(p.from) > Date.parse(p.to)),
        {
          path: ['to'],
          message: 'The end (to) must not be before the start (from).',
        },
      ),
    run: async (ctx, p) => {
      const from = Date.parse(p.from);
      const to = Date.parse(p.to);
      const total = await countAuditBetween(ctx.deps.db, from, to);
      const entries: ReturnType<typeof auditView>[] = [];
      let after: { at: number; id: string } | null = null;
      for (;;) {
        const rows = await auditBetween(ctx.deps.db, from, to, after, 500);
        if (rows.length === 0) break;
        entries.push(...rows.map(auditView));
        after = { at: rows.at(-1)!.at, id: rows.at(-1)!.audit_id };
        await ctx.progress(
          Math.min(0.99, entries.length / Math.max(1, total)),
          `${entries.length}/${total} entries`,
        );
      }
      const suffix = `${p.from.slice(0, 10)}_${p.to.slice(0, 10)}`.replace(/[^0-9_-]/g, '');
      if (p.format === 'json') {
        const report = await ctx.saveReport(
          JSON.stringify({ from: p.from, to: p.to, count: entries.length, entries }, null, 2),
          { suffix: `audit-${suffix}.json`, contentType: 'application/json' },
        );
        return { format: 'json', count: entries.length, report };
      }
      const cell = (v: unknown) =>
        `"${(typeof v === 'string' ? v : JSON.stringify(v ?? '')).replace(/"/g, '""')}"`;
      const csv = [
        'at,actor,action,target_type,target_id,before,after',
        ...entries.map((e) =>
          [e.at, e.actor, e.action, e.targetType, e.targetId, e.before, e.after].map(cell).join(','),
        ),
      ].join('\n');
      const report = await ctx.saveReport(`${csv}\n`, {
        suffix: `audit-${suffix}.csv`,
        contentType: 'text/csv; charset=utf-8',
      });
      return { format: 'csv', count: entries.length, report };
    },
  }),
};

taskCatalogue['what-if'] = define({
  title: 'What-if replay',
  description:
    "Replays the master's recorded signals over a window with proposed settings for one follower, beside what its current settings did: orders, skips with reasons, exposure and estimated equity.",
  params: WhatIfParams,
  validate: (deps, p) => validateWhatIf(deps, p),
  run: (ctx, p) => runWhatIf(ctx.deps, p, (fraction, note) => ctx.progress(fraction, note)),
});

let catalogue: TaskDefinitionView[] | undefined;
/** The catalogue as the API answers it; each task's parameters as JSON Schema, checked against the contract once. */
export const catalogueView = (): TaskDefinitionView[] =>
  (catalogue ??= Object.entries(taskCatalogue).map(([taskId, t]) => ({
    taskId,
    title: t.title,
    description: t.description,
    params: TaskDefinitionView.shape.params.parse(z.toJSONSchema(t.params, { io: 'input' })),
  })));

/** Task runs, newest first, optionally of one status and one task of the catalogue. */
export async function listTaskRuns(deps: ManagementDeps, query: TaskRunsQuery) {
  const { taskId } = query;
  if (taskId !== undefined && !Object.hasOwn(taskCatalogue, taskId))
    throw new AppError('invalid_request', `No task "${taskId}"; GET /api/admin/tasks lists them.`, {
      issues: [
        {
          path: 'query.taskId',
          message: `not a task of the catalogue: ${Object.keys(taskCatalogue).join(', ')}`,
        },
      ],
    });
  return pageTaskRuns(deps.db, query, runView);
}

async function publishProgress(deps: ManagementDeps, runId: string) {
  const run = await getTaskRun(deps.db, runId);
  if (!run) throw new Error(`task run ${runId} not found`);
  await deps.bus.publish(TASK_EVENTS, {
    type: 'task.progress',
    ...runView(run),
    occurredAt: isoTime(deps.clock.now()),
  });
}

/** Records a run and enqueues its job; a worker does the work. */
export async function startRun(
  deps: ManagementDeps,
  taskId: string,
  rawParams: unknown,
  actor: string,
  correlationId: string,
) {
  const task = taskCatalogue[taskId];
  if (!task) throw new AppError('not_found', `No task "${taskId}"; GET /api/admin/tasks lists them.`);
  const parsed = task.params.safeParse(rawParams);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 20)
      .map((i) => ({ path: ['params', ...i.path.map(String)].join('.'), message: i.message, code: i.code }));
    throw new AppError('invalid_task_params', `${task.title}: ${issues.map((i) => i.message).join(' ')}`, {
      issues,
    });
  }
  await task.validate?.(deps, parsed.data);
  const runId = newId('run');
  const now = deps.clock.now();
  await inTransaction(deps.db, async ({ trx }) => {
    await insertTaskRun(trx, {
      run_id: runId,
      task_id: taskId,
      status: 'queued',
      progress: 0,
      params: JSON.stringify(parsed.data),
      result: null,
      error: null,
      correlation_id: correlationId,
      requested_by: actor,
      created_at: now,
      started_at: null,
      finished_at: null,
      report_name: null,
      report_size: null,
      report_content_type: null,
    });
    await appendAudit(
      trx,
      {
        actor,
        action: 'task.run',
        targetType: 'task_run',
        targetId: runId,
        after: { taskId, params: parsed.data },
      },
      now,
    );
    await enqueueJob(
      trx,
      deps.notifier,
      {
        kind: TASK_RUN_JOB,
        payload: { runId },
        uniqueKey: `${TASK_RUN_JOB}:${runId}`,
        maxAttempts: TASK_RUN_ATTEMPTS,
      },
      now,
    );
  });
  return getRun(deps, runId);
}

/**
 * The `task.run` job. The run is marked running (again, when a worker that died had it) and
 * executed; a failing task fails its run and completes the job, so only a dead worker makes
 * the run be tried again.
 */
export function taskRunJob(deps: ManagementDeps): JobDefinition {
  return {
    kind: TASK_RUN_JOB,
    maxAttempts: TASK_RUN_ATTEMPTS,
    run: async (payload) => {
      const { runId } = payload as { runId: string };
      const claimed = await markRunRunning(deps.db, runId, deps.clock.now());
      if (!claimed) return;
      await execute(
        deps,
        claimed.run_id,
        claimed.task_id,
        JSON.parse(claimed.params) as unknown,
        claimed.requested_by,
      );
    },
    onDead: async ({ trx }, job) => {
      const { runId } = job.payload as { runId: string };
      await failUnfinishedRun(
        trx,
        runId,
        'its worker stopped every time it ran; run it again',
        deps.clock.now(),
      );
    },
  };
}

async function execute(
  deps: ManagementDeps,
  runId: string,
  taskId: string,
  params: unknown,
  actor: string,
): Promise<void> {
  const task = taskCatalogue[taskId]!;
  const update = async (patch: Partial<Omit<TaskRunRow, 'run_id'>>) => {
    await updateTaskRun(deps.db, runId, patch);
    await publishProgress(deps, runId);
  };
  try {
    await publishProgress(deps, runId);
    const result = await task.run(
      {
        deps,
        runId,
        actor,
        progress: async (fraction, note) =>
          update({
            progress: Math.max(0, Math.min(1, fraction)),
            ...(note ? { result: JSON.stringify({ note }) } : {}),
          }),
        saveReport: async (body, file) => {
          // Named after the run: a run taken over after its worker died overwrites, never duplicates.
          const stored = await deps.reports.put(`${runId}-${file.suffix}`, body, file.contentType);
          await updateTaskRun(deps.db, runId, {
            report_name: stored.name,
            report_size: stored.size,
            report_content_type: stored.contentType,
          });
          return stored;
        },
      },
      params,
    );
    await update({
      status: 'completed',
      progress: 1,
      result: JSON.stringify(result ?? null),
      finished_at: deps.clock.now(),
    });
  } catch (err) {
    deps.logger.error({ err, runId, taskId }, 'task failed');
    await update({
      status: 'failed',
      error: err instanceof Error ? err.message : String(err),
      finished_at: deps.clock.now(),
    }).catch(() => undefined);
  }
}

/** The task catalogue with the 50 most recent runs. */
export const listTasks = async (deps: Pick<ManagementDeps, 'db'>) => ({
  items: catalogueView(),
  recentRuns: (await recentTaskRuns(deps.db, 50)).map(runView),
  nextCursor: null,
});

export async function getRun(deps: Pick<ManagementDeps, 'db'>, runId: string) {
  const run = await getTaskRun(deps.db, runId);
  if (!run) throw new AppError('not_found', 'No task run with this id.');
  return runView(run);
}
