import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.js';
import { isUniqueViolation } from './database.js';

export interface Tx {
  readonly trx: Transaction<DB>;
  /** Runs once the transaction has committed (wake-ups, metrics); never on rollback. */
  afterCommit(fn: () => void): void;
}

/**
 * Opens a transaction at the edge of a use case. A unique-constraint race with another
 * replica (two first sessions for a new account) is retried once: the retry sees the
 * winner's row and decides again.
 */
export async function inTransaction<T>(db: Kysely<DB>, fn: (tx: Tx) => Promise<T>, retries = 2): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const callbacks: Array<() => void> = [];
    try {
      const result = await db.transaction().execute((trx) => fn({ trx, afterCommit: (cb) => callbacks.push(cb) }));
      for (const cb of callbacks) cb();
      return result;
    } catch (err) {
      if (attempt < retries && isUniqueViolation(err)) continue;
      throw err;
    }
  }
}
