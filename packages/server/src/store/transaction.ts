import { AsyncResource } from 'node:async_hooks';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from './schema.js';

/** True when the error is a unique-constraint violation on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** PostgreSQL gave up on one of two transactions waiting on each other; running it again is safe. */
const isTransientConflict = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
};

export interface Tx {
  readonly trx: Transaction<DB>;
  /** Runs once the transaction has committed (wake-ups, metrics); never on rollback. */
  afterCommit(fn: () => void): void;
}

const afterCommitHooks = new WeakMap<object, (fn: () => void) => void>();

/**
 * The after-commit hook of a transaction opened by `inTransaction`, for code handed only its
 * `trx` (the PostgreSQL notifier sends wake-ups once the writes are visible); undefined for
 * a plain connection or a transaction opened elsewhere.
 */
export const afterCommitOf = (db: object): ((fn: () => void) => void) | undefined => afterCommitHooks.get(db);

interface Job {
  readonly fn: (tx: Tx) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit for SQLite's one connection. Use cases queue for it anyway (one writer at a
 * time); instead of a transaction and a commit each, the use cases waiting when the
 * connection frees run one after another in one transaction, each inside its own savepoint,
 * and share one commit. A use case that fails is rolled back to its savepoint alone; the
 * others' writes stand. Each caller is answered only once the shared commit is done, so
 * nothing is acknowledged before it is durable; after-commit hooks run after it, in order.
 *
 * What it saves is the commit: each one writes the pages its transaction dirtied to the WAL,
 * and the many small transactions of followers' acknowledgements and execution reports dirty
 * the same few index pages over and over.
 */
export class GroupCommit {
  private readonly queue: Job[] = [];
  private running = false;
  /** Transactions committed, and use cases run in them (for tests and metrics). */
  readonly stats = { commits: 0, useCases: 0 };

  constructor(
    private readonly db: Kysely<DB>,
    private readonly maxBatch = 64,
  ) {}

  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Each use case runs in its caller's async context (traces, request logs), not the batch's.
      this.queue.push({ fn: AsyncResource.bind(fn), resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        await this.batch(this.queue.splice(0, this.maxBatch));
        // On SQLite no query waits for I/O, so batch after batch would run in microtasks alone
        // and answer no request meanwhile: the event loop gets a turn between batches (and the
        // requests it brings join the next one).
        if (this.queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.running = false;
    }
  }

  private async batch(jobs: Job[]): Promise<void> {
    const done: Array<{ job: Job; result: unknown; callbacks: Array<() => void> }> = [];
    let next = 0;
    try {
      await this.db.transaction().execute(async (trx) => {
        for (; next < jobs.length; next++) {
          const job = jobs[next]!;
          const callbacks: Array<() => void> = [];
          const afterCommit = (cb: () => void) => void callbacks.push(AsyncResource.bind(cb));
          afterCommitHooks.set(trx, afterCommit);
          await sql`savepoint use_case`.execute(trx);
          let result: unknown;
          try {
            result = await job.fn({ trx, afterCommit });
          } catch (err) {
            try {
              await sql`rollback to use_case`.execute(trx);
              await sql`release use_case`.execute(trx);
            } catch {
              // SQLite ended the whole transaction itself (a full disk): the use case's own
              // error ends the batch, and is what everyone in it is told.
              throw err;
            }
            job.reject(err);
            continue;
          }
          await sql`release use_case`.execute(trx);
          done.push({ job, result, callbacks });
        }
      });
    } catch (err) {
      // The shared transaction failed: nothing of it was committed. The use case that was
      // running is told so with the others done before it; the rest are run again.
      for (const d of done) d.job.reject(err);
      if (next < jobs.length) jobs[next]!.reject(err);
      this.queue.unshift(...jobs.slice(next + 1));
      return;
    }
    this.stats.commits++;
    this.stats.useCases += done.length;
    for (const d of done) {
      for (const cb of d.callbacks) cb();
      d.job.resolve(d.result);
    }
  }
}

const groupCommits = new WeakMap<object, GroupCommit>();

/** The group commit of a (SQLite) database, if it has one. */
export const groupCommitOf = (db: object): GroupCommit | undefined => groupCommits.get(db);

/** Lets `inTransaction` on this (SQLite) database share commits between waiting use cases. */
export function enableGroupCommit(db: Kysely<DB>): GroupCommit {
  const group = new GroupCommit(db);
  groupCommits.set(db, group);
  return group;
}

/**
 * Opens a transaction at the edge of a use case. A unique-constraint race with another
 * replica (two first sessions for a new account) or a PostgreSQL deadlock is retried: the
 * retry sees the winner's rows and decides again. On SQLite the transaction may be shared
 * with other use cases (`GroupCommit`); each still commits or rolls back as a whole.
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>, retries = 2): Promise<T> {
  const group = groupCommits.get(db);
  for (let attempt = 0; ; attempt++) {
    try {
      if (group) return await group.run(fn);
      const callbacks: Array<() => void> = [];
      const afterCommit = (cb: () => void) => void callbacks.push(cb);
      const result = await db.transaction().execute((trx) => {
        afterCommitHooks.set(trx, afterCommit);
        return fn({ trx, afterCommit });
      });
      for (const cb of callbacks) cb();
      return result;
    } catch (err) {
      if (attempt < retries && (isUniqueViolation(err) || isTransientConflict(err))) continue;
      throw err;
    }
  }
}
