/**
 * `POST /signals` for the master's pending orders (`order.placed`, `order.modified`,
 * `order.cancelled`, `order.filled`): per subscription, one copy order and (unless skipped)
 * one outbox event, in the transaction that stores the signal, as for position signals
 * (`fanout.ts`). The follower's copy of each master order is kept in `order_links`; when the
 * master's order fills, the subscription's policy decides (see the engine's `pending.ts`).
 */
import type { OrderSignalRequest, SignalResponse } from '@kopitra/contracts';
import { planOrder, type LinkedOrder, type MasterOrderSignal, type OrderDecision } from '@kopitra/engine';
import {
  getOrder,
  insertOrders,
  insertSignal,
  upsertLinks,
  withdrawOrders,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import { newId } from '../../store/ids.js';
import { applyMasterSignal } from '../../store/master-positions.js';
import { linksForMasterOrder, upsertOrderLinks, type OrderLinkRow } from '../../store/order-links.js';
import { inTransaction } from '../../store/transaction.js';
import { storedContext } from '../../telemetry/tracing.js';
import type { GatewayDeps } from '../deps.js';
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
import { checkOccurredAt, linkedPosition } from './fanout.js';
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

const KIND = {
  'order.placed': 'place_order',
  'order.modified': 'modify_order',
  'order.cancelled': 'cancel_order',
  'order.filled': 'open',
} as const;

function linkedOrder(row: OrderLinkRow | undefined, undelivered: boolean): LinkedOrder | null {
  if (!row || (row.status !== 'pending' && row.status !== 'filled')) return null;
  return {
    ticket: row.ticket,
    symbol: row.symbol,
    side: row.side,
    orderType: row.order_type,
    volume: row.volume,
    undelivered,
    filled: row.status === 'filled',
  };
}

export async function acceptOrderSignal(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
  req: OrderSignalRequest,
): Promise<Reply<SignalResponse>> {
  await assertMasterSession(deps, ctx);
  const { session } = ctx;
  const masterAccountId = session.account_id;
  const receivedAt = deps.clock.now();
  checkOccurredAt(req.occurredAt, receivedAt);
  const call = {
    scope: masterAccountId,
    key: idempotencyKey,
    route: SIGNALS_ROUTE,
    requestHash: requestHash(deps.secret, req),
  };
  const pg = deps.dialect === 'postgres';
  const { reply, notify } = await inTransaction(deps.db, async (tx) => {
    const earlier = await earlierReply(deps, tx, masterAccountId, call, req, receivedAt);
    if (earlier) return { reply: earlier, notify: [] as string[] };
    const now = deps.clock.now();
    const signalId = newId('sig');
    const traceContext = storedContext(deps.tracing);
    const occurredAt = Date.parse(req.occurredAt);
    const masterPositionId = req.masterPositionId ?? req.masterOrderId;
    const signalRow = signalRowOf(req, {
      signal_id: signalId,
      master_account_id: masterAccountId,
      session_id: session.session_id,
      master_position_id: req.masterOrderId,
      remaining_volume: null,
      occurred_at: occurredAt,
      received_at: receivedAt,
    });
    await insertSignal(tx.trx, signalRow);
    // The filled order is a position the master holds from now on.
    if (req.type === 'order.filled')
      await applyMasterSignal(
        tx.trx,
        { ...signalRow, type: 'position.opened', master_position_id: masterPositionId },
        now,
      );
    const signal: MasterOrderSignal = {
      type: req.type,
      masterOrderId: req.masterOrderId,
      masterPositionId,
      symbol: req.symbol,
      side: req.side,
      orderType: req.orderType,
      volume: req.volume,
      price: req.price,
      stopLimitPrice: req.stopLimitPrice ?? null,
      sl: req.sl ?? null,
      tp: req.tp ?? null,
      expiresAt: req.expiresAt ? Date.parse(req.expiresAt) : null,
      magic: req.magic ?? null,
      occurredAt,
    };
    // The copies first, locked: a follower's fill told concurrently either commits before (and
    // its position link is read below) or waits for this signal's decision.
    const orderLinks = await linksForMasterOrder(tx.trx, masterAccountId, req.masterOrderId, pg);
    // Placements and fills are guarded like opens (exposure, trade rate, risk halts).
    const opens = req.type === 'order.placed' || req.type === 'order.filled';
    const { followers, master, synonyms } = await loadFanoutContext(
      tx.trx,
      masterAccountId,
      { type: opens ? 'position.opened' : req.type, symbol: req.symbol, masterPositionId },
      now,
      pg,
    );
    const orderLinkOf = new Map(orderLinks.map((l) => [`${l.group_id}\n${l.follower_account_id}`, l]));
    const stored: StoredSignal = {
      signalId,
      masterAccountId,
      receivedAt,
      masterSignalId: req.signalId ?? null,
      masterDealTicket: req.dealTicket ?? null,
      traceContext,
    };

    const orders: CopyOrderRow[] = [];
    const links: LinkRow[] = [];
    const nextOrderLinks: OrderLinkRow[] = [];
    const withdrawn: CopyOrderRow[] = [];
    const events: OutboxEvent[] = [];
    const woken = new Set<string>();
    const body: SignalResponse = { signalId: req.signalId ?? signalId, copies: [], skipped: [] };
    for (const f of followers) {
      const row = orderLinkOf.get(`${f.groupId}\n${f.followerAccountId}`);
      const placement = row && row.ticket === null ? await getOrder(tx.trx, row.place_order_id) : undefined;
      const undelivered = placement?.status === 'queued';
      const decision = planOrder(signal, {
        ...followerContextOf(f, { master, synonyms }, linkedPosition(f.link), now),
        order: linkedOrder(row, undelivered),
      });
      const orderId = newId('ord');
      const order = copyOrder(
        stored,
        { orderId, groupId: f.groupId, followerAccountId: f.followerAccountId, now },
        signal,
        decision,
      );
      orders.push(order);
      const linkNow = row ? nextOrderLink(row, signal, decision, now) : null;
      if (decision.action === 'skip') {
        body.skipped.push(skippedCopy(f, orderId, decision));
        if (decision.reason === 'master_order_cancelled' && row)
          withdrawn.push(
            ...(await withdrawOrders(
              tx.trx,
              [row.place_order_id],
              { reason: decision.reason, detail: decision.detail },
              now,
            )),
          );
        if (linkNow) nextOrderLinks.push(linkNow);
        continue;
      }
      // A fill replacing an order never delivered: take the placement back, only the open goes.
      if (decision.action === 'open' && 'replacesOrder' in decision && row && undelivered)
        withdrawn.push(
          ...(await withdrawOrders(
            tx.trx,
            [row.place_order_id],
            { reason: 'order_filled_at_market', detail: 'replaced by a market open' },
            now,
          )),
        );
      const eventId = newId('evt');
      events.push({
        accountId: f.followerAccountId,
        eventId,
        traceContext,
        ...outboxPayloadFor(decision, { orderId, masterAccountId, groupId: f.groupId }),
      });
      order.outbox_event_id = eventId;
      woken.add(f.followerAccountId);
      body.copies.push(queuedCopy(f, orderId, order.volume));
      if (decision.action === 'place_order')
        nextOrderLinks.push(placedLink(f, masterAccountId, signal, decision, orderId, now));
      else if (linkNow) nextOrderLinks.push(linkNow);
      // The position link of a market open a fill became (`market_on_fill`, or a replaced order).
      if (decision.action === 'open')
        links.push(
          openedLinkRow({
            groupId: f.groupId,
            followerAccountId: f.followerAccountId,
            masterAccountId,
            masterPositionId: decision.masterPositionId,
            open: decision,
            orderId,
            masterVolume: signal.volume,
            masterPrice: signal.price,
            signalAt: signal.occurredAt,
            now,
          }),
        );
      // A copy that filled while the master's order ended unfilled: its position is closing.
      if (decision.action === 'close' && f.link)
        links.push({ ...f.link, status: 'closing', updated_at: now });
    }
    const rowsOf = await enqueueInRounds(tx.trx, events, now, pg);
    await insertOrders(tx.trx, orders);
    await upsertLinks(tx.trx, links);
    await upsertOrderLinks(tx.trx, nextOrderLinks);
    for (const o of withdrawn) await publishOrderUpdate(deps, tx.trx, o);
    return settleSignal(deps, tx, {
      call,
      masterAccountId,
      signalId,
      req,
      masterPositionId,
      body,
      batch: { woken, rowsOf },
      receivedAt,
      now,
    });
  });
  if (notify.length)
    deps.logger.debug(
      { signal: reply.body.signalId, copies: reply.body.copies.length, skipped: reply.body.skipped.length },
      'order signal fanned out',
    );
  return reply;
}

function copyOrder(
  stored: StoredSignal,
  target: OrderTarget,
  signal: MasterOrderSignal,
  d: OrderDecision,
): CopyOrderRow {
  const isSkip = d.action === 'skip';
  return signalOrderRow(stored, target, signal, d, {
    // Orders name the master order; the open a fill becomes (or the close of a copy that
    // filled alone) names the master position.
    master_position_id: 'masterPositionId' in d ? d.masterPositionId : signal.masterOrderId,
    kind: isSkip ? KIND[signal.type] : d.action,
    reason: isSkip ? d.reason : 'reason' in d ? (d.reason ?? null) : null,
    detail: isSkip
      ? d.detail
      : d.action === 'cancel_order' || d.action === 'close'
        ? (d.detail ?? null)
        : null,
    volume: isSkip ? null : d.volume,
    sl: 'sl' in d ? (d.sl ?? null) : null,
    tp: 'tp' in d ? (d.tp ?? null) : null,
    ticket:
      d.action === 'modify_order' || d.action === 'cancel_order' || d.action === 'close' ? d.ticket : null,
    expires_at: d.action === 'open' || d.action === 'place_order' ? d.expiresAt : null,
  });
}

function placedLink(
  f: FollowerSlice,
  masterAccountId: string,
  signal: MasterOrderSignal,
  d: Extract<OrderDecision, { action: 'place_order' }>,
  orderId: string,
  now: number,
): OrderLinkRow {
  return {
    group_id: f.groupId,
    follower_account_id: f.followerAccountId,
    master_account_id: masterAccountId,
    master_order_id: signal.masterOrderId,
    master_position_id: null,
    symbol: d.symbol,
    side: d.side,
    order_type: d.orderType,
    volume: d.volume,
    master_volume: signal.volume,
    price: d.price,
    stop_limit_price: d.stopLimitPrice,
    sl: d.sl,
    tp: d.tp,
    order_expires_at: d.orderExpiresAt,
    ticket: null,
    position_ticket: null,
    status: 'pending',
    place_order_id: orderId,
    signal_at: signal.occurredAt,
    linked_at: null,
    created_at: now,
    updated_at: now,
  };
}

/** The order link as the follower's book now has it, after a modification, cancel or fill. */
function nextOrderLink(
  row: OrderLinkRow,
  signal: MasterOrderSignal,
  d: OrderDecision,
  now: number,
): OrderLinkRow | null {
  const filledOnMaster =
    signal.type === 'order.filled'
      ? { master_position_id: signal.masterPositionId ?? signal.masterOrderId }
      : {};
  switch (d.action) {
    case 'modify_order':
      // The copy moves when the follower reports the modification done (executions.ts).
      return { ...row, updated_at: now };
    case 'cancel_order':
      return { ...row, status: 'cancelled', updated_at: now };
    case 'open':
      return { ...row, ...filledOnMaster, status: 'replaced', updated_at: now };
    case 'skip':
      if (d.reason === 'master_order_cancelled') return { ...row, status: 'cancelled', updated_at: now };
      return signal.type === 'order.filled' ? { ...row, ...filledOnMaster, updated_at: now } : null;
    default:
      return null;
  }
}
