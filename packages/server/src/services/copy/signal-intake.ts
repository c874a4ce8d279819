/**
 * The steps every master signal takes on its way in, a position's (`fanout.ts`) or a pending
 * order's (`order-fanout.ts`): who may send it, the reply to one seen before, its lines in the
 * response, the outbox events in per-account rounds, and the reply, announcement and wake-ups
 * that end its transaction.
 */
import {
  AppError,
  isoTime,
  topics,
  type OrderSignalRequest,
  type SignalAccepted,
  type SignalRequest,
  type SignalResponse,
} from '@kopitra/contracts';
import { findSignalDuplicate, lockMaster, setSignalResponse } from '../../store/copy.js';
import { enqueueOutboxMany, type OutboxRow } from '../../store/outbox.js';
import type { Db } from '../../store/schema.js';
import type { Tx } from '../../store/transaction.js';
import { accountChannel, type OutboxRowsOf } from '../../notify/notifier.js';
import { liveSessions } from '../../store/sessions.js';
import type { GatewayDeps } from '../deps.js';
import { remember, replayFor, type IdempotentCall, type Reply } from '../idempotent.js';
import { logForbiddenAttempt } from '../inbox.js';
import { handOffOutbox } from '../outbox.js';
import type { SessionContext } from '../sessions.js';

export const SIGNALS_ROUTE = 'POST /signals';

/** Only an approved master session may send signals; a refusal is logged as a forbidden attempt. */
export async function assertMasterSession(deps: GatewayDeps, ctx: SessionContext): Promise<void> {
  const { session } = ctx;
  if (session.status === 'pending') {
    await logForbiddenAttempt(deps, ctx, SIGNALS_ROUTE, 'session pending approval');
    throw new AppError(
      'session_pending',
      'A pending session may not send signals; ask an operator to approve the terminal.',
    );
  }
  if (session.role !== 'master') {
    await logForbiddenAttempt(deps, ctx, SIGNALS_ROUTE, `session role is ${session.role}`);
    throw new AppError('role_forbidden', 'Only a master session may send signals.');
  }
}

/**
 * Locks the master (one writer per master on PostgreSQL: its signals queue here instead of
 * deadlocking on their followers' rows; SQLite runs one transaction at a time already) and
 * returns the reply to a request seen before: the same idempotency key, or the same signal
 * (its signalId or deal ticket) sent again under another key, which is remembered for this one.
 */
export async function earlierReply(
  deps: GatewayDeps,
  tx: Tx,
  masterAccountId: string,
  call: IdempotentCall,
  req: Pick<SignalRequest | OrderSignalRequest, 'signalId' | 'dealTicket' | 'type'>,
  receivedAt: number,
): Promise<Reply<SignalResponse> | null> {
  if (deps.dialect === 'postgres') await lockMaster(tx.trx, masterAccountId);
  const replay = await replayFor(tx.trx, call);
  if (replay) return replay as Reply<SignalResponse>;
  const duplicate = await findSignalDuplicate(
    tx.trx,
    masterAccountId,
    req.signalId,
    req.dealTicket,
    req.type,
  );
  if (!duplicate) return null;
  const again: Reply<SignalResponse> = {
    statusCode: 202,
    body: JSON.parse(duplicate.response) as SignalResponse,
  };
  await remember(tx.trx, call, again, receivedAt);
  return again;
}

/** A subscription's line in the signal's response: skipped, and why. */
export const skippedCopy = (
  f: { groupId: string; followerAccountId: string },
  orderId: string,
  d: { reason: SignalResponse['skipped'][number]['reason']; detail: string },
): SignalResponse['skipped'][number] => ({
  followerAccountId: f.followerAccountId,
  groupId: f.groupId,
  orderId,
  reason: d.reason,
  detail: d.detail,
});

/** A subscription's line in the signal's response: queued, with the copy's volume where it has one. */
export const queuedCopy = (
  f: { groupId: string; followerAccountId: string },
  orderId: string,
  volume: number | null,
): SignalResponse['copies'][number] => ({
  followerAccountId: f.followerAccountId,
  groupId: f.groupId,
  orderId,
  status: 'queued',
  ...(volume !== null ? { volume } : {}),
});

