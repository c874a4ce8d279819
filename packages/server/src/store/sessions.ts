import { isSessionState } from '@kopitra/engine';
import type { SessionState } from '@kopitra/engine';
import { listNewestFirst, type PageInput } from './pagination.js';
import type { Db, SessionsTable } from './schema.js';

export type SessionRow = SessionsTable;
const LIVE: SessionState[] = ['pending', 'authenticated'];

export async function getSession(db: Db, sessionId: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
}

export async function findLiveSession(db: Db, accountId: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('status', 'in', LIVE)
    .executeTakeFirst();
}

/** The authenticated session with a running lease of each account that has one. */
export async function liveSessions(db: Db, accountIds: string[], now: number): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('sessions')
    .select(['account_id', 'session_id'])
    .where('account_id', 'in', accountIds)
    .where('status', '=', 'authenticated')
    .where('lease_expires_at', '>', now)
    .execute();
  return new Map(rows.map((r) => [r.account_id, r.session_id]));
}

export async function insertSession(db: Db, row: SessionRow): Promise<void> {
  await db.insertInto('sessions').values(row).execute();
}

/** Moves a session to a new state only if it is still in one of `from`; returns the updated row or undefined. */
export async function transitionSession(
  db: Db,
  sessionId: string,
  from: readonly SessionState[],
  to: SessionState,
  reason: string,
  now: number,
): Promise<SessionRow | undefined> {
  const ended = to !== 'pending' && to !== 'authenticated';
  return db
    .updateTable('sessions')
    .set({
      status: to,
      status_reason: reason,
      ...(ended ? { ended_at: now } : {}),
      ...(to === 'authenticated' ? { authenticated_at: now } : {}),
    })
    .where('session_id', '=', sessionId)
    .where('status', 'in', [...from])
    .returningAll()
    .executeTakeFirst();
}

export async function renewLease(
  db: Db,
  sessionId: string,
  leaseExpiresAt: number,
  now: number,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ lease_expires_at: leaseExpiresAt, lease_renewed_at: now })
    .where('session_id', '=', sessionId)
    .where('status', 'in', LIVE)
    .execute();
}

export async function liveSessionsWithLapsedLease(db: Db, now: number, limit = 500): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('status', 'in', LIVE)
    .where('lease_expires_at', '<=', now)
    .orderBy('lease_expires_at')
    .limit(limit)
    .execute();
}

export async function liveSessionsForKey(
  db: Db,
  accountId: string,
  fingerprint: string,
): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('key_fingerprint', '=', fingerprint)
    .where('status', 'in', LIVE)
    .execute();
}

/** Sessions newest first, one page at a time, optionally of one status or account. */
export const pageSessions = <V>(
  db: Db,
  input: PageInput & { status?: string | undefined; accountId?: string | undefined },
  view: (row: SessionRow) => V,
) => {
  const { status } = input;
  // A status that does not exist matches no session.
  if (status && !isSessionState(status)) return Promise.resolve({ items: [] as V[], nextCursor: null });
  let q = db.selectFrom('sessions').selectAll();
  if (status && isSessionState(status)) q = q.where('status', '=', status);
  if (input.accountId) q = q.where('account_id', '=', input.accountId);
  return listNewestFirst(
    q,
    { time: 'created_at', id: 'session_id', key: (r) => ({ t: r.created_at, id: r.session_id }) },
    input,
    view,
  );
};

export async function liveSessionsOf(db: Db, accountId: string): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('status', 'in', LIVE)
    .execute();
}

export async function latestSession(db: Db, accountId: string): Promise<SessionRow | undefined> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
