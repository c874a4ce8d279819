/**
 * Reading the outbox: one poll, a long poll that wakes on commit (or takes the events a
 * fan-out hands it in process), and the hand-off itself.
 */
import type { OutboxEvent, OutboxQuery, OutboxResponse } from '@kopitra/contracts';
import { markDelivered, pendingOutbox, toOutboxEvent, type OutboxRow } from '../store/outbox.js';
import { continuesFrom } from '../notify/handoff.js';
import { accountChannel } from '../notify/notifier.js';
import { inTransaction } from '../store/transaction.js';
import type { GatewayDeps } from './deps.js';
import { staleOpens } from '../store/copy.js';
import { expireOpens } from './copy/expiry.js';
import type { SessionContext } from './sessions.js';

async function readOnce(
  deps: GatewayDeps,
  ctx: SessionContext,
  cursor: number,
  limit: number,
): Promise<OutboxEvent[]> {
  // A pending session's outbox stays empty until it is approved.
  if (ctx.session.status === 'pending') return [];
  const now = deps.clock.now();
  const stale = await staleOpens(deps.db, now, ctx.session.account_id);
  if (stale.length > 0) await inTransaction(deps.db, ({ trx }) => expireOpens(deps, trx, stale, now));
  const rows = await pendingOutbox(deps.db, {
    accountId: ctx.session.account_id,
    sessionId: ctx.session.session_id,
    onlyTargeted: ctx.ended,
    cursor,
    limit,
  });
  if (rows.some((r) => r.delivered_at === null)) {
    await markDelivered(
      deps.db,
      rows.filter((r) => r.delivered_at === null).map((r) => r.event_id),
      now,
    );
  }
  return rows.map(toOutboxEvent);
}

/**
 * Answers at once when events wait; otherwise holds the request up to `wait` seconds and
 * answers the moment an event for the account commits (or the client goes away). Events a
 * fan-out in this process commits are handed over directly; other wake-ups read again.
 */
export async function pollOutbox(
  deps: GatewayDeps,
  ctx: SessionContext,
  q: OutboxQuery,
  refresh: () => Promise<SessionContext>,
  signal?: AbortSignal,
): Promise<OutboxResponse> {
  const deadline = Date.now() + q.wait * 1000;
  let current = ctx;
  for (;;) {
    const remaining = deadline - Date.now();
    const parked = remaining > 0 ? park(deps, current, q, remaining, signal) : undefined;
    const events = await readOnce(deps, current, q.cursor, q.limit);
    if (events.length > 0 || !parked || signal?.aborted) {
      parked?.cancel();
      return respond(deps, current, q.cursor, events);
    }
    // Only now, with nothing after the cursor, may a fan-out hand events over.
    parked.readNothing();
    const outcome = await parked.promise;
    if (outcome === 'timeout') return respond(deps, current, q.cursor, []);
    if (outcome !== 'wake') return respond(deps, current, q.cursor, outcome);
    // The account changed: the session may have been approved, taken over or rejected.
    current = await refresh();
  }
}

type Outcome = 'wake' | 'timeout' | OutboxEvent[];

/**
 * A held poll: resolves on a notification of the account ('wake'), on `timeoutMs` or an
 * abort ('timeout'), or with the events a fan-out hands it. It accepts a hand-off only after
 * its read found nothing past the cursor (`readNothing`), and once claimed it ignores
 * wake-ups and the timer until the events (or the release) arrive.
 */
function park(
  deps: GatewayDeps,
  ctx: SessionContext,
  q: OutboxQuery,
  timeoutMs: number,
  signal?: AbortSignal,
): { promise: Promise<Outcome>; cancel: () => void; readNothing: () => void } {
  let state: 'reading' | 'parked' | 'claimed' | 'done' = 'reading';
  let unpark: (() => void) | undefined;
  let settle: (o: Outcome) => void = () => undefined;
  const promise = new Promise<Outcome>((resolve) => (settle = resolve));
  const finish = (o: Outcome) => {
    if (state === 'done') return;
    state = 'done';
    clearTimeout(timer);
    off();
    unpark?.();
    signal?.removeEventListener('abort', onAbort);
    settle(o);
  };
  const onAbort = () => finish('timeout');
  const off = deps.notifier.on(accountChannel(ctx.session.account_id), () => {
    if (state !== 'claimed') finish('wake');
  });
  const timer = setTimeout(() => {
    if (state !== 'claimed') finish('timeout');
  }, timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    promise,
    cancel: () => finish('timeout'),
    readNothing: () => {
      if (state !== 'reading' || ctx.session.status !== 'authenticated') return;
      state = 'parked';
      unpark = deps.handoff.park(ctx.session.account_id, {
        sessionId: ctx.session.session_id,
        claim: (rows) => {
          if (state !== 'parked' || rows.length > q.limit) return false;
          if (!continuesFrom(rows, q.cursor, ctx.session.session_id)) return false;
          state = 'claimed';
          return true;
        },
        take: (rows) => {
          if (state === 'claimed') state = 'parked';
          finish(rows.map(toOutboxEvent));
        },
        release: () => {
          if (state === 'claimed') state = 'parked';
          finish('wake');
        },
      });
    },
  };
}

/**
 * After a fan-out commits: hands each follower's new rows to the readers parked in this
 * process for its live session (`liveSessionOf`, read in the writing transaction), marks
 * them delivered in one transaction, then answers them. Followers nobody here could take
 * are woken through the notifier instead, so they read the database.
 */
export async function handOffOutbox(
  deps: GatewayDeps,
  rowsOf: ReadonlyMap<string, OutboxRow[]>,
  liveSessionOf: ReadonlyMap<string, string>,
): Promise<void> {
  const claimed: Array<{
    rows: OutboxRow[];
    readers: ReturnType<GatewayDeps['handoff']['claim']>['readers'];
  }> = [];
  const missed: string[] = [];
  for (const [accountId, sessionId] of liveSessionOf) {
    const rows = rowsOf.get(accountId);
    if (!rows) continue;
    const { readers, others } = deps.handoff.claim(accountId, sessionId, rows);
    if (readers.length) claimed.push({ rows, readers });
    if (others || !readers.length) missed.push(accountChannel(accountId));
  }
  if (missed.length) {
    deps.metrics?.outboxHandoffs.inc({ outcome: 'read' }, missed.length);
    await deps.notifier.notifyMany(deps.db, missed);
  }
  if (!claimed.length) return;
  try {
    const ids = claimed.flatMap((c) => c.rows.map((r) => r.event_id));
    await inTransaction(deps.db, ({ trx }) => markDelivered(trx, ids, deps.clock.now()));
  } catch (err) {
    deps.logger.warn({ err }, 'outbox hand-off failed; the followers read their outbox instead');
    for (const c of claimed) for (const r of c.readers) r.release();
    return;
  }
  for (const c of claimed) for (const r of c.readers) r.take(c.rows);
  deps.metrics?.outboxHandoffs.inc({ outcome: 'taken' }, claimed.length);
}

function respond(
  deps: GatewayDeps,
  ctx: SessionContext,
  cursor: number,
  events: OutboxEvent[],
): OutboxResponse {
  const last = events.at(-1);
  return {
    status: ctx.session.status === 'pending' ? 'pending' : 'authenticated',
    events,
    nextCursor: last ? last.sequence : cursor,
    ...(events.length === 0
      ? { retryAfter: ctx.session.status === 'pending' ? deps.heartbeatIntervalSec : 1 }
      : {}),
  };
}

export { readOnce as readOutboxOnce };
