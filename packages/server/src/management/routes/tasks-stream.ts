import { StreamQuery, TaskRunRequest, TaskRunsQuery, topics } from '@kopitra/contracts';
import { randomUUID } from 'node:crypto';
import { latestCursor, readAfter, type BusCursor } from '../../bus/embedded/embedded-bus.js';
import { busChannel, waitFor } from '../../notify/notifier.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { route } from '../registry.js';
import { getRun, listTaskRuns, listTasks, startRun, TASK_EVENTS } from '../../services/tasks.js';
import { openLinkedReport, reportLink } from '../../services/reports.js';
import { issueStreamTicket } from '../../services/stream-access.js';

const STREAM_TOPICS = [topics.tradeAgentEvents, TASK_EVENTS, topics.copyGroupUpdates];

/** Event ids are the bus cursor, `tx.position`; anything else starts from now. */
function parseEventId(header: string | string[] | undefined): BusCursor | undefined {
  const match = typeof header === 'string' ? /^(\d{1,19})\.(\d{1,19})$/.exec(header) : null;
  return match ? { tx: Number(match[1]), position: Number(match[2]) } : undefined;
}

export const taskStreamRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/tasks',
    role: 'viewer',
    tag: 'tasks',
    summary: 'Task catalogue and the most recent runs',
    handler: async () => listTasks(deps),
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
    url: '/api/admin/task-runs',
    role: 'viewer',
    tag: 'tasks',
    summary: 'Task runs, newest first (filters: status, taskId)',
    query: TaskRunsQuery,
    handler: async ({ query }) => listTaskRuns(deps, query),
  }),
  route({
    method: 'GET',
    url: '/api/admin/task-runs/{runId}',
    role: 'viewer',
    tag: 'tasks',
    summary: 'One task run with its status, progress and result',
    handler: async ({ params }) => getRun(deps, params['runId']!),
  }),
  route({
    method: 'GET',
    url: '/api/admin/task-runs/{runId}/report',
    role: 'viewer',
    tag: 'tasks',
    summary:
      "A short-lived download link to a completed run's report (audit export): name, size, content type, url, expiresAt",
    handler: async ({ params }) => reportLink(deps, params['runId']!),
  }),
  route({
    method: 'GET',
    url: '/api/reports/{name}',
    role: 'public',
    tag: 'tasks',
    raw: true,
    summary:
      'Downloads a report through a signed link from GET /api/admin/task-runs/{runId}/report (the link is the credential; it expires)',
    handler: async ({ params, request, reply }) => {
      const query = (request.query ?? {}) as Record<string, string | undefined>;
      const report = await openLinkedReport(deps, params['name']!, query['expires'], query['signature']);
      await reply
        .header('content-type', report.contentType)
        .header('content-length', String(report.size))
        .header('content-disposition', `attachment; filename="${report.name}"`)
        .header('cache-control', 'private, no-store')
        .send(report.body);
      return undefined;
    },
  }),
  route({
    method: 'POST',
    url: '/api/admin/stream/ticket',
    role: 'viewer',
    tag: 'stream',
    summary:
      'A single-use ticket for GET /api/admin/stream?ticket= (valid 30 s, bound to this token): ticket, expiresAt',
    status: 201,
    handler: async ({ operator }) => issueStreamTicket(deps, operator),
  }),
  route({
    method: 'GET',
    url: '/api/admin/stream',
    role: 'viewer',
    tag: 'stream',
    raw: true,
    ticket: true,
    query: StreamQuery,
    summary:
      'Live events (Server-Sent Events): session states, copy orders, alerts, task progress. Opens with ?ticket= from POST /api/admin/stream/ticket (or an Authorization header); closes when the token is revoked or expires, or the operator is disabled or changes role',
    handler: async ({ request, reply, operator, query }) => {
      let cursor =
        parseEventId(query.lastEventId ?? request.headers['last-event-id']) ??
        (await latestCursor(deps.db, deps.dialect, STREAM_TOPICS));
      const abort = new AbortController();
      let closedBecause: string | null = null;
      // The stream lives only as long as the token and the operator's role allow it.
      const unwatch = deps.streams.watch(operator, 'viewer', (reason) => {
        closedBecause = reason;
        abort.abort();
      });
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 2000\n: connected\n\n`);
      const stop = () => abort.abort();
      res.on('close', stop);
      deps.shutdownSignal.addEventListener('abort', stop);
      try {
        let lastBeat = Date.now();
        while (!abort.signal.aborted) {
          const waits = STREAM_TOPICS.map((t) => waitFor(deps.notifier, busChannel(t), 1000, abort.signal));
          const rows = await readAfter(deps.db, deps.dialect, STREAM_TOPICS, cursor, 200);
          // The guard may have closed the stream while the read ran: nothing more is sent.
          if (abort.signal.aborted) {
            waits.forEach((w) => w.cancel());
            break;
          }
          for (const m of rows) {
            const body = m.body as { type?: string };
            res.write(
              `id: ${m.cursor.tx}.${m.cursor.position}\nevent: ${body.type ?? m.topic}\ndata: ${JSON.stringify(m.body)}\n\n`,
            );
            cursor = m.cursor;
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
        unwatch();
        res.off('close', stop);
        deps.shutdownSignal.removeEventListener('abort', stop);
        if (closedBecause !== null && !res.destroyed)
          res.write(`event: stream.closed\ndata: ${JSON.stringify({ reason: closedBecause })}\n\n`);
        res.end();
      }
      return undefined;
    },
  }),
];
