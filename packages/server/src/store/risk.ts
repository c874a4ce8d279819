/** Balance/equity history in minute buckets, and stop-outs. */
import { sql } from 'kysely';
import type { DrawdownWindow, RiskMetric, StopOut, StoredStopOut } from '@kopitra/engine';
import type { Db, StopOutsTable } from './schema.js';
import { newId } from './ids.js';
import { listNewestFirst, type PageInput } from './pagination.js';

export type StopOutRow = StopOutsTable;

export async function recordMetrics(
  db: Db,
  accountId: string,
  at: number,
  balance: number,
  equity: number,
): Promise<void> {
  const minute = at - (at % 60_000);
  await db
    .insertInto('account_metric_minutes')
    .values({ account_id: accountId, minute, balance, equity, peak_balance: balance, peak_equity: equity })
    .onConflict((oc) =>
      oc.columns(['account_id', 'minute']).doUpdateSet((eb) => ({
        balance,
        equity,
        // CASE rather than greatest()/max(): the same SQL on both dialects.
        peak_balance: sql<number>`case when ${eb.ref('account_metric_minutes.peak_balance')} > ${balance} then ${eb.ref('account_metric_minutes.peak_balance')} else ${balance} end`,
        peak_equity: sql<number>`case when ${eb.ref('account_metric_minutes.peak_equity')} > ${equity} then ${eb.ref('account_metric_minutes.peak_equity')} else ${equity} end`,
      })),
    )
    .execute();
}

/** The metric at `from` (the last bucket at or before it, else the first after), now, and its peak since. */
export async function drawdownWindow(
  db: Db,
  accountId: string,
  metric: RiskMetric,
  from: number,
  current: number,
): Promise<DrawdownWindow | null> {
  const value = metric === 'equity_drawdown' ? 'equity' : 'balance';
  const peak = metric === 'equity_drawdown' ? 'peak_equity' : 'peak_balance';
  const fromMinute = from - (from % 60_000);
  const before = await db
    .selectFrom('account_metric_minutes')
    .select([value])
    .where('account_id', '=', accountId)
    .where('minute', '<=', fromMinute)
    .orderBy('minute', 'desc')
    .limit(1)
    .executeTakeFirst();
  const after =
    before ??
    (await db
      .selectFrom('account_metric_minutes')
      .select([value])
      .where('account_id', '=', accountId)
      .where('minute', '>=', fromMinute)
      .orderBy('minute', 'asc')
      .limit(1)
      .executeTakeFirst());
  if (!after) return null;
  const max = await db
    .selectFrom('account_metric_minutes')
    .select((eb) => eb.fn.max(peak).as('peak'))
    .where('account_id', '=', accountId)
    .where('minute', '>=', fromMinute)
    .executeTakeFirst();
  return {
    start: Number((after as Record<string, number>)[value]),
    current,
    peak: max?.peak === null || max?.peak === undefined ? null : Number(max.peak),
  };
}

export async function stopOutsOf(db: Db, followerAccountId: string, groupId?: string): Promise<StopOutRow[]> {
  let q = db.selectFrom('stop_outs').selectAll().where('follower_account_id', '=', followerAccountId);
  if (groupId) q = q.where('group_id', '=', groupId);
  return q.orderBy('at').execute();
}

export async function activeStopOutsOf(db: Db, followerIds: string[]): Promise<StopOutRow[]> {
  if (followerIds.length === 0) return [];
  return db
    .selectFrom('stop_outs')
    .selectAll()
    .where('follower_account_id', 'in', followerIds)
    .where('reset_at', 'is', null)
    .execute();
}

export const toStored = (r: StopOutRow): StoredStopOut & { stopOutId: string } => ({
  stopOutId: r.stop_out_id,
  limitKey: r.limit_key,
  period: r.period as StoredStopOut['period'],
  metric: r.metric as RiskMetric,
  action: r.action as StoredStopOut['action'],
  at: Number(r.at),
  resetAt: r.reset_at === null ? null : Number(r.reset_at),
});

/** An operator's reset: opens resume and the limit's window restarts now. */
export async function resetStopOut(
  db: Db,
  stopOutId: string,
  by: string,
  now: number,
): Promise<StopOutRow | undefined> {
  return db
    .updateTable('stop_outs')
    .set({ reset_at: now, reset_by: by })
    .where('stop_out_id', '=', stopOutId)
    .where('reset_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Records a stop-out the risk guard decided. */
export async function insertStopOut(
  db: Db,
  s: StopOut,
  scope: { groupId: string; followerAccountId: string },
): Promise<void> {
  await db
    .insertInto('stop_outs')
    .values({
      stop_out_id: newId('stp'),
      group_id: scope.groupId,
      follower_account_id: scope.followerAccountId,
      limit_key: s.limitKey,
      period: s.period,
      metric: s.metric,
      action: s.action,
      details: JSON.stringify(s),
      at: s.at,
      reset_at: null,
      reset_by: null,
    })
    .execute();
}

export const getStopOut = (db: Db, stopOutId: string): Promise<StopOutRow | undefined> =>
  db.selectFrom('stop_outs').selectAll().where('stop_out_id', '=', stopOutId).executeTakeFirst();

/** Stop-outs newest first, one page at a time. */
export const pageStopOuts = <V>(db: Db, input: PageInput, view: (row: StopOutRow) => V) =>
  listNewestFirst(
    db.selectFrom('stop_outs').selectAll(),
    { time: 'at', id: 'stop_out_id', key: (r) => ({ t: r.at, id: r.stop_out_id }) },
    input,
    view,
  );
