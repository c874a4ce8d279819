/** The append-only audit log. */
import { listNewestFirst, type PageInput } from './pagination.js';
import type { AuditLogTable, Db } from './schema.js';

/** Appends one row; returns false when a row of the same bus message is already there. */
export async function insertAudit(db: Db, row: AuditLogTable): Promise<boolean> {
  const res = await db
    .insertInto('audit_log')
    .values(row)
    .onConflict((oc) => oc.column('message_id').doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 1n) > 0;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  targetId?: string | undefined;
}

/** The audit log newest first, one page at a time. */
export function pageAudit<V>(db: Db, input: PageInput & AuditFilter, view: (row: AuditLogTable) => V) {
  let q = db.selectFrom('audit_log').selectAll();
  if (input.actor) q = q.where('actor', '=', input.actor);
  if (input.action) q = q.where('action', '=', input.action);
  if (input.targetId) q = q.where('target_id', '=', input.targetId);
  return listNewestFirst(
    q,
    { time: 'at', id: 'audit_id', key: (r) => ({ t: r.at, id: r.audit_id }) },
    input,
    view,
  );
}

export async function countAuditBetween(db: Db, from: number, to: number): Promise<number> {
  const row = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('at', '>=', from)
    .where('at', '<=', to)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Up to `limit` entries between `from` and `to`, oldest first, after `(at, id)` when given. */
export async function auditBetween(
  db: Db,
  from: number,
  to: number,
  after: { at: number; id: string } | null,
  limit: number,
): Promise<AuditLogTable[]> {
  let q = db.selectFrom('audit_log').selectAll().where('at', '>=', from).where('at', '<=', to);
  if (after)
    q = q.where((eb) =>
      eb.or([eb('at', '>', after.at), eb.and([eb('at', '=', after.at), eb('audit_id', '>', after.id)])]),
    );
  return q.orderBy('at').orderBy('audit_id').limit(limit).execute();
}
