/** Reading the outbox: one poll, a long poll that wakes on commit, and acknowledgements. */
import type { OutboxEvent, OutboxQuery, OutboxResponse } from '@kopitra/contracts';
import { markDelivered, pendingOutbox, toOutboxEvent } from '../store/outbox.js';
import { accountChannel, waitFor } from '../notify/notifier.js';
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
 * answers the moment an event for the account commits (or the client goes away).
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
    const wake =
      remaining > 0
        ? waitFor(deps.notifier, accountChannel(current.session.account_id), remaining, signal)
        : undefined;
    const events = await readOnce(deps, current, q.cursor, q.limit);
    if (events.length > 0 || !wake || signal?.aborted) {
      wake?.cancel();
      return respond(deps, current, q.cursor, events);
    }
    const woken = await wake.promise;
    if (!woken) return respond(deps, current, q.cursor, []);
    // The account changed: the session may have been approved, taken over or rejected.
    current = await refresh();
  }
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
