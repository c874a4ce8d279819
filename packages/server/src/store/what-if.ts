/** What the what-if replay reads: a master's recorded signals and the copy orders they produced. */
import type { Db } from './schema.js';

/** The master's signals received in [from, to], in the order the gateway accepted them. */
export const signalsBetween = (db: Db, masterAccountId: string, from: number, to: number) =>
  db
    .selectFrom('signals')
    .select([
      'signal_id',
      'type',
      'master_position_id',
      'symbol',
      'side',
      'volume',
      'remaining_volume',
      'price',
      'sl',
      'tp',
      'magic',
      'occurred_at',
      'received_at',
    ])
    .where('master_account_id', '=', masterAccountId)
    // The replay copies positions; the master's pending orders are outside it.
    .where('type', 'like', 'position.%')
    .where('received_at', '>=', from)
    .where('received_at', '<=', to)
    .orderBy('received_at')
    .orderBy('signal_id')
    .execute();

/** The copy orders one subscription got from the master's signals received in [from, to]. */
export const signalOrdersBetween = (
  db: Db,
  groupId: string,
  followerAccountId: string,
  from: number,
  to: number,
) =>
  db
    .selectFrom('copy_orders as o')
    .innerJoin('signals as s', 's.signal_id', 'o.signal_id')
    .select([
      'o.signal_id',
      's.received_at',
      'o.master_position_id',
      'o.kind',
      'o.status',
      'o.reason',
      'o.symbol',
      'o.side',
      'o.volume',
    ])
    .where('o.group_id', '=', groupId)
    .where('o.follower_account_id', '=', followerAccountId)
    .where('o.origin', '=', 'signal')
    .where('s.type', 'like', 'position.%')
    .where('s.received_at', '>=', from)
    .where('s.received_at', '<=', to)
    .orderBy('s.received_at')
    .orderBy('o.signal_id')
    .execute();
