/**
 * The master's book as its signals tell it: written in the transaction that accepts each
 * signal, read when a follower joins late.
 */
import { sql } from 'kysely';
import type { Db, MasterPositionsTable, SignalsTable } from './schema.js';

export type MasterPositionRow = MasterPositionsTable;

/** Folds one accepted signal into the master's book. */
export async function applyMasterSignal(
  db: Db,
  s: Pick<
    SignalsTable,
    | 'master_account_id'
    | 'master_position_id'
    | 'type'
    | 'symbol'
    | 'side'
    | 'volume'
    | 'remaining_volume'
    | 'price'
    | 'sl'
    | 'tp'
    | 'magic'
    | 'occurred_at'
    | 'received_at'
  >,
  now: number,
): Promise<void> {
  switch (s.type) {
    case 'position.opened':
      await db
        .insertInto('master_positions')
        .values({
          master_account_id: s.master_account_id,
          master_position_id: s.master_position_id,
          symbol: s.symbol,
          side: s.side,
          volume: s.volume,
          open_price: s.price,
          sl: s.sl,
          tp: s.tp,
          magic: s.magic,
          opened_at: s.occurred_at,
          received_at: s.received_at,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['master_account_id', 'master_position_id']).doNothing())
        .execute();
      return;
    case 'position.modified':
      await db
        .updateTable('master_positions')
        .set({ sl: s.sl, tp: s.tp, updated_at: now })
        .where('master_account_id', '=', s.master_account_id)
        .where('master_position_id', '=', s.master_position_id)
        .execute();
      return;
    case 'position.partially_closed':
      await db
        .updateTable('master_positions')
        .set({
          // Without the master's remaining volume, its closed volume comes off what it held.
          volume:
            s.remaining_volume ??
            sql<number>`case when volume > ${s.volume} then volume - ${s.volume} else 0 end`,
          updated_at: now,
        })
        .where('master_account_id', '=', s.master_account_id)
        .where('master_position_id', '=', s.master_position_id)
        .execute();
      return;
    case 'position.closed':
      await db
        .deleteFrom('master_positions')
        .where('master_account_id', '=', s.master_account_id)
        .where('master_position_id', '=', s.master_position_id)
        .execute();
      return;
    default:
      return;
  }
}

/** The positions the master holds, oldest first. */
export function masterPositionsOf(db: Db, masterAccountId: string): Promise<MasterPositionRow[]> {
  return db
    .selectFrom('master_positions')
    .selectAll()
    .where('master_account_id', '=', masterAccountId)
    .orderBy('opened_at')
    .orderBy('master_position_id')
    .execute();
}

/** Whether the master still holds this position (a closed one is gone from its book). */
export async function masterHolds(
  db: Db,
  masterAccountId: string,
  masterPositionId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('master_positions')
    .select('master_position_id')
    .where('master_account_id', '=', masterAccountId)
    .where('master_position_id', '=', masterPositionId)
    .executeTakeFirst();
  return row !== undefined;
}

/** The symbols the master holds or traded since `since`, for the symbol resolution view. */
export async function masterSymbolsSince(db: Db, masterAccountId: string, since: number): Promise<string[]> {
  const [held, traded] = await Promise.all([
    db
      .selectFrom('master_positions')
      .select('symbol')
      .distinct()
      .where('master_account_id', '=', masterAccountId)
      .execute(),
    db
      .selectFrom('signals')
      .select('symbol')
      .distinct()
      .where('master_account_id', '=', masterAccountId)
      .where('received_at', '>=', since)
      .execute(),
  ]);
  return [...new Set([...held, ...traded].map((r) => r.symbol))];
}
