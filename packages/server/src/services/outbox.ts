/**
 * Reading the outbox: one poll, a long poll that wakes on commit (or takes the events a
 * fan-out hands it), the hand-off itself — of rows committed in this process or carried from
 * another replica — and the periodic re-check that no parked reader is left behind.
 */
import type { OutboxEvent, OutboxQuery, OutboxResponse } from '@kopitra/contracts';
import {
  markDelivered,
  newestPending,
  outboxTraceContext,
  pendingOutbox,
  toOutboxEvent,
  type OutboxRow,
} from '../store/outbox.js';
import { continuesFrom } from '../notify/handoff.js';
import { accountChannel, type OutboxRowsOf } from '../notify/notifier.js';
import { liveSessions } from '../store/sessions.js';
import { inTransaction, type Tx } from '../store/transaction.js';
import { continueTrace, stepStart } from '../telemetry/tracing.js';
import type { GatewayDeps } from './deps.js';
import { staleOpens } from '../store/copy.js';
import { expireOpens } from './copy/expiry.js';
import type { SessionContext } from './sessions.js';
import type { Ticker } from './stream-access.js';

async function readOnce(
  deps: GatewayDeps,
  ctx: SessionContext,
  cursor: number,
  limit: number,
  channel: 'poll' | 'stream' = 'poll',
): Promise<OutboxEvent[]> {
  // A pending session's outbox stays empty until it is approved.
  if (ctx.session.status === 'pending') return [];
  deps.metrics?.outboxReads.inc({ channel });
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
  const fresh = rows.filter((r) => r.delivered_at === null).map((r) => r.event_id);
  // An event the gateway took back after this read (a withdrawn or expired copy order) is
  // not handed out: only what markDelivered still found unacknowledged is.
  const delivered = fresh.length > 0 ? await markDelivered(deps.db, fresh, now) : new Set<string>();
  const handed = rows.filter((r) => r.delivered_at !== null || delivered.has(r.event_id));
  traceDeliveries(deps, handed, channel);
  return handed.map(toOutboxEvent);
}

/** Each copy order's event handed to its follower, as a step of the signal's trace. */
function traceDeliveries(deps: GatewayDeps, rows: readonly OutboxRow[], channel: string): void {
  if (!deps.tracing?.enabled) return;
  for (const r of rows)
    continueTrace(deps.tracing, 'copy.deliver', r.trace_context ?? null, {
      'kopitra.follower_account_id': r.account_id,
      'kopitra.outbox.event_id': r.event_id,
      'kopitra.outbox.sequence': Number(r.sequence),
      'kopitra.outbox.type': r.type,
      'kopitra.delivery.channel': channel,
      'kopitra.redelivery': r.delivered_at !== null,
    });
}

/**
 * Once `tx` commits, records a follower's acknowledgement of an event in the trace of the
 * signal that queued it (no query at all when traces are off).
 */
