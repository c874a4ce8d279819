/**
 * The claimed-work contract, on SQLite and PostgreSQL: a unit is claimed once, a lapsed lease
 * is taken over, failures back off, spent units die with an operator alert, periodic units
 * exist once per period, and an enqueue wakes a waiting worker.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import type { Notifier } from '../notify/notifier.js';
import { openNotifier } from '../runtime.js';
import { migrate, openDatabase, type Database } from '../store/database.js';
import { claimDueJobs, completeJob, getJob, getJobByKey, insertJob } from '../store/jobs.js';
import { dialects, dropTarget, freshTarget } from '../testing/databases.js';
import { enqueueJob, JobWorker, type JobDefinition, type JobWorkerOptions } from './job-worker.js';

const logger = pino({ level: process.env['KOPITRA_TEST_LOG'] ?? 'silent' });
const LEASE_MS = 30_000;

describe.each(dialects)('job worker on %s', (dialect) => {
  let database: Database | undefined;
  let notifier: Notifier | undefined;
  const workers: JobWorker[] = [];
  let cleanupTarget: () => Promise<void> = async () => undefined;

  async function setup() {
    const target = await freshTarget(dialect);
    if (!target) return null;
    cleanupTarget = () => dropTarget(target);
    database = await openDatabase(target);
    await migrate(database);
    notifier = await openNotifier(database);
    const clock = new ManualClock();
    const worker = (defs: JobDefinition[], extra: Partial<JobWorkerOptions> = {}, periodic = []) => {
      const w = new JobWorker(
        {
          db: database!.db,
          dialect: database!.dialect,
          notifier: notifier!,
          clock,
          logger,
          leaseMs: LEASE_MS,
          ...extra,
        },
        defs,
        periodic,
      );
      workers.push(w);
      return w;
    };
    return { db: database.db, notifier, clock, worker };
  }

  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await notifier?.close();
    await database?.close();
    await cleanupTarget();
    database = undefined;
    notifier = undefined;
  });

  it('claims each unit once across competing workers', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const runs: string[] = [];
    const def = (name: string): JobDefinition => ({
      kind: 'test.once',
      run: async (payload) => {
        runs.push(`${(payload as { n: number }).n}:${name}`);
      },
    });
    for (let n = 0; n < 30; n++)
      await enqueueJob(env.db, env.notifier, { kind: 'test.once', payload: { n } }, 0);
    const a = env.worker([def('a')], { workerId: 'a', concurrency: 3 });
    const b = env.worker([def('b')], { workerId: 'b', concurrency: 3 });
    let total = 0;
    for (;;) {
      const [x, y] = await Promise.all([a.runOnce(), b.runOnce()]);
      if (x + y === 0) break;
      total += x + y;
    }
    expect(total).toBe(30);
    const done = runs.map((r) => Number(r.split(':')[0])).sort((p, q) => p - q);
    expect(done).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const states = await env.db.selectFrom('jobs').select(['state', 'attempts']).execute();
    expect(states.every((s) => s.state === 'done' && s.attempts === 1)).toBe(true);
  });

  it('takes over a unit whose claimer died once its lease lapses', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const id = (await insertJob(env.db, { kind: 'test.takeover' }, env.clock.now()))!;
    // A claimer that dies right after claiming: the row stays running under its lease.
    const [dead] = await env.db
      .transaction()
      .execute((trx) =>
        claimDueJobs(
          trx,
          dialect,
          { kinds: ['test.takeover'], workerId: 'dead', limit: 1, leaseMs: LEASE_MS },
          env.clock.now(),
        ),
      );
    expect(dead?.attempts).toBe(1);
    let ran = 0;
    const w = env.worker([{ kind: 'test.takeover', run: async () => void ran++ }], { workerId: 'alive' });
    env.clock.advance(LEASE_MS - 1);
    expect(await w.runOnce()).toBe(0);
    env.clock.advance(1);
    expect(await w.runOnce()).toBe(1);
    expect(ran).toBe(1);
    const job = await getJob(env.db, id);
    expect(job).toMatchObject({ state: 'done', attempts: 2, lockedBy: 'alive' });
    // The dead claimer's late completion cannot touch the unit any more.
    expect(await completeJob(env.db, { jobId: id, lockedBy: 'dead', attempts: 1 }, env.clock.now())).toBe(
      false,
    );
  });

  it('fences effects: a claimer that lost its lease cannot commit them', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const id = (await insertJob(env.db, { kind: 'test.fence' }, env.clock.now()))!;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const slow = env.worker(
      [
        {
          kind: 'test.fence',
          maxAttempts: 1,
          run: async (_p, ctx) => {
            started();
            await held;
            await ctx.complete(async ({ trx }) => {
              await trx.insertInto('kv').values({ key: 'effect:slow', value: 'x' }).execute();
            });
          },
        },
      ],
      { workerId: 'slow' },
    );
    const first = slow.runOnce();
    await running;
    env.clock.advance(LEASE_MS);
    const fast = env.worker(
      [
        {
          kind: 'test.fence',
          maxAttempts: 3,
          run: async (_p, ctx) =>
            ctx.complete(async ({ trx }) => {
              await trx.insertInto('kv').values({ key: 'effect:fast', value: 'x' }).execute();
            }),
        },
      ],
      { workerId: 'fast' },
    );
    expect(await fast.runOnce()).toBe(1);
    release();
    await first;
    const effects = await env.db.selectFrom('kv').select('key').where('key', 'like', 'effect:%').execute();
    expect(effects.map((e) => e.key)).toEqual(['effect:fast']);
    expect(await getJob(env.db, id)).toMatchObject({ state: 'done', lockedBy: 'fast', attempts: 2 });
  });

  it('retries a failure after the back-off, doubling each time', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    let calls = 0;
    const w = env.worker([
      {
        kind: 'test.retry',
        backoff: { baseMs: 5_000, maxMs: 60_000 },
        run: async () => {
          calls++;
          if (calls < 3) throw new Error(`boom ${calls}`);
        },
      },
    ]);
    const id = (await enqueueJob(env.db, env.notifier, { kind: 'test.retry' }, env.clock.now()))!;
    expect(await w.runOnce()).toBe(1);
    const t0 = env.clock.now();
    expect(await getJob(env.db, id)).toMatchObject({
      state: 'queued',
      attempts: 1,
      runAt: t0 + 5_000,
      lastError: 'boom 1',
    });
    env.clock.advance(4_999);
    expect(await w.runOnce()).toBe(0);
    env.clock.advance(1);
    expect(await w.runOnce()).toBe(1);
    expect(await getJob(env.db, id)).toMatchObject({ state: 'queued', attempts: 2, runAt: t0 + 15_000 });
    env.clock.advance(10_000);
    expect(await w.runOnce()).toBe(1);
    expect(await getJob(env.db, id)).toMatchObject({ state: 'done', attempts: 3, lastError: null });
    expect(calls).toBe(3);
  });

  it('buries a unit whose attempts are spent and raises an operator alert', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const buried: string[] = [];
    const w = env.worker([
      {
        kind: 'test.dead',
        maxAttempts: 2,
        backoff: { baseMs: 1_000, maxMs: 1_000 },
        run: async () => {
          throw new Error('always');
        },
        onDead: async ({ trx }, job, error) => {
          buried.push(`${job.jobId}:${error}`);
          await trx
            .insertInto('kv')
            .values({ key: `dead:${job.jobId}`, value: error })
            .execute();
        },
      },
    ]);
    const id = (await enqueueJob(
      env.db,
      env.notifier,
      { kind: 'test.dead', maxAttempts: 2 },
      env.clock.now(),
    ))!;
    await w.runOnce();
    env.clock.advance(1_000);
    await w.runOnce();
    env.clock.advance(60_000);
    expect(await w.runOnce()).toBe(0);
    expect(await getJob(env.db, id)).toMatchObject({ state: 'dead', attempts: 2, lastError: 'always' });
    expect(buried).toEqual([`${id}:always`]);
    const alerts = await env.db.selectFrom('alerts').selectAll().execute();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ code: 'job_dead', severity: 'critical', dedupe_key: `job_dead:${id}` });
    expect(alerts[0]!.message).toContain('test.dead');
  });

  it('buries a unit whose claimer died on its last attempt', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const id = (await insertJob(env.db, { kind: 'test.lapsed', maxAttempts: 1 }, env.clock.now()))!;
    await env.db
      .transaction()
      .execute((trx) =>
        claimDueJobs(
          trx,
          dialect,
          { kinds: ['test.lapsed'], workerId: 'dead', limit: 1, leaseMs: LEASE_MS },
          env.clock.now(),
        ),
      );
    let ran = 0;
    const w = env.worker([{ kind: 'test.lapsed', maxAttempts: 1, run: async () => void ran++ }]);
    env.clock.advance(LEASE_MS);
    expect(await w.runOnce()).toBe(0);
    expect(ran).toBe(0);
    const job = await getJob(env.db, id);
    expect(job?.state).toBe('dead');
    expect(job?.lastError).toContain('dead stopped before finishing attempt 1');
    expect(await env.db.selectFrom('alerts').select('code').execute()).toEqual([{ code: 'job_dead' }]);
  });

  it('makes one unit per period however many workers enqueue it', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    const runs: string[] = [];
    const def = (name: string): JobDefinition => ({
      kind: 'test.periodic',
      run: async () => void runs.push(name),
    });
    const periodic = [{ kind: 'test.periodic', everyMs: 60_000 }] as never[];
    const a = env.worker([def('a')], { workerId: 'a' }, periodic);
    const b = env.worker([def('b')], { workerId: 'b' }, periodic);
    await Promise.all([a.runOnce(), b.runOnce()]);
    await Promise.all([a.runOnce(), b.runOnce()]);
    expect(runs).toHaveLength(1);
    env.clock.advance(60_000);
    await Promise.all([b.runOnce(), a.runOnce()]);
    expect(runs).toHaveLength(2);
    const period = Math.floor(env.clock.now() / 60_000);
    expect(await getJobByKey(env.db, `test.periodic@${period}`)).toMatchObject({ state: 'done' });
    expect(
      await insertJob(env.db, { kind: 'test.periodic', uniqueKey: `test.periodic@${period}` }, 0),
    ).toBeNull();
  });

  it('does not start a periodic pass while the previous one runs', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const runs: string[] = [];
    const periodic = [{ kind: 'test.pass', everyMs: 1_000 }] as never[];
    const a = env.worker(
      [
        {
          kind: 'test.pass',
          run: async () => {
            runs.push('a');
            started();
            await held;
          },
        },
      ],
      { workerId: 'a' },
      periodic,
    );
    const b = env.worker(
      [{ kind: 'test.pass', run: async () => void runs.push('b') }],
      { workerId: 'b' },
      periodic,
    );
    const first = a.runOnce();
    await running;
    env.clock.advance(1_000);
    expect(await b.runOnce()).toBe(0);
    release();
    await first;
    expect(await b.runOnce()).toBe(1);
    expect(runs).toEqual(['a', 'b']);
  });

  it('wakes a waiting worker when a unit is enqueued', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    let done!: (payload: unknown) => void;
    const ran = new Promise((r) => (done = r));
    // The poll interval is far longer than the test: only the wake-up can start the unit.
    const w = env.worker([{ kind: 'test.wake', run: async (p) => done(p) }], { pollMs: 3_600_000 });
    w.start();
    await w.runOnce();
    await env.db
      .transaction()
      .execute((trx) => enqueueJob(trx, env.notifier, { kind: 'test.wake', payload: { hello: 1 } }, 0));
    expect(await ran).toEqual({ hello: 1 });
  });

  it('gives the event loop back between units while periodic work keeps coming due', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    // Each pass outlasts its period, so the next one is due as it ends. On SQLite, where no
    // query waits for I/O, a worker claiming the next unit straight from the end of the last
    // never let a callback run in between: a server whose reconciliation ran late answered
    // no request at all.
    let runs = 0;
    let between: number | null = null;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const w = env.worker(
      [
        {
          kind: 'test.busy',
          run: async () => {
            runs++;
            if (runs === 1) setImmediate(() => (between = runs));
            if (runs < 30) env.clock.advance(1_000);
            else finished();
          },
        },
      ],
      { pollMs: 3_600_000 },
      [{ kind: 'test.busy', everyMs: 1_000 }] as never[],
    );
    w.start();
    await done;
    expect(between, 'a callback queued by the first pass ran before the last').not.toBeNull();
    expect(between).toBeLessThan(30);
  });

  it('gives unfinished units back when stopping', async (t) => {
    const env = await setup();
    if (!env) return t.skip();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const w = env.worker([
      {
        kind: 'test.stop',
        run: (_p, ctx) =>
          new Promise<void>((_resolve, reject) => {
            started();
            ctx.signal.addEventListener('abort', () => reject(new Error('stopping')));
          }),
      },
    ]);
    const id = (await enqueueJob(env.db, env.notifier, { kind: 'test.stop' }, env.clock.now()))!;
    w.start();
    await running;
    await w.stop();
    expect(await getJob(env.db, id)).toMatchObject({ state: 'queued', attempts: 0 });
  });
});
