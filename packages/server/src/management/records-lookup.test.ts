/**
 * Finding things an operator has in hand: copy orders by the master's own signal id or deal
 * ticket (what the master's terminal shows), skipped orders with their symbol and the reason
 * catalogue's sentence, and the task runs list with its filters and pages.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRun } from '@kopitra/contracts';
import { insertGroup, putSubscription } from '../store/copy.js';
import { dialects } from '../testing/databases.js';
import { ADMIN, startTestPlatform, type TestPlatform } from '../testing/platform.js';
import { SimFollower, SimMaster, spec } from '../testing/sim.js';

describe.each(dialects)('record look-ups on %s', (dialect) => {
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
  const get = (p: TestPlatform, url: string) =>
    p.platform.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  it("finds copy orders by the master's signalId or deal ticket, and names a skipped order's symbol and reason", async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const master = await new SimMaster(p.platform, 'LM').connect();
    const f = await new SimFollower(p.platform, 'LF').connect();
    await f.catalog([spec('EURUSD'), spec('GBPUSD')]);
    const db = p.platform.database.db;
    const g = await insertGroup(db, { name: 'g', masterAccountId: 'LM' }, p.clock.now());
    await putSubscription(
      db,
      { groupId: g.group_id, followerAccountId: 'LF', settings: { symbolFilter: { exclude: ['GBPUSD'] } } },
      p.clock.now(),
    );
    const copied = await master.signal({
      signalId: 'ea-signal-17',
      dealTicket: '880017',
      type: 'position.opened',
      masterPositionId: '17',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.1,
      price: 1.1,
    });
    expect(copied.signalId).toBe('ea-signal-17');
    await master.signal({
      signalId: 'ea-signal-18',
      dealTicket: '880018',
      type: 'position.opened',
      masterPositionId: '18',
      symbol: 'GBPUSD',
      side: 'sell',
      volume: 0.1,
      price: 1.3,
    });

    const bySignal = (await get(p, '/api/admin/orders?signalId=ea-signal-17')).json();
    expect(bySignal.items).toHaveLength(1);
    expect(bySignal.items[0]).toMatchObject({
      masterSignalId: 'ea-signal-17',
      masterDealTicket: '880017',
      status: 'queued',
      symbol: 'EURUSD',
      reason: null,
      reasonText: null,
    });
    // The server's own id finds the same order.
    const serverId = bySignal.items[0].signalId as string;
    expect(serverId).toMatch(/^sig_/);
    expect((await get(p, `/api/admin/orders?signalId=${serverId}`)).json().items).toHaveLength(1);

    const byDeal = (await get(p, '/api/admin/orders?dealTicket=880018')).json();
    expect(byDeal.items).toHaveLength(1);
    expect(byDeal.items[0]).toMatchObject({
      masterSignalId: 'ea-signal-18',
      status: 'skipped',
      symbol: 'GBPUSD',
      side: 'sell',
      reason: 'symbol_excluded',
      reasonText: "The master's symbol is excluded by the subscription's symbol filter.",
    });

    expect((await get(p, '/api/admin/orders?dealTicket=999')).json().items).toEqual([]);
    expect((await get(p, '/api/admin/orders?signalId=ea-signal-17&dealTicket=880018')).json().items).toEqual(
      [],
    );
    const tooLong = await get(p, `/api/admin/orders?dealTicket=${'9'.repeat(40)}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().error).toBe('invalid_request');
  });

  it('lists task runs newest first, by status and task, a page at a time', async (t) => {
    const p = tp;
    if (!p) return t.skip();
    const db = p.platform.database.db;
    const run = (runId: string, taskId: string, status: TaskRun['status'], at: number) => ({
      run_id: runId,
      task_id: taskId,
      status,
      progress: status === 'completed' ? 1 : 0,
      params: '{}',
      result: null,
      error: status === 'failed' ? 'it broke' : null,
      correlation_id: `c-${runId}`,
      requested_by: ADMIN.email,
      created_at: at,
      started_at: null,
      finished_at: null,
    });
    await db
      .insertInto('task_runs')
      .values([
        run('run_a', 'pause-group', 'completed', 1_000),
        run('run_b', 'resync-follower', 'failed', 2_000),
        run('run_c', 'pause-group', 'failed', 3_000),
        run('run_d', 'resync-follower', 'completed', 3_000),
      ])
      .execute();
    const ids = (body: { items: Array<{ runId: string }> }) => body.items.map((r) => r.runId);

    const first = (await get(p, '/api/admin/task-runs?limit=3')).json();
    expect(ids(first)).toEqual(['run_d', 'run_c', 'run_b']);
    expect(first.items[0]).toMatchObject({ taskId: 'resync-follower', status: 'completed', progress: 1 });
    const rest = (await get(p, `/api/admin/task-runs?limit=3&cursor=${first.nextCursor}`)).json();
    expect(ids(rest)).toEqual(['run_a']);
    expect(rest.nextCursor).toBeNull();

    expect(ids((await get(p, '/api/admin/task-runs?status=failed')).json())).toEqual(['run_c', 'run_b']);
    expect(ids((await get(p, '/api/admin/task-runs?taskId=pause-group')).json())).toEqual(['run_c', 'run_a']);
    expect(ids((await get(p, '/api/admin/task-runs?taskId=pause-group&status=completed')).json())).toEqual([
      'run_a',
    ]);

    const badStatus = await get(p, '/api/admin/task-runs?status=done');
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().issues[0].path).toBe('query.status');
    const badTask = await get(p, '/api/admin/task-runs?taskId=no-such-task');
    expect(badTask.statusCode).toBe(400);
    expect(badTask.json()).toMatchObject({ error: 'invalid_request', issues: [{ path: 'query.taskId' }] });
    const anonymous = await p.platform.app.inject({ method: 'GET', url: '/api/admin/task-runs' });
    expect(anonymous.statusCode).toBe(401);
  });
});
