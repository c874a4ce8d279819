/**
 * Two worker processes share one jobs table. Every unit is done exactly once; one process is
 * SIGKILLed while it holds a unit, and the other takes that unit over when its lease lapses.
 * PostgreSQL claims with SKIP LOCKED; SQLite with IMMEDIATE transactions on the shared file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  dialects,
  dropTarget,
  freshTarget,
  urlWithSchema,
} from '../../packages/server/src/testing/databases.js';
import {
  migrate,
  openDatabase,
  type Database,
  type DatabaseTarget,
} from '../../packages/server/src/store/database.js';
import { insertJob } from '../../packages/server/src/store/jobs.js';
import { ROOT } from './support.js';

const FIXTURE = path.join(ROOT, 'tests/e2e/fixtures/job-worker.mjs');
const UNITS = 120;
const LEASE_MS = 1500;

interface Worker {
  id: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(id: string, target: DatabaseTarget): Promise<Worker> {
  // The spawned process reads the test schema from the connection URL's options.
  const forChild =
    target.dialect === 'postgres' ? { dialect: 'postgres', url: urlWithSchema(target), poolSize: 4 } : target;
  const child = spawn(process.execPath, [FIXTURE, id], {
    env: { ...process.env, JOBS_TARGET: JSON.stringify(forChild), JOBS_LEASE_MS: String(LEASE_MS) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      output.push(c.toString());
      if (output.join('').includes('ready')) resolve({ id, child, output, exited });
    });
    void exited.then(({ code }) =>
      reject(new Error(`worker ${id} exited with ${code}:\n${output.join('')}`)),
    );
  });
}

/** Re-reads `probe` until it returns a value (the processes work in real time). */
async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(dialects)('two worker processes on %s', (dialect) => {
  let database: Database | undefined;
  let target: DatabaseTarget | null = null;
  const workers: Worker[] = [];

  afterEach(async () => {
    for (const w of workers.splice(0)) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
      await w.exited;
    }
    await database?.close();
    await dropTarget(target);
    database = undefined;
  });

  it('does each unit exactly once, and takes over the unit of a SIGKILLed claimer', async (t) => {
    target = await freshTarget(dialect);
    if (!target) return t.skip();
    database = await openDatabase(target);
    await migrate(database);
    const db = database.db;
    const now = Date.now();
    const hangId = (await insertJob(db, { kind: 'test.hang', maxAttempts: 3 }, now))!;
    for (let i = 0; i < UNITS / 2; i++) await insertJob(db, { kind: 'test.effect', payload: { i } }, now);

    workers.push(await startWorker('one', target), await startWorker('two', target));

    const hanging = await until(
      async () =>
        (await db.selectFrom('kv').select('value').where('key', '=', `hanging:${hangId}`).executeTakeFirst())
          ?.value,
      'a worker to start the hanging unit',
    );
    const victim = workers.find((w) => w.id === hanging)!;
    const survivor = workers.find((w) => w.id !== hanging)!;
    victim.child.kill('SIGKILL');
    const gone = await victim.exited;
    expect(gone.signal, `${JSON.stringify(gone)} ${victim.output.join('')}`).toBe('SIGKILL');

    // More work arrives after the loss; the survivor does it too.
    for (let i = UNITS / 2; i < UNITS; i++)
      await insertJob(db, { kind: 'test.effect', payload: { i } }, Date.now());

    await until(async () => {
      const open = await db.selectFrom('jobs').select('job_id').where('state', '!=', 'done').execute();
      return open.length === 0 ? true : undefined;
    }, 'every unit to be done');

    const jobs = await db.selectFrom('jobs').selectAll().execute();
    expect(jobs).toHaveLength(UNITS + 1);
    const effects = await db.selectFrom('kv').select('key').where('key', 'like', 'effect:%').execute();
    const perJob = new Map<string, string[]>();
    for (const { key } of effects) {
      const [, jobId, worker, attempt] = key.split(':');
      perJob.set(jobId!, [...(perJob.get(jobId!) ?? []), `${worker}#${attempt}`]);
    }
    // Exactly one committed effect per unit, written by the claimer that completed it.
    expect(perJob.size).toBe(UNITS + 1);
    for (const job of jobs) {
      expect(perJob.get(job.job_id)).toEqual([`${job.locked_by}#${job.attempts}`]);
    }
    const taken = jobs.find((j) => j.job_id === hangId)!;
    expect(taken).toMatchObject({ state: 'done', attempts: 2, locked_by: survivor.id });
    // No unit was given up on or alerted about.
    expect(await db.selectFrom('alerts').select('code').execute()).toEqual([]);

    survivor.child.kill('SIGTERM');
    expect((await survivor.exited).code).toBe(0);
  }, 180_000);
});
