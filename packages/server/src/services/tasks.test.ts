import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readTopic } from '../bus/embedded/embedded-bus.js';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, eventually, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';
import { enqueueJob } from './job-worker.js';
import { TASK_EVENTS, TASK_RUN_JOB } from './tasks.js';

describe.each(dialects)('tasks as claimed jobs on %s', (dialect) => {
  let tp: TestPlatform | null;
  let token = '';
  beforeEach(async () => {
    tp = await startTestPlatform(dialect);
    if (tp)
      token = (
        await tp.platform.app.inject({ method: 'POST', url: '/api/auth/login', payload: ADMIN })
      ).json().token;
  });
  afterEach(async () => {
    await tp?.close();
  });
  const run = (p: TestPlatform, taskId: string, params: unknown) =>
    p.platform.app.inject({
      method: 'POST',
      url: `/api/admin/tasks/${taskId}/run`,
      headers: { authorization: `Bearer ${token}` },
      payload: { params },
    });
  const progressOf = async (p: TestPlatform, runId: string) =>
    (await readTopic(p.platform.database.db, TASK_EVENTS))
      .map((m) => m.body as { runId: string; status: string; progress: number })
      .filter((m) => m.runId === runId);

  it('reports start → progress → completed for close-follower-positions and resync-follower', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'TM').connect();
    const f = await new SimFollower(p.platform, 'TF').connect();
    await f.catalog([spec('EURUSD'), spec('GBPUSD')]);
    await f.drain();
    const g = await insertGroup(p.platform.database.db, { name: 'g', masterAccountId: 'TM' }, p.clock.now());
    await putSubscription(
      p.platform.database.db,
      { groupId: g.group_id, followerAccountId: 'TF', settings: {} },
      p.clock.now(),
    );
    await master.signal({
      type: 'position.opened',
      masterPositionId: '1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
    });
    await master.signal({
      type: 'position.opened',
      masterPositionId: '2',
      symbol: 'GBPUSD',
      side: 'sell',
      volume: 0.2,
      price: 1.3,
    });
    await f.drain();
    expect(f.book.size).toBe(2);

    const res = await run(p, 'close-follower-positions', { accountId: 'TF' });
    expect(res.statusCode).toBe(202);
    const { runId, status } = res.json();
    expect(status).toBe('queued');
    await eventually(async () => (await progressOf(p, runId)).some((e) => e.status === 'completed'));
    const events = await progressOf(p, runId);
    expect(events[0]).toMatchObject({ status: 'running', progress: 0 });
    expect(
      events
        .filter((e) => e.status === 'running' && e.progress > 0 && e.progress <= 1)
        .map((e) => e.progress),
    ).toEqual([0.5, 1]);
    expect(events.at(-1)).toMatchObject({ status: 'completed', progress: 1 });
    await f.drain();
    expect(f.book.size).toBe(0);

    const resync = await run(p, 'resync-follower', { accountId: 'TF' });
    const resyncId = resync.json().runId;
    await eventually(async () => (await progressOf(p, resyncId)).some((e) => e.status === 'completed'));
    const view = await p.platform.app.inject({
      method: 'GET',
      url: `/api/admin/task-runs/${resyncId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(view.json()).toMatchObject({
      status: 'completed',
      progress: 1,
      result: { followerAccountId: 'TF' },
    });
    await f.step();
    expect(f.received.some((e) => e.type === 'sync.request')).toBe(true);
  });

  it('reports failed when the work fails, and refuses bad params before starting', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    expect((await run(p, 'resync-follower', { accountId: 'nobody' })).json().error).toBe('account_not_found');
    expect((await run(p, 'no-such-task', {})).statusCode).toBe(404);
    const runsBefore = (await p.platform.database.db.selectFrom('task_runs').select('run_id').execute())
      .length;
    const empty = await run(p, 'export-audit', {});
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({
      error: 'invalid_task_params',
      message:
        'Export the audit log: Enter the start date and time (from). Enter the end date and time (to).',
      issues: [
        { path: 'params.from', message: 'Enter the start date and time (from).' },
        { path: 'params.to', message: 'Enter the end date and time (to).' },
      ],
    });
    const bad = await run(p, 'export-audit', { from: 'yesterday', to: '2026-01-01T00:00:00Z' });
    expect(bad.json().issues).toEqual([
      {
        path: 'params.from',
        message: 'The start (from) must be a date and time such as 2026-01-31T00:00:00Z.',
        code: 'invalid_format',
      },
    ]);
    const backwards = await run(p, 'export-audit', {
      from: '2026-02-01T00:00:00Z',
      to: '2026-01-01T00:00:00Z',
    });
    expect(backwards.json().issues).toEqual([
      { path: 'params.to', message: 'The end (to) must not be before the start (from).', code: 'custom' },
    ]);
    // Refused input records nothing.
    expect((await p.platform.database.db.selectFrom('task_runs').select('run_id').execute()).length).toBe(
      runsBefore,
    );

    const res = await run(p, 'export-audit', {
      from: '2020-01-01T00:00:00Z',
      to: '2099-01-01T00:00:00Z',
      format: 'csv',
    });
    const exportId = res.json().runId;
    await eventually(async () => (await progressOf(p, exportId)).some((e) => e.status === 'completed'));
    const exported = (
      await p.platform.app.inject({
        method: 'GET',
        url: `/api/admin/task-runs/${exportId}`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json();
    // The export is a file in the report store, not inline JSON on the run.
    expect(exported.result.csv).toBeUndefined();
    expect(exported.report).toMatchObject({
      name: `${exportId}-audit-2020-01-01_2099-01-01.csv`,
      contentType: 'text/csv; charset=utf-8',
    });
    expect(exported.report.size).toBeGreaterThan(0);
    const link = (
      await p.platform.app.inject({
        method: 'GET',
        url: `/api/admin/task-runs/${exportId}/report`,
        headers: { authorization: `Bearer ${token}` },
      })
    ).json();
    expect(link.url).toMatch(/^\/api\/reports\/run_[^?]+\?expires=\d+&signature=[0-9a-f]{64}$/);
    expect(Date.parse(link.expiresAt) - p.clock.now()).toBe(300_000);
    const file = await p.platform.app.inject({ method: 'GET', url: link.url });
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(file.headers['content-disposition']).toBe(`attachment; filename="${exported.report.name}"`);
    expect(Number(file.headers['content-length'])).toBe(exported.report.size);
    expect(file.body.split('\n')[0]).toBe('at,actor,action,target_type,target_id,before,after');
    expect(file.body).toContain('user.create');

    // A run whose group was deleted after it was accepted: queued as the API would, consumed from the bus.
    const runId = 'run_vanished_group';
    await p.platform.database.db
      .insertInto('task_runs')
      .values({
        run_id: runId,
        task_id: 'pause-group',
        status: 'queued',
        progress: 0,
        params: JSON.stringify({ groupId: 'grp_gone' }),
        result: null,
        error: null,
        correlation_id: 'c1',
        requested_by: 'test',
        created_at: 0,
        started_at: null,
        finished_at: null,
      })
      .execute();
    await enqueueJob(
      p.platform.database.db,
      p.platform.notifier,
      { kind: TASK_RUN_JOB, payload: { runId } },
      p.clock.now(),
    );
    await eventually(async () => (await progressOf(p, runId)).some((e) => e.status === 'failed'));
    const events = await progressOf(p, runId);
    expect(events[0]!.status).toBe('running');
    expect(events.at(-1)).toMatchObject({ status: 'failed', error: 'Group grp_gone no longer exists.' });
  });

  it('refuses report links that were tampered with or expired, and runs without a report', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const res = await run(p, 'export-audit', { from: '2020-01-01T00:00:00Z', to: '2099-01-01T00:00:00Z' });
    const exportId = res.json().runId;
    await eventually(async () => (await progressOf(p, exportId)).some((e) => e.status === 'completed'));
    const linkOf = async (runId: string) =>
      p.platform.app.inject({
        method: 'GET',
        url: `/api/admin/task-runs/${runId}/report`,
        headers: { authorization: `Bearer ${token}` },
      });
    const { url } = (await linkOf(exportId)).json() as { url: string };
    const get = (u: string) => p.platform.app.inject({ method: 'GET', url: u });
    const body = (await get(url)).json() as { from: string; entries: Array<{ action: string }> };
    expect(body.from).toBe('2020-01-01T00:00:00Z');
    expect(body.entries.map((e) => e.action)).toContain('user.create');

    const sig = /signature=([0-9a-f]+)/.exec(url)![1]!;
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    const expires = /expires=(\d+)/.exec(url)![1]!;
    const tampered = [
      url.replace(sig, flipped),
      url.replace(`expires=${expires}`, `expires=${Number(expires) + 3_600_000}`),
      url.replace('.json?', '.csv?'),
      url.replace(/&signature=.*/, ''),
      url.replace(/\/api\/reports\/[^?]+/, '/api/reports/..%2Fkopitra.db'),
    ];
    for (const u of tampered) {
      const r = await get(u);
      expect(r.statusCode, u).toBe(403);
      expect(r.json().error).toBe('report_link_invalid');
    }
    p.clock.advance(300_000);
    expect((await get(url)).statusCode).toBe(200);
    p.clock.advance(1);
    const late = await get(url);
    expect(late.statusCode).toBe(410);
    expect(late.json().error).toBe('report_link_expired');
    // A fresh link works again.
    expect((await get((await linkOf(exportId)).json().url)).statusCode).toBe(200);

    const pause = await run(p, 'resync-follower', { accountId: 'nobody' });
    expect(pause.json().error).toBe('account_not_found');
    expect((await linkOf('run_nope')).statusCode).toBe(404);
    const viewer = await p.platform.app.inject({
      method: 'GET',
      url: `/api/admin/task-runs/${exportId}/report`,
    });
    expect(viewer.statusCode).toBe(401);
  });
});
