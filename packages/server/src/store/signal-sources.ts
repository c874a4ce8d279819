/** External signal sources: accounts whose signals arrive on `POST /api/signals/{accountId}`. */
import type { Db, SignalSourcesTable } from './schema.js';

export type SignalSourceRow = SignalSourcesTable;

export const getSignalSource = (db: Db, accountId: string): Promise<SignalSourceRow | undefined> =>
  db.selectFrom('signal_sources').selectAll().where('account_id', '=', accountId).executeTakeFirst();

/** Sets (or replaces) an account's sealed secret. */
export async function putSignalSource(db: Db, row: SignalSourceRow): Promise<void> {
  await db
    .insertInto('signal_sources')
    .values(row)
    .onConflict((oc) =>
      oc.column('account_id').doUpdateSet({
        secret_enc: row.secret_enc,
        rotated_by: row.rotated_by,
        rotated_at: row.rotated_at,
      }),
    )
    .execute();
}

export async function deleteSignalSource(db: Db, accountId: string): Promise<boolean> {
  const result = await db.deleteFrom('signal_sources').where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
