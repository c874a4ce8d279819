import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.js';
import { isUniqueViolation } from './database.js';

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

/**
 * Opens a transaction at the edge of a use case. A unique-constraint race with another
 * replica (two first sessions for a new account) or a PostgreSQL deadlock is retried: the
 * retry sees the winner's rows and decides again.
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>, retries = 2): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const callbacks: Array<() => void> = [];
    try {
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
