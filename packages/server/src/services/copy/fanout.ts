/**
 * `POST /signals`: one master event becomes, per subscription, one copy order and (unless
 * skipped) one outbox event for the follower. The transaction that stores the signal writes
 * the first batch of subscriptions (all of them up to `KOPITRA_FANOUT_BATCH`); the rest are
 * written by the fan-out job in further batches (fanout-resume.ts). Followers' waiting polls
 * and streams wake as each batch commits.
 */
import { AppError, isoTime, type SignalRequest, type SignalResponse } from '@kopitra/contracts';
import type { Span } from '@opentelemetry/api';
import { planCopy, type CopyDecision, type LinkedPosition, type MasterSignal } from '@kopitra/engine';
import {
  countSubscriptionsOfMaster,
  insertOrders,
  insertSignal,
  upsertLinks,
  withdrawOrders,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import {
  existingOrderIds,
  hasRunningFanout,
  insertFanout,
  type SubscriptionCursor,
} from '../../store/fanouts.js';
import { derivedId, newId } from '../../store/ids.js';
import { applyMasterSignal } from '../../store/master-positions.js';
import type { OutboxRow } from '../../store/outbox.js';
import type { Db } from '../../store/schema.js';
import { inSpan, storedContext } from '../../telemetry/tracing.js';
import { inTransaction, type Tx } from '../../store/transaction.js';
import type { GatewayDeps } from '../deps.js';
import { enqueueJob } from '../job-worker.js';
import { requestHash, type Reply } from '../idempotent.js';
import type { SessionContext } from '../sessions.js';
import { followerContextOf, loadFanoutContext, type FollowerSlice } from './context.js';
import {
  openedLinkRow,
  signalOrderRow,
  signalRowOf,
  type OrderTarget,
  type StoredSignal,
} from './copy-rows.js';
import { publishOrderUpdate } from './order-events.js';
import { outboxPayloadFor } from './payloads.js';
import {
  assertMasterSession,
  earlierReply,
  enqueueInRounds,
  queuedCopy,
  settleSignal,
  skippedCopy,
  SIGNALS_ROUTE,
  type OutboxEvent,
} from './signal-intake.js';

/** The claimed job that writes the batches of a fan-out after the first. */
export const FANOUT_JOB = 'copy.fanout';

const LIVE_LINK = new Set(['open', 'closing', 'detached']);

/** The engine's view of a copy's link: only a live one (open, closing, detached) is one. */
export function linkedPosition(
  link: LinkRow | null,
  undelivered: CopyOrderRow[] = [],
): LinkedPosition | null {
  if (!link || !LIVE_LINK.has(link.status)) return null;
  return {
    ticket: link.ticket,
    openVolume: link.open_volume,
    symbol: link.symbol,
    side: link.side,
    detached: link.status === 'detached',
    masterVolume: link.master_volume,
    positions: link.position_count,
    openUndelivered: undelivered.some((o) => o.order_id === link.open_order_id),
  };
}

/**
 * How far a master's `occurredAt` may stray from server time: a few minutes ahead (terminal
 * clocks drift), a week behind (a terminal resending what it recorded while offline). Beyond
 * that the time is wrong, and copying with an expiry derived from it would be too.
 */
export const OCCURRED_AT_TOLERANCE = { aheadMs: 5 * 60_000, behindMs: 7 * 24 * 3_600_000 } as const;

export function checkOccurredAt(occurredAt: string, now: number): void {
  const at = Date.parse(occurredAt);
  if (at <= now + OCCURRED_AT_TOLERANCE.aheadMs && at >= now - OCCURRED_AT_TOLERANCE.behindMs) return;
  const message = `occurredAt must lie between ${isoTime(now - OCCURRED_AT_TOLERANCE.behindMs)} and ${isoTime(now + OCCURRED_AT_TOLERANCE.aheadMs)} (server time ${isoTime(now)}); check the terminal's clock.`;
  throw new AppError('invalid_request', message, {
    issues: [{ path: 'body.occurredAt', message, code: 'out_of_range' }],
  });
}

export async function acceptSignal(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
  req: SignalRequest,
): Promise<Reply<SignalResponse>> {
  await assertMasterSession(deps, ctx);
  const { session } = ctx;
  checkOccurredAt(req.occurredAt, deps.clock.now());
  return fanOutSignal(
    deps,
    { masterAccountId: session.account_id, sessionId: session.session_id },
    { key: idempotencyKey, route: SIGNALS_ROUTE, requestHash: requestHash(deps.secret, req) },
    req,
  );
}

/** Where a signal came from: a master's session, or `external` for `POST /api/signals/{accountId}`. */
export interface SignalSource {
  masterAccountId: string;
  sessionId: string;
}

/**
 * Stores one master signal and fans it out to every subscription of the master: the one path
 * of every signal into the copy engine, whatever sent it.
 */
export async function fanOutSignal(
  deps: GatewayDeps,
  source: SignalSource,
  idempotency: { key: string; route: string; requestHash: string },
  req: SignalRequest,
): Promise<Reply<SignalResponse>> {
  const { masterAccountId } = source;
  const receivedAt = deps.clock.now();
  const call = { scope: masterAccountId, ...idempotency };
  const fanOut = (span: Span | undefined) =>
    inTransaction(deps.db, async (tx) => {
      const earlier = await earlierReply(deps, tx, masterAccountId, call, req, receivedAt);
      if (earlier) return { reply: earlier, notify: [] as string[] };
      const now = deps.clock.now();
      const signalId = newId('sig');
      const traceContext = storedContext(deps.tracing);
      const occurredAt = Date.parse(req.occurredAt);
      const signalRow = signalRowOf(req, {
        signal_id: signalId,
        master_account_id: masterAccountId,
        session_id: source.sessionId,
        master_position_id: req.masterPositionId,
        remaining_volume: req.remainingVolume ?? null,
        occurred_at: occurredAt,
        received_at: receivedAt,
      });
      await insertSignal(tx.trx, signalRow);
      await applyMasterSignal(tx.trx, signalRow, now);
      const signal: MasterSignal = {
        type: req.type,
        masterPositionId: req.masterPositionId,
        symbol: req.symbol,
        side: req.side,
        volume: req.volume,
        remainingVolume: req.remainingVolume ?? null,
        price: req.price,
        sl: req.sl ?? null,
        tp: req.tp ?? null,
        magic: req.magic ?? null,
        occurredAt,
      };
      const facts: FanoutSignal = {
        signalId,
        masterAccountId,
        signal,
        receivedAt,
        masterSignalId: req.signalId ?? null,
        masterDealTicket: req.dealTicket ?? null,
        traceContext,
      };
      // The first batch is written here; the rest, and every batch of a signal that arrives
      // while an earlier one of this master is still being written, by the fan-out job.
      const behind = await hasRunningFanout(tx.trx, masterAccountId);
      const first = behind
        ? null
        : await loadFanoutContext(tx.trx, masterAccountId, signal, now, deps.dialect === 'postgres', {
            after: null,
            limit: deps.fanoutBatch,
          });
      const batch = first ? await writeBatch(deps, tx, facts, first, now) : emptyBatch();
      const deferred =
        behind || first?.more ? await countSubscriptionsOfMaster(tx.trx, masterAccountId, batch.last) : 0;
      if (deferred > 0) await deferFanout(deps, tx.trx, facts, batch, now);
      const body: SignalResponse = {
        signalId: req.signalId ?? signalId,
        copies: batch.copies,
        skipped: batch.skipped,
        ...(deferred > 0 ? { deferred } : {}),
      };
      const { reply, notify } = await settleSignal(deps, tx, {
        call,
        masterAccountId,
        signalId,
        req,
        masterPositionId: req.masterPositionId,
        body,
        batch,
        receivedAt,
        now,
      });
      span?.setAttributes({
        'kopitra.signal_id': signalId,
        'kopitra.copies': body.copies.length,
        'kopitra.skipped': body.skipped.length,
      });
      return { reply, notify };
    });
  // One span for the whole fan-out; the follower side continues its trace from the rows.
  const { reply, notify } = await inSpan(
    deps.tracing,
    'copy.fanout',
    {
      attributes: {
        'kopitra.master_account_id': masterAccountId,
        'kopitra.signal.type': req.type,
        'kopitra.signal.symbol': req.symbol,
        'kopitra.master_position_id': req.masterPositionId,
      },
    },
    fanOut,
  );
  if (deps.metrics && notify.length) {
    deps.metrics.signals.inc({ type: req.type });
    deps.metrics.fanoutDuration.observe((deps.clock.now() - receivedAt) / 1000);
    if (reply.body.copies.length)
      deps.metrics.copyOrders.inc({ kind: req.type, status: 'queued' }, reply.body.copies.length);
    if (reply.body.skipped.length)
      deps.metrics.copyOrders.inc({ kind: req.type, status: 'skipped' }, reply.body.skipped.length);
  }
  if (notify.length)
    deps.logger.debug(
      { signal: reply.body.signalId, copies: reply.body.copies.length, skipped: reply.body.skipped.length },
      'signal fanned out',
    );
  return reply;
}

/** A signal as every batch of its fan-out sees it. */
export interface FanoutSignal extends StoredSignal {
  readonly signal: MasterSignal;
}

/** What one batch wrote. */
export interface Batch {
  copies: SignalResponse['copies'];
  skipped: SignalResponse['skipped'];
  /** Followers with a new event, and the outbox rows written for each. */
  woken: Set<string>;
  rowsOf: Map<string, OutboxRow[]>;
  /** The last subscription of the batch: where the next one starts. */
  last: SubscriptionCursor | null;
}

const emptyBatch = (): Batch => ({
  copies: [],
  skipped: [],
  woken: new Set(),
  rowsOf: new Map(),
  last: null,
});

/**
 * The ids of a subscription's copy order and outbox event for a signal, derived from the two:
 * a batch written again after a crash names the same rows.
 */
const copyIdsOf = (signalId: string, groupId: string, followerAccountId: string) => ({
  orderId: derivedId('ord', signalId, groupId, followerAccountId),
  eventId: derivedId('evt', signalId, groupId, followerAccountId),
});

/**
 * Plans and writes the copy orders, outbox events and links of one batch of subscriptions.
 * With `rerun`, subscriptions whose copy order exists already are left out: their events and
 * sequences were allocated with it, so nothing is written twice and no sequence is skipped.
 */
export async function writeBatch(
  deps: GatewayDeps,
  tx: Tx,
  s: FanoutSignal,
  context: Pick<Awaited<ReturnType<typeof loadFanoutContext>>, 'followers' | 'master' | 'synonyms'>,
  now: number,
  rerun = false,
): Promise<Batch> {
  const { signal, signalId, masterAccountId, traceContext } = s;
  const idsOf = (f: FollowerSlice) => copyIdsOf(signalId, f.groupId, f.followerAccountId);
  const written = rerun
    ? await existingOrderIds(
        tx.trx,
        context.followers.map((f) => idsOf(f).orderId),
      )
    : new Set<string>();
  const followers = written.size
    ? context.followers.filter((f) => !written.has(idsOf(f).orderId))
    : context.followers;
  const lastSlice = context.followers.at(-1);
  const batch: Batch = {
    ...emptyBatch(),
    last: lastSlice ? { groupId: lastSlice.groupId, followerAccountId: lastSlice.followerAccountId } : null,
  };
  const orders: CopyOrderRow[] = [];
  const links: LinkRow[] = [];
  const withdrawn: CopyOrderRow[] = [];
  const events: OutboxEvent[] = [];
  for (const f of followers) {
    const plan = (link: LinkedPosition | null) => planCopy(signal, followerContextOf(f, context, link, now));
    let decision = plan(linkedPosition(f.link, f.undelivered));
    let closedLink: LinkRow | null = null;
    if (decision.action === 'skip' && decision.reason === 'master_closed' && f.link) {
      // The close wins: the copy's open (and what was queued after it) is taken back
      // before any terminal saw it, and the copy ends here. Should the open have left
      // meanwhile, the close goes after it as usual.
      const taken = await withdrawCopy(tx.trx, f.link, f.undelivered, decision.detail, now);
      withdrawn.push(...taken);
      if (taken.some((o) => o.order_id === f.link?.open_order_id))
        closedLink = { ...f.link, status: 'closed', closed_at: now, updated_at: now };
      else decision = plan(linkedPosition(f.link));
    }
    const { orderId, eventId } = idsOf(f);
    const order = baseOrder(
      s,
      { orderId, groupId: f.groupId, followerAccountId: f.followerAccountId, now },
      decision,
    );
    if (decision.action === 'skip') {
      orders.push(order);
      batch.skipped.push(skippedCopy(f, orderId, decision));
      if (closedLink) {
        links.push(closedLink);
        continue;
      }
      const dormant =
        dormantLink(f, signal, plan, orderId, masterAccountId, now) ?? masterAdded(f, signal, now);
      if (dormant) links.push(dormant);
      continue;
    }
    events.push({
      accountId: f.followerAccountId,
      eventId,
      traceContext,
      ...outboxPayloadFor(decision, { orderId, masterAccountId, groupId: f.groupId }),
    });
    order.outbox_event_id = eventId;
    orders.push(order);
    const link = nextLink(f, signal, decision, orderId, masterAccountId, now);
    if (link) links.push(link);
    batch.woken.add(f.followerAccountId);
    batch.copies.push(queuedCopy(f, orderId, order.volume));
  }
  const write = async () => {
    batch.rowsOf = await enqueueInRounds(tx.trx, events, now, deps.dialect === 'postgres');
    await insertOrders(tx.trx, orders);
    await upsertLinks(tx.trx, links);
    for (const o of withdrawn) await publishOrderUpdate(deps, tx.trx, o);
  };
  await inSpan(
    deps.tracing,
    'copy.outbox.write',
    { attributes: { 'kopitra.outbox.events': events.length, 'kopitra.copy_orders': orders.length } },
    write,
  );
  return batch;
}

/** Records the rest of a fan-out and queues the job that writes it (fanout-resume.ts). */
async function deferFanout(
  deps: GatewayDeps,
  db: Db,
  s: FanoutSignal,
  first: Batch,
  now: number,
): Promise<void> {
  await insertFanout(
    db,
    {
      signalId: s.signalId,
      masterAccountId: s.masterAccountId,
      after: first.last,
      batches: first.last ? 1 : 0,
      orders: first.copies.length + first.skipped.length,
      traceContext: s.traceContext,
    },
    now,
  );
  await enqueueJob(
    db,
    deps.notifier,
    {
      kind: FANOUT_JOB,
      payload: { masterAccountId: s.masterAccountId },
      uniqueKey: `${FANOUT_JOB}:${s.signalId}`,
    },
    now,
  );
}

function baseOrder(s: FanoutSignal, target: OrderTarget, d: CopyDecision): CopyOrderRow {
  const { signal } = s;
  const kind = (
    {
      'position.opened': 'open',
      'position.increased': 'increase',
      'position.modified': 'modify',
      'position.partially_closed': 'partial_close',
      'position.closed': 'close',
    } as const
  )[signal.type];
  const isSkip = d.action === 'skip';
  const entry = d.action === 'open' || d.action === 'increase';
  return signalOrderRow(s, target, signal, d, {
    master_position_id: signal.masterPositionId,
    // A partial close that must close the whole rest is a close.
    kind: isSkip ? kind : d.action,
    reason: isSkip ? d.reason : d.action === 'close' ? (d.reason ?? null) : null,
    detail: isSkip ? d.detail : d.action === 'close' ? (d.detail ?? null) : null,
    volume: 'volume' in d ? d.volume : null,
    sl: entry || d.action === 'modify' ? (d.sl ?? null) : null,
    tp: entry || d.action === 'modify' ? (d.tp ?? null) : null,
    ticket: 'ticket' in d ? d.ticket : null,
    expires_at: entry ? d.expiresAt : null,
  });
}

/**
 * Withdraws a copy's undelivered open and the orders queued after it (a modification, a
 * partial close): none of them has anything to act on once the open is gone.
 */
async function withdrawCopy(
  db: Db,
  link: LinkRow,
  undelivered: CopyOrderRow[],
  detail: string,
  now: number,
): Promise<CopyOrderRow[]> {
  const open = undelivered.find((o) => o.order_id === link.open_order_id);
  if (!open) return [];
  const ids = undelivered.filter((o) => o.written_at >= open.written_at).map((o) => o.order_id);
  return withdrawOrders(db, ids, { reason: 'master_closed', detail }, now);
}

/**
 * A copy whose open failed or expired has no position to act on, but the reconciler may
 * still re-open it: its link follows the master meanwhile (levels, partial closes), and a
 * master close ends it — else the reconciler would re-open a position the master no longer holds.
 */
function dormantLink(
  f: FollowerSlice,
  signal: MasterSignal,
  plan: (link: LinkedPosition) => CopyDecision,
  orderId: string,
  masterAccountId: string,
  now: number,
): LinkRow | null {
  const link = f.link;
  if (!link || (link.status !== 'failed' && link.status !== 'expired') || signal.type === 'position.opened')
    return null;
  const asIfOpen = plan({
    ticket: link.ticket,
    openVolume: link.open_volume,
    symbol: link.symbol,
    side: link.side,
    masterVolume: link.master_volume,
    positions: link.position_count,
  });
  if (asIfOpen.action === 'skip') return null;
  if (asIfOpen.action === 'close') return { ...link, status: 'closed', closed_at: now, updated_at: now };
  return nextLink(f, signal, asIfOpen, orderId, masterAccountId, now);
}

/** The master's position grew, whatever the follower did about it: later partial closes are fractions of the larger whole. */
function masterAdded(f: FollowerSlice, signal: MasterSignal, now: number): LinkRow | null {
  const link = f.link;
  if (!link || signal.type !== 'position.increased' || !LIVE_LINK.has(link.status)) return null;
  return { ...link, master_volume: grownMasterVolume(link, signal), updated_at: now };
}

const grownMasterVolume = (link: LinkRow, signal: MasterSignal): number | null =>
  signal.remainingVolume ??
  (link.master_volume !== null ? Number((link.master_volume + signal.volume).toFixed(8)) : null);

/** The link as the expected book now has it. */
function nextLink(
  f: FollowerSlice,
  signal: MasterSignal,
  d: CopyDecision,
  orderId: string,
  masterAccountId: string,
  now: number,
): LinkRow | null {
  const link = f.link;
  switch (d.action) {
    case 'open':
      return openedLinkRow({
        groupId: f.groupId,
        followerAccountId: f.followerAccountId,
        masterAccountId,
        masterPositionId: signal.masterPositionId,
        open: d,
        orderId,
        masterVolume: signal.volume,
        masterPrice: signal.price,
        signalAt: signal.occurredAt,
        now,
      });
    case 'increase':
      // Counted when planned, like a partial close: the expected book is what was sent.
      return link
        ? {
            ...link,
            open_volume: Number((link.open_volume + d.volume).toFixed(8)),
            master_volume: grownMasterVolume(link, signal),
            position_count: f.netting ? link.position_count : link.position_count + 1,
            updated_at: now,
          }
        : null;
    case 'modify':
      return link
        ? {
            ...link,
            ...(d.sl !== undefined ? { sl: d.sl } : {}),
            ...(d.tp !== undefined ? { tp: d.tp } : {}),
            updated_at: now,
          }
        : null;
    case 'partial_close':
      return link
        ? {
            ...link,
            open_volume: d.remainingVolume,
            master_volume:
              signal.remainingVolume ??
              (link.master_volume !== null ? Math.max(0, link.master_volume - signal.volume) : null),
            updated_at: now,
          }
        : null;
    case 'close':
      return link ? { ...link, status: 'closing', updated_at: now } : null;
    default:
      return null;
  }
}