export type OutboxEvent = Parameters<typeof enqueueOutboxMany>[1][number];

/**
 * Queues the events of a fan-out. A follower in two of the master's groups gets two events:
 * they go in rounds so each round allocates one sequence per account, in the order the
 * groups were planned. Returns the rows written for each account.
 */
export async function enqueueInRounds(
  db: Db,
  events: readonly OutboxEvent[],
  now: number,
  lockInOrder: boolean,
): Promise<Map<string, OutboxRow[]>> {
  const rowsOf = new Map<string, OutboxRow[]>();
  for (let round = events; round.length > 0;) {
    const seen = new Set<string>();
    const part = round.filter((e) => !seen.has(e.accountId) && seen.add(e.accountId));
    for (const row of await enqueueOutboxMany(db, part, now, lockInOrder)) {
      const list = rowsOf.get(row.account_id);
      if (list) list.push(row);
      else rowsOf.set(row.account_id, [row]);
    }
    round = round.filter((e) => !part.includes(e));
  }
  return rowsOf;
}

/**
 * Ends a signal's transaction: stores its response, announces it (`signal.accepted`),
 * remembers the reply for its idempotency key and wakes the followers with new events.
 * Returns the reply and the channels notified.
 */
export async function settleSignal(
  deps: GatewayDeps,
  tx: Tx,
  s: {
    call: IdempotentCall;
    masterAccountId: string;
    signalId: string;
    req: Pick<SignalRequest | OrderSignalRequest, 'type' | 'symbol' | 'occurredAt'>;
    masterPositionId: string;
    body: SignalResponse;
    batch: { woken: ReadonlySet<string>; rowsOf: OutboxRowsOf };
    receivedAt: number;
    now: number;
  },
): Promise<{ reply: Reply<SignalResponse>; notify: string[] }> {
  const { body, req } = s;
  await setSignalResponse(tx.trx, s.signalId, body);
  const accepted: SignalAccepted = {
    type: 'signal.accepted',
    signalId: body.signalId,
    masterAccountId: s.masterAccountId,
    signalType: req.type,
    masterPositionId: s.masterPositionId,
    symbol: req.symbol,
    copies: body.copies.length,
    skipped: body.skipped.length,
    occurredAt: req.occurredAt,
    receivedAt: isoTime(s.receivedAt),
  };
  await deps.bus.publish(topics.tradeAgentEvents, accepted, { db: tx.trx });
  const reply: Reply<SignalResponse> = { statusCode: 202, body };
  await remember(tx.trx, s.call, reply, s.now);
  return { reply, notify: await wakeFollowers(deps, tx, s.batch, s.now) };
}

/**
 * Followers parked in this process whose session is live as of this transaction take their
 * events from memory once it commits; the rest are woken, the rows carried to the other
 * replicas where the notifier can (their parked followers take them from memory there), else
 * to read them. Returns the channels.
 */
export async function wakeFollowers(
  deps: GatewayDeps,
  tx: Tx,
  batch: { woken: ReadonlySet<string>; rowsOf: OutboxRowsOf },
  now: number,
): Promise<string[]> {
  const parked = deps.handoff.parkedAmong(batch.woken);
  const liveSessionOf = parked.length ? await liveSessions(tx.trx, parked, now) : new Map<string, string>();
  const channels = [...batch.woken].map(accountChannel);
  await deps.notifier.notifyMany(
    tx.trx,
    channels,
    new Set([...liveSessionOf.keys()].map(accountChannel)),
    batch.rowsOf,
  );
  if (liveSessionOf.size)
    tx.afterCommit(() => {
      handOffOutbox(deps, batch.rowsOf, liveSessionOf).catch((err: unknown) =>
        deps.logger.error({ err }, 'outbox hand-off failed'),
      );
    });
  return channels;
}
