import { sql } from 'kysely';
import { isoTime } from '@kopitra/contracts';
import type { OutboxEvent, OutboxEventType } from '@kopitra/contracts';
import type { Db, OutboxEventsTable } from './schema.js';
import { nextSequence } from './accounts.js';
import { columnsOf, insertMany, type BulkInsert } from './bulk.js';
import { newId } from './ids.js';

export type OutboxRow = OutboxEventsTable;

export const toOutboxEvent = (r: OutboxRow): OutboxEvent => ({
  eventId: r.event_id,
  sequence: Number(r.sequence),
  type: r.type as OutboxEventType,
  occurredAt: isoTime(r.occurred_at),
  payload: JSON.parse(r.payload) as Record<string, unknown>,
});

/** Queues an event for an account's EA with the account's next sequence. Call inside the transaction that causes it. */
export async function enqueueOutbox(
  db: Db,
  e: {
    accountId: string;
    type: OutboxEventType;
    payload: Record<string, unknown>;
    targetSessionId?: string | null;
    eventId?: string;
    traceContext?: string | null;
  },
  now: number,
): Promise<OutboxRow> {
  const sequence = await nextSequence(db, e.accountId);
  const row: OutboxRow = {
    event_id: e.eventId ?? newId('evt'),
    account_id: e.accountId,
    sequence,
    type: e.type,
    payload: JSON.stringify(e.payload),
    target_session_id: e.targetSessionId ?? null,
    occurred_at: now,
    delivered_at: null,
    acked_at: null,
    acked_by_session: null,
    trace_context: e.traceContext ?? null,
  };
  await db.insertInto('outbox_events').values(row).execute();
  return row;
}

/** Rows per multi-row statement: well under both dialects' bound-parameter limits. */
const CHUNK = 1000;

const OUTBOX_INSERT: BulkInsert<OutboxRow> = {
  table: 'outbox_events',
  columns: columnsOf<OutboxRow>({
    event_id: true,
    account_id: true,
    sequence: true,
    type: true,
    payload: true,
    target_session_id: true,
    occurred_at: true,
    delivered_at: true,
    acked_at: true,
    acked_by_session: true,
    trace_context: true,
  }),
  chunk: CHUNK,
};

/**
 * Queues one event for each of many accounts (a fan-out) in two statements per 1000
 * accounts: one sequence allocation and one insert. Each account may appear once. With
 * `lockInOrder` (PostgreSQL, where transactions run concurrently) the accounts' rows are
 * locked in id order first, so two fan-outs sharing followers cannot deadlock.
 */
export async function enqueueOutboxMany(
  db: Db,
  events: Array<{
    accountId: string;
    type: OutboxEventType;
    payload: Record<string, unknown>;
    eventId?: string;
    traceContext?: string | null;
  }>,
  now: number,
  lockInOrder = false,
): Promise<OutboxRow[]> {
  const out: OutboxRow[] = [];
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK);
    const ids = chunk.map((e) => e.accountId);
    if (lockInOrder)
      await db
        .selectFrom('accounts')
        .select('account_id')
        .where('account_id', 'in', ids)
        .orderBy('account_id')
        .forUpdate()
        .execute();
    const allocated = await db
      .updateTable('accounts')
      .set((eb) => ({ last_sequence: eb('last_sequence', '+', 1) }))
      .where('account_id', 'in', ids)
      .returning(['account_id', 'last_sequence'])
      .execute();
    const sequenceOf = new Map(allocated.map((a) => [a.account_id, Number(a.last_sequence)]));
    const rows = chunk.map((e): OutboxRow => ({
      event_id: e.eventId ?? newId('evt'),
      account_id: e.accountId,
      sequence: sequenceOf.get(e.accountId)!,
      type: e.type,
      payload: JSON.stringify(e.payload),
      target_session_id: null,
      occurred_at: now,
      delivered_at: null,
      acked_at: null,
      acked_by_session: null,
      trace_context: e.traceContext ?? null,
    }));
    await insertMany(db, OUTBOX_INSERT, rows);
    out.push(...rows);
  }
  return out;
}

/**
 * Unacknowledged events a session may see, ascending. A live session sees the account's
 * events plus those addressed to it; an ended session sees only those addressed to it
 * (its `session.shutdown`).
 */
export async function pendingOutbox(
  db: Db,
  q: { accountId: string; sessionId: string; onlyTargeted: boolean; cursor: number; limit: number },
): Promise<OutboxRow[]> {
  let query = db
    .selectFrom('outbox_events')
    .selectAll()
    .where('account_id', '=', q.accountId)
    .where('acked_at', 'is', null)
    .where('sequence', '>', q.cursor);
  query = q.onlyTargeted
    ? query.where('target_session_id', '=', q.sessionId)
    : query.where((eb) =>
        eb.or([eb('target_session_id', 'is', null), eb('target_session_id', '=', q.sessionId)]),
      );
  return query.orderBy('sequence', 'asc').limit(q.limit).execute();
}

/**
 * The newest unacknowledged event of each of `waiting`'s accounts that one of its sessions
 * may see, by account (accounts with none are left out). One statement per 1000 accounts,
 * on the index of unacknowledged events.
 */