export async function traceAck(
  deps: GatewayDeps,
  tx: Tx,
  ack: { accountId: string; eventId: string; channel: 'inbox' | 'stream' },
): Promise<void> {
  if (!deps.tracing?.enabled) return;
  const start = stepStart(deps.tracing);
  const stored = await outboxTraceContext(tx.trx, ack.eventId);
  if (!stored) return;
  tx.afterCommit(() =>
    continueTrace(
      deps.tracing,
      'copy.acknowledge',
      stored,
      {
        'kopitra.follower_account_id': ack.accountId,
        'kopitra.outbox.event_id': ack.eventId,
        'kopitra.ack.channel': ack.channel,
      },
      start,
    ),
  );
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
        cursor: q.cursor,
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
 * process for its live session (`liveSessionOf`: read in the writing transaction, or once for
 * a whole message of carried rows), marks them delivered in one transaction, then answers
 * them. Readers here that could not take them are woken instead, so they read the database
 * (other processes were woken by the fan-out itself).
 */
export async function handOffOutbox(
  deps: GatewayDeps,
  rowsOf: OutboxRowsOf,
  liveSessionOf: ReadonlyMap<string, string>,
): Promise<void> {
  const claimed: Array<{
    rows: readonly OutboxRow[];
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
    deps.notifier.wakeHere(missed);
  }
  if (!claimed.length) return;
  let delivered: Set<string>;
  try {
    const ids = claimed.flatMap((c) => c.rows.map((r) => r.event_id));
    delivered = await inTransaction(deps.db, ({ trx }) => markDelivered(trx, ids, deps.clock.now()));
  } catch (err) {
    deps.logger.warn({ err }, 'outbox hand-off failed; the followers read their outbox instead');
    for (const c of claimed) for (const r of c.readers) r.release();
    return;
  }
  for (const c of claimed) {
    // A copy order withdrawn since the fan-out committed (its master closed) is not handed out.
    const rows = c.rows.filter((r) => delivered.has(r.event_id));
    traceDeliveries(deps, rows, 'handoff');
    for (const r of c.readers) {
      if (rows.length) r.take(rows);
      else r.release();
    }
  }
  deps.metrics?.outboxHandoffs.inc({ outcome: 'taken' }, claimed.length);
}

/**
 * Rows another replica committed, carried in its wake-up: offered to the readers parked here
 * by the same hand-off as a local fan-out's, after one read of those accounts' live sessions
 * for the whole message. Returns the channels it wakes itself (accounts with a reader parked
 * here); the notifier wakes the rest. Rows that are not the next a reader expects (a message
 * lost, repeated or overtaken) are refused by its claim, and the reader reads the database.
 */
export function takeCarriedRows(deps: GatewayDeps, rowsOf: OutboxRowsOf): ReadonlySet<string> {
  const parked = deps.handoff.parkedAmong(rowsOf.keys());
  if (parked.length === 0) return new Set();
  const channels = new Set(parked.map(accountChannel));
  void (async () => {
    const live = await liveSessions(deps.db, parked, deps.clock.now());
    const ended = parked.filter((a) => !live.has(a)).map(accountChannel);
    if (ended.length) {
      deps.metrics?.outboxHandoffs.inc({ outcome: 'read' }, ended.length);
      deps.notifier.wakeHere(ended);
    }
    if (live.size) await handOffOutbox(deps, rowsOf, live);
  })().catch((err: unknown) => {
    deps.logger.warn({ err }, 'carried outbox rows not handed off; the followers read their outbox instead');
    deps.notifier.wakeHere(channels);
  });
  return channels;
}

/** How often a gateway re-checks its parked readers against the outbox (see `watchParked`). */
export const PARKED_RECHECK_MS = 5_000;

/**
 * The safety net under wake-ups: wakes every reader parked in this process that the outbox
 * has moved past — a wake-up lost on the way (a broker hiccup, a replica reconnecting), or a
 * hand-off that raced a second reader of the account. One statement for all of them (per
 * 1000 accounts), whatever their number; returns how many accounts it woke.
 */
export async function recheckParked(deps: GatewayDeps): Promise<number> {
  const waiting = deps.handoff.waiting();
  if (waiting.size === 0) return 0;
  const newest = await newestPending(deps.db, waiting);
  const behind: string[] = [];
  for (const [accountId, sequence] of newest)
    if (sequence > waiting.get(accountId)!.cursor) behind.push(accountChannel(accountId));
  if (behind.length) {
    deps.metrics?.outboxRecheckWakeups.inc(behind.length);
    deps.notifier.wakeHere(behind);
  }
  return behind.length;
}

/**
 * Runs `recheckParked` every `PARKED_RECHECK_MS` plus up to half again, drawn once per process
 * so replicas do not re-check in step; one pass at a time. Returns the function that stops it
 * (and waits for a pass under way).
 */
export function watchParked(deps: GatewayDeps, ticker: Ticker): () => Promise<void> {
  let running: Promise<void> | undefined;
  const everyMs = PARKED_RECHECK_MS + Math.floor(Math.random() * (PARKED_RECHECK_MS / 2));
  const stop = ticker(everyMs, () => {
    running ??= recheckParked(deps)
      .then(() => undefined)
      .catch((err: unknown) => deps.logger.warn({ err }, 're-checking parked readers failed'))
      .finally(() => (running = undefined));
  });
  return async () => {
    stop();
    await running;
  };
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
