/**
 * The jobs table: every deferred or periodic unit of work, claimed by one process at a time.
 *
 * Terms:
 * - **job** — one unit of work of a **kind** (`webhook.deliver`, `sessions.sweep`, …) with a
 *   JSON payload. A **unique key** makes enqueueing idempotent: a key given twice is one job
 *   (periodic units use `<kind>@<period number>`).
 * - **state** — `queued` (waiting for `run_at`) → `running` (claimed) → `done`, or back to
 *   `queued` with a back-off after a failure, or `dead` once `max_attempts` claims failed.
 * - **claim** — marks a due job `running`, counts an attempt and gives the claimer a **lease**
 *   until `lease_expires_at`. The claimer renews the lease while it works. A running job whose
 *   lease lapsed (its claimer died) is due again: the next claim takes it over.
 * - **fence** — `(locked_by, attempts)` of one claim. Completing, failing or renewing checks
 *   it, so a claimer that lost its lease cannot overwrite the work of the one that took over.
 *
 * PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or
 * take the same row. SQLite's transactions begin IMMEDIATE (see database.ts): the select and
 * the update of a claim hold the write lock together, across processes.
 */
import type { Dialect } from './database.js';
import { newId } from './ids.js';
import type { Db, JobsTable } from './schema.js';

export const JOB_STATES = ['queued', 'running', 'done', 'dead'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface Job {
  readonly jobId: string;
  readonly kind: string;
  readonly payload: unknown;
  readonly uniqueKey: string | null;
  readonly state: JobState;
  readonly runAt: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly lockedBy: string | null;
  readonly leaseExpiresAt: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly finishedAt: number | null;
}

/** The fence of one claim: only its holder may complete, fail or renew the job. */
export interface Claim {
  readonly jobId: string;
  readonly lockedBy: string;
  readonly attempts: number;
}

export interface NewJob {
  kind: string;
  payload?: unknown;
  uniqueKey?: string;
  /** Not before this time (default: now). */
  runAt?: number;
  maxAttempts?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

const isJobState = (s: string): s is JobState => (JOB_STATES as readonly string[]).includes(s);

function toJob(row: JobsTable): Job {
  if (!isJobState(row.state)) throw new Error(`job ${row.job_id} has an unknown state ${row.state}`);
  return {
    jobId: row.job_id,
    kind: row.kind,
    payload: JSON.parse(row.payload) as unknown,
    uniqueKey: row.unique_key,
    state: row.state,
    runAt: Number(row.run_at),
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lockedBy: row.locked_by,
    leaseExpiresAt: row.lease_expires_at === null ? null : Number(row.lease_expires_at),
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
  };
}

/** Adds a job; returns its id, or null when a job with the same unique key exists already. */
export async function insertJob(db: Db, job: NewJob, now: number): Promise<string | null> {
  const jobId = newId('job');
  const row = await db
    .insertInto('jobs')
    .values({
      job_id: jobId,
      kind: job.kind,
      payload: JSON.stringify(job.payload ?? {}),
      unique_key: job.uniqueKey ?? null,
      state: 'queued',
      run_at: job.runAt ?? now,
      attempts: 0,
      max_attempts: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      locked_by: null,
      lease_expires_at: null,
      last_error: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
    })
    .onConflict((oc) => oc.column('unique_key').doNothing())
    .returning('job_id')
    .executeTakeFirst();
  return row?.job_id ?? null;
}

export async function getJob(db: Db, jobId: string): Promise<Job | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  return row ? toJob(row) : undefined;
}

export async function getJobByKey(db: Db, uniqueKey: string): Promise<Job | undefined> {
  const row = await db.selectFrom('jobs').selectAll().where('unique_key', '=', uniqueKey).executeTakeFirst();
  return row ? toJob(row) : undefined;
}

/**
 * Running jobs of `kinds` whose lease lapsed on their last allowed attempt: their claimers
 * died every time. Locked for the caller's transaction, which marks them dead.
 */
export async function lockLapsedLastAttempts(
  trx: Db,
  dialect: Dialect,
  kinds: readonly string[],
  now: number,
  limit: number,
): Promise<Job[]> {
  if (kinds.length === 0) return [];
  let q = trx
    .selectFrom('jobs')
    .selectAll()
    .where('kind', 'in', kinds)
    .where('state', '=', 'running')
    .where('lease_expires_at', '<=', now)
    .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
    .limit(limit);
  if (dialect === 'postgres') q = q.forUpdate().skipLocked();
  return (await q.execute()).map(toJob);
}

/**
 * Claims up to `limit` due jobs of `kinds` for `workerId`: queued ones whose time has come,
 * and running ones whose lease lapsed (taken over). Call inside a transaction.
 */
export async function claimDueJobs(
  trx: Db,
  dialect: Dialect,
  claim: {
    kinds: readonly string[];
    workerId: string;
    limit: number;
    leaseMs: number;
    /** Kinds of which one unit at most runs at a time (periodic passes must not overlap). */
    exclusiveKinds?: readonly string[];
  },
  now: number,
): Promise<Job[]> {
  if (claim.kinds.length === 0 || claim.limit <= 0) return [];
  const exclusive = claim.exclusiveKinds ?? [];
  let q = trx
    .selectFrom('jobs')
    .select(['job_id', 'kind'])
    .where('kind', 'in', claim.kinds)
    .where((eb) =>
      eb.or([
        eb.and([eb('state', '=', 'queued'), eb('run_at', '<=', now)]),
        eb.and([
          eb('state', '=', 'running'),
          eb('lease_expires_at', '<=', now),
          eb('attempts', '<', eb.ref('max_attempts')),
        ]),
      ]),
    )
    .orderBy('run_at')
    .orderBy('job_id')
    .limit(claim.limit);
  if (exclusive.length > 0)
    q = q.where((eb) =>
      eb.or([
        eb('kind', 'not in', exclusive),
        eb.not(
          eb.exists(
            eb
              .selectFrom('jobs as r')
              .select('r.job_id')
              .whereRef('r.kind', '=', 'jobs.kind')
              .where('r.state', '=', 'running')
              .where('r.lease_expires_at', '>', now),
          ),
        ),
      ]),
    );
  if (dialect === 'postgres') q = q.forUpdate().skipLocked();
  const taken = new Set<string>();
  const ids: string[] = [];
  for (const r of await q.execute()) {
    if (exclusive.includes(r.kind)) {
      if (taken.has(r.kind)) continue;
      taken.add(r.kind);
    }
    ids.push(r.job_id);
  }
  if (ids.length === 0) return [];
  const rows = await trx
    .updateTable('jobs')
    .set((eb) => ({
      state: 'running',
      locked_by: claim.workerId,
      lease_expires_at: now + claim.leaseMs,
      attempts: eb('attempts', '+', 1),
      updated_at: now,
    }))
    .where('job_id', 'in', ids)
    .returningAll()
    .execute();
  return rows.map(toJob).sort((a, b) => a.runAt - b.runAt || a.jobId.localeCompare(b.jobId));
}

const fenced = (claim: Claim) =>
  ({ jobId: claim.jobId, lockedBy: claim.lockedBy, attempts: claim.attempts }) as const;

/** True while `claim` still holds the job (on PostgreSQL the row stays locked until the transaction ends). */
export async function holdsJob(trx: Db, dialect: Dialect, claim: Claim): Promise<boolean> {
  const f = fenced(claim);
  let q = trx
    .selectFrom('jobs')
    .select('job_id')
    .where('job_id', '=', f.jobId)
    .where('state', '=', 'running')
    .where('locked_by', '=', f.lockedBy)
    .where('attempts', '=', f.attempts);
  if (dialect === 'postgres') q = q.forUpdate();
  return (await q.executeTakeFirst()) !== undefined;
}

async function updateHeld(db: Db, claim: Claim, patch: Partial<JobsTable>): Promise<boolean> {
  const f = fenced(claim);
  const res = await db
    .updateTable('jobs')
    .set(patch)
    .where('job_id', '=', f.jobId)
    .where('state', '=', 'running')
    .where('locked_by', '=', f.lockedBy)
    .where('attempts', '=', f.attempts)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Marks the claimed job done; false when the claim had lost the job. */
export const completeJob = (db: Db, claim: Claim, now: number): Promise<boolean> =>
  updateHeld(db, claim, {
    state: 'done',
    lease_expires_at: null,
    last_error: null,
    updated_at: now,
    finished_at: now,
  });

/** Queues the claimed job again at `runAt` after a failure; false when the claim had lost the job. */
export const retryJob = (db: Db, claim: Claim, error: string, runAt: number, now: number): Promise<boolean> =>
  updateHeld(db, claim, {
    state: 'queued',
    run_at: runAt,
    lease_expires_at: null,
    last_error: error,
    updated_at: now,
  });

/** Gives a claimed job back unharmed (the worker is stopping): queued at once, the attempt not counted. */
export async function releaseJob(db: Db, claim: Claim, now: number): Promise<boolean> {
  return updateHeld(db, claim, {
    state: 'queued',
    run_at: now,
    attempts: claim.attempts - 1,
    lease_expires_at: null,
    updated_at: now,
  });
}

/** Marks a job dead (its attempts are spent); `claim` fences it when given. */
export async function buryJob(
  db: Db,
  job: Claim | { jobId: string },
  error: string,
  now: number,
): Promise<boolean> {
  const patch = {
    state: 'dead',
    lease_expires_at: null,
    last_error: error,
    updated_at: now,
    finished_at: now,
  } satisfies Partial<JobsTable>;
  if ('lockedBy' in job) return updateHeld(db, job, patch);
  const res = await db
    .updateTable('jobs')
    .set(patch)
    .where('job_id', '=', job.jobId)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** Pushes the lease of a job still held by `claim` to `until`; false when it was lost. */
export const renewLease = (db: Db, claim: Claim, until: number, now: number): Promise<boolean> =>
  updateHeld(db, claim, { lease_expires_at: until, updated_at: now });

/** Deletes up to `limit` jobs finished before `before` in `state`; returns how many. */
export async function deleteFinishedJobs(
  db: Db,
  state: 'done' | 'dead',
  before: number,
  limit: number,
): Promise<number> {
  const res = await db
    .deleteFrom('jobs')
    .where(
      'job_id',
      'in',
      db
        .selectFrom('jobs')
        .select('job_id')
        .where('state', '=', state)
        .where('finished_at', '<', before)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
