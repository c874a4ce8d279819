/**
 * Fan-outs written in batches. A signal whose subscriptions do not fit in one batch gets a row
 * here; each further batch moves its cursor in the transaction that writes the batch's copy
 * orders, so a crash between batches resumes after the last one committed. The last batch
 * deletes the row: a row is a fan-out still running.
 *
 * Terms:
 * - **seq** — the order of a master's fan-outs: the next batch is always taken from the
 *   earliest running one, so a later signal reaches no follower before an earlier one.
 * - **cursor** — `(after_group_id, after_follower_id)`: the last subscription written, in the
 *   order `subscriptionsOfMaster` reads them; null before the first.
 */
import { sql } from 'kysely';
import type { Db, FanoutsTable } from './schema.js';

export type FanoutRow = FanoutsTable;

/** A subscription's place in the fan-out order. */
export interface SubscriptionCursor {
  groupId: string;
  followerAccountId: string;
}

export const cursorOf = (row: FanoutRow): SubscriptionCursor | null =>
  row.after_group_id !== null && row.after_follower_id !== null
    ? { groupId: row.after_group_id, followerAccountId: row.after_follower_id }
    : null;

/** Whether a fan-out of this master still has subscriptions to write: a new signal waits behind it. */
export async function hasRunningFanout(db: Db, masterAccountId: string): Promise<boolean> {
  const row = await db
    .selectFrom('fanouts')
    .select('signal_id')
    .where('master_account_id', '=', masterAccountId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Records a fan-out to continue; call under the master's lock, which orders `seq`. */
export async function insertFanout(
  db: Db,
  f: {
    signalId: string;
    masterAccountId: string;
    after: SubscriptionCursor | null;
    batches: number;
    orders: number;
    traceContext: string | null;
  },
  now: number,
): Promise<void> {
  await db
    .insertInto('fanouts')
    .values((eb) => ({
      signal_id: f.signalId,
      master_account_id: f.masterAccountId,
      seq: eb
        .selectFrom('fanouts')
        .select(sql<number>`coalesce(max(seq), 0) + 1`.as('next'))
        .where('master_account_id', '=', f.masterAccountId),
      after_group_id: f.after?.groupId ?? null,
      after_follower_id: f.after?.followerAccountId ?? null,
      batches: f.batches,
      orders: f.orders,
      trace_context: f.traceContext,
      created_at: now,
      updated_at: now,
    }))
    .execute();
}

/** The master's earliest fan-out still running; read under the master's lock. */
export async function nextFanout(db: Db, masterAccountId: string): Promise<FanoutRow | undefined> {
  return db
    .selectFrom('fanouts')
    .selectAll()
    .where('master_account_id', '=', masterAccountId)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
}

export async function getFanout(db: Db, signalId: string): Promise<FanoutRow | undefined> {
  return db.selectFrom('fanouts').selectAll().where('signal_id', '=', signalId).executeTakeFirst();
}

/** Moves the cursor past one more batch; the last one (`done`) ends the fan-out. */
export async function advanceFanout(
  db: Db,
  signalId: string,
  step: { after: SubscriptionCursor | null; orders: number; done: boolean },
  now: number,
): Promise<void> {
  if (step.done) {
    await db.deleteFrom('fanouts').where('signal_id', '=', signalId).execute();
    return;
  }
  await db
    .updateTable('fanouts')
    .set((eb) => ({
      ...(step.after
        ? { after_group_id: step.after.groupId, after_follower_id: step.after.followerAccountId }
        : {}),
      batches: eb('batches', '+', 1),
      orders: eb('orders', '+', step.orders),
      updated_at: now,
    }))
    .where('signal_id', '=', signalId)
    .execute();
}

/** Of these copy-order ids, the ones already written (a batch run again writes only the rest). */
export async function existingOrderIds(db: Db, orderIds: readonly string[]): Promise<Set<string>> {
  if (orderIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('copy_orders')
    .select('order_id')
    .where('order_id', 'in', [...orderIds])
    .execute();
  return new Set(rows.map((r) => r.order_id));
}