export async function newestPending(
  db: Db,
  waiting: ReadonlyMap<string, { sessionIds: ReadonlySet<string> }>,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const accounts = [...waiting.keys()];
  for (let i = 0; i < accounts.length; i += CHUNK) {
    const ids = accounts.slice(i, i + CHUNK);
    const sessions = [...new Set(ids.flatMap((a) => [...waiting.get(a)!.sessionIds]))];
    const rows = await db
      .selectFrom('outbox_events')
      .select((eb) => ['account_id', eb.fn.max('sequence').as('newest')])
      .where('account_id', 'in', ids)
      .where('acked_at', 'is', null)
      .where((eb) => eb.or([eb('target_session_id', 'is', null), eb('target_session_id', 'in', sessions)]))
      .groupBy('account_id')
      .execute();
    for (const r of rows) out.set(r.account_id, Number(r.newest));
  }
  return out;
}

/**
 * Marks events delivered and their copy orders `delivered`; returns the events that are
 * still to be handed over. An event acknowledged by the gateway meanwhile (a withdrawn or
 * expired copy order) is not: the caller must not hand it out. Copy orders are written before
 * outbox rows, in the order every writer of both uses (withdrawal, expiry), so on PostgreSQL
 * a poll and a withdrawal of the same order queue behind each other instead of deadlocking.
 */
export async function markDelivered(db: Db, eventIds: string[], now: number): Promise<Set<string>> {
  if (eventIds.length === 0) return new Set();
  await db
    .updateTable('copy_orders')
    .set({ status: 'delivered', delivered_at: now, updated_at: now })
    .where('outbox_event_id', 'in', eventIds)
    .where('status', '=', 'queued')
    .execute();
  const rows = await db
    .updateTable('outbox_events')
    .set({ delivered_at: sql<number>`coalesce(delivered_at, ${now})` })
    .where('event_id', 'in', eventIds)
    .where('acked_at', 'is', null)
    .returning('event_id')
    .execute();
  return new Set(rows.map((r) => r.event_id));
}

export type AckResult = 'acked' | 'already_acked' | 'unknown_event' | 'sequence_mismatch';

/** Acknowledges one event on behalf of a session; only events that session could see are acknowledged. */
export async function ackOutbox(
  db: Db,
  a: {
    accountId: string;
    sessionId: string;
    eventId: string;
    sequence?: number | undefined;
    onlyTargeted: boolean;
  },
  now: number,
): Promise<AckResult> {
  const row = await db
    .selectFrom('outbox_events')
    .select(['event_id', 'sequence', 'acked_at', 'target_session_id'])
    .where('event_id', '=', a.eventId)
    .where('account_id', '=', a.accountId)
    .executeTakeFirst();
  if (!row) return 'unknown_event';
  const visible = a.onlyTargeted
    ? row.target_session_id === a.sessionId
    : row.target_session_id === null || row.target_session_id === a.sessionId;
  if (!visible) return 'unknown_event';
  if (a.sequence !== undefined && Number(row.sequence) !== a.sequence) return 'sequence_mismatch';
  if (row.acked_at !== null) return 'already_acked';
  await db
    .updateTable('outbox_events')
    .set({ acked_at: now, acked_by_session: a.sessionId })
    .where('event_id', '=', a.eventId)
    .where('acked_at', 'is', null)
    .execute();
  // The copy order carried by this event is now acknowledged by the terminal.
  await db
    .updateTable('copy_orders')
    .set({ status: 'acknowledged', acknowledged_at: now, updated_at: now })
    .where('outbox_event_id', '=', a.eventId)
    .where('status', 'in', ['queued', 'delivered'])
    .execute();
  return 'acked';
}

/** The payload an event carried to the terminal, parsed. */
export async function outboxPayload(db: Db, eventId: string): Promise<Record<string, unknown> | null> {
  const row = await db
    .selectFrom('outbox_events')
    .select('payload')
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return row ? (JSON.parse(row.payload) as Record<string, unknown>) : null;
}

/** The stored trace context of an event (read for tracing only). */
export async function outboxTraceContext(db: Db, eventId: string): Promise<string | null> {
  const row = await db
    .selectFrom('outbox_events')
    .select('trace_context')
    .where('event_id', '=', eventId)
    .executeTakeFirst();
  return row?.trace_context ?? null;
}

/**
 * The sequence a new session resumes after: just before the oldest event still waiting for
 * the account, or the account's last sequence when nothing waits.
 */
export async function resumeSequence(db: Db, accountId: string, sessionId: string): Promise<number> {
  const oldest = await db
    .selectFrom('outbox_events')
    .select((eb) => eb.fn.min('sequence').as('min'))
    .where('account_id', '=', accountId)
    .where('acked_at', 'is', null)
    .where((eb) => eb.or([eb('target_session_id', 'is', null), eb('target_session_id', '=', sessionId)]))
    .executeTakeFirst();
  if (oldest?.min !== null && oldest?.min !== undefined) return Number(oldest.min) - 1;
  const account = await db
    .selectFrom('accounts')
    .select('last_sequence')
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  return Number(account?.last_sequence ?? 0);
}

/** Manual `order.command` events, newest first, optionally of one account. */
export function manualCommands(db: Db, filter: { accountId?: string | undefined; limit: number }) {
  let q = db
    .selectFrom('outbox_events')
    .select([
      'event_id',
      'account_id',
      'sequence',
      'payload',
      'target_session_id',
      'occurred_at',
      'delivered_at',
      'acked_at',
    ])
    .where('type', '=', 'order.command');
  if (filter.accountId) q = q.where('account_id', '=', filter.accountId);
  return q.orderBy('occurred_at', 'desc').orderBy('event_id', 'desc').limit(filter.limit).execute();
}
