import { AppError, TaskRunRequest, topics } from '@kopitra/contracts';
import { randomUUID } from 'node:crypto';
import { busChannel, waitFor } from '../../notify/notifier.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { route } from '../registry.js';
import { catalogueView, startRun, TASK_EVENTS } from '../../services/tasks.js';
import { runView } from '../../services/views.js';

const STREAM_TOPICS = [topics.tradeAgentEvents, TASK_EVENTS, topics.copyGroupUpdates];

export const taskStreamRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/tasks',
    role: 'viewer',
    tag: 'tasks',
    summary: 'Task catalogue and the most recent runs',
    handler: async () => ({
      items: catalogueView(),
      recentRuns: (
        await deps.db.selectFrom('task_runs').selectAll().orderBy('created_at', 'desc').limit(50).execute()
      ).map(runView),
      nextCursor: null,
    }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/tasks/{taskId}/run',
    role: 'operator',
    tag: 'tasks',
    summary: 'Start a task run; progress is on the run and the live stream',
    body: TaskRunRequest,
    status: 202,
    handler: async ({ body, params, operator, request }) =>
      startRun(
        deps,
        params['taskId']!,
        body.params,
        operator.email,
        String(request.headers['x-correlation-id'] ?? request.id ?? randomUUID()),
      ),
  }),
  route({
    method: 'GET',
    url: '/api/admin/task-runs/{runId}',
    role: 'viewer',
    tag: 'tasks',
    summary: 'One task run with its status, progress and result',
    handler: async ({ params }) => {
      const run = await deps.db
        .selectFrom('task_runs')
        .selectAll()
        .where('run_id', '=', params['runId']!)
        .executeTakeFirst();
      if (!run) throw new AppError('not_found', 'No task run with this id.');
      return runView(run);
    },
  }),
  route({
    method: 'GET',
    url: '/api/admin/stream',
    role: 'viewer',
    tag: 'stream',
    raw: true,
    summary:
      'Live events (Server-Sent Events): session states, copy orders, alerts, task progress. Token in Authorization or ?access_token=',
    handler: async ({ request, reply }) => {
      const lastEventId = Number(request.headers['last-event-id'] ?? NaN);
      let position = Number.isFinite(lastEventId)
        ? lastEventId
        : Number(
            (
              await deps.db
                .selectFrom('bus_messages')
                .select((eb) => eb.fn.max('position').as('p'))
                .executeTakeFirst()
            )?.p ?? 0,
          );
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n: connected\n\n`);
      const abort = new AbortController();
      const stop = () => abort.abort();
      res.on('close', stop);
      deps.shutdownSignal.addEventListener('abort', stop);
      try {
        let lastBeat = Date.now();
        while (!abort.signal.aborted) {
          const waits = STREAM_TOPICS.map((t) => waitFor(deps.notifier, busChannel(t), 1000, abort.signal));
          const rows = await deps.db
            .selectFrom('bus_messages')
            .selectAll()
            .where('topic', 'in', STREAM_TOPICS)
            .where('position', '>', position)
            .orderBy('position')
            .limit(200)
            .execute();
          for (const r of rows) {
            const body = JSON.parse(r.body) as { type?: string };
            res.write(`id: ${r.position}\nevent: ${body.type ?? r.topic}\ndata: ${r.body}\n\n`);
            position = Number(r.position);
          }
          if (rows.length > 0) {
            waits.forEach((w) => w.cancel());
            continue;
          }
          if (Date.now() - lastBeat > 15_000) {
            res.write(': keep-alive\n\n');
            lastBeat = Date.now();
          }
          await Promise.race(waits.map((w) => w.promise));
          waits.forEach((w) => w.cancel());
        }
      } finally {
        res.off('close', stop);
        deps.shutdownSignal.removeEventListener('abort', stop);
        res.end();
      }
      return undefined;
    },
  }),
];
