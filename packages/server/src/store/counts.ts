/** Headline counts for the console's first screen. */
import type { Db } from './schema.js';

export async function headlineCounts(db: Db, now: number, since: number) {
  const count = async (q: Promise<{ n: number | string | bigint }>) => Number((await q).n);
  const [accounts, sessionsOnline, pendingApprovals, openAlerts, groups, copyOrders24h, failedOrders24h] =
    await Promise.all([
      count(
        db
          .selectFrom('accounts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('sessions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'authenticated')
          .where('lease_expires_at', '>', now)
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('sessions')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'pending')
          .where('lease_expires_at', '>', now)
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('alerts')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('acked_at', 'is', null)
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('copy_groups')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('copy_orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('written_at', '>=', since)
          .executeTakeFirstOrThrow(),
      ),
      count(
        db
          .selectFrom('copy_orders')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('written_at', '>=', since)
          .where('status', 'in', ['rejected', 'failed', 'expired'])
          .executeTakeFirstOrThrow(),
      ),
    ]);
  return {
    accounts,
    sessionsOnline,
    pendingApprovals,
    openAlerts,
    groups,
    copyOrders24h,
    failedOrders24h,
  };
}
