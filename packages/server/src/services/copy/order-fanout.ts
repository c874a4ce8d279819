/**
 * `POST /signals` for the master's pending orders (`order.placed`, `order.modified`,
 * `order.cancelled`, `order.filled`): per subscription, one copy order and (unless skipped)
 * one outbox event, in the transaction that stores the signal, as for position signals
 * (`fanout.ts`). The follower's copy of each master order is kept in `order_links`; when the
 * master's order fills, the subscription's policy decides (see the engine's `pending.ts`).
 */
import {
  AppError,
  isoTime,
  topics,
  type OrderSignalRequest,
  type SignalAccepted,
  type SignalResponse,
} from '@kopitra/contracts';
import {
  planOrder,
  type LinkedOrder,
  type LinkedPosition,
  type MasterOrderSignal,
  type OrderDecision,
} from '@kopitra/engine';
import {
  findSignalDuplicate,
  getOrder,
  insertOrders,
  insertSignal,
  lockMaster,
  setSignalResponse,
  upsertLinks,
  withdrawOrders,
  NOT_YET_EXECUTED,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import { newId } from '../../store/ids.js';
import { applyMasterSignal } from '../../store/master-positions.js';
import { linksForMasterOrder, upsertOrderLinks, type OrderLinkRow } from '../../store/order-links.js';
import { enqueueOutboxMany, type OutboxRow } from '../../store/outbox.js';
import { inTransaction } from '../../store/transaction.js';
import { storedContext } from '../../telemetry/tracing.js';
import type { GatewayDeps } from '../deps.js';
import { remember, replayFor, requestHash, type Reply } from '../idempotent.js';
import { logForbiddenAttempt } from '../inbox.js';
import type { SessionContext } from '../sessions.js';
import { loadFanoutContext, type FollowerSlice } from './context.js';
import { checkOccurredAt, wakeFollowers } from './fanout.js';
import { publishOrderUpdate } from './order-events.js';
import { outboxPayloadFor } from './payloads.js';

const SIGNALS_ROUTE = 'POST /signals';

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

function linkedPosition(link: LinkRow | null): LinkedPosition | null {
  if (!link || (link.status !== 'open' && link.status !== 'closing' && link.status !== 'detached'))
    return null;
  return {
    ticket: link.ticket,
    openVolume: link.open_volume,
    symbol: link.symbol,
    side: link.side,
    detached: link.status === 'detached',
    masterVolume: link.master_volume,
  };
}

export async function acceptOrderSignal(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
  req: OrderSignalRequest,
): Promise<Reply<SignalResponse>> {
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
    if (pg) await lockMaster(tx.trx, masterAccountId);
    const replay = await replayFor(tx.trx, call);
    if (replay) return { reply: replay as Reply<SignalResponse>, notify: [] as string[] };
    const duplicate = await findSignalDuplicate(
      tx.trx,
      masterAccountId,
      req.signalId,
      req.dealTicket,
      req.type,
    );
    if (duplicate) {
      const again: Reply<SignalResponse> = { statusCode: 202, body: JSON.parse(duplicate.response) };
      await remember(tx.trx, call, again, receivedAt);
      return { reply: again, notify: [] };
    }
    const now = deps.clock.now();
    const signalId = newId('sig');
    const traceContext = storedContext(deps.tracing);
    const occurredAt = Date.parse(req.occurredAt);
    const masterPositionId = req.masterPositionId ?? req.masterOrderId;
    const signalRow = {
      signal_id: signalId,
      master_account_id: masterAccountId,
      session_id: session.session_id,
      client_signal_id: req.signalId ?? null,
      deal_ticket: req.dealTicket ?? null,
      type: req.type,
      master_position_id: req.masterOrderId,
      symbol: req.symbol,
      side: req.side,
      volume: req.volume,
      remaining_volume: null,
      price: req.price,
      sl: req.sl ?? null,
      tp: req.tp ?? null,
      magic: req.magic ?? null,
      comment: req.comment ?? null,
      occurred_at: occurredAt,
      received_at: receivedAt,
      response: '{}',
    };
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

    const orders: CopyOrderRow[] = [];
    const links: LinkRow[] = [];
    const nextOrderLinks: OrderLinkRow[] = [];
    const withdrawn: CopyOrderRow[] = [];
    const events: Parameters<typeof enqueueOutboxMany>[1] = [];
    const woken = new Set<string>();
    const body: SignalResponse = { signalId: req.signalId ?? signalId, copies: [], skipped: [] };
    for (const f of followers) {
      const row = orderLinkOf.get(`${f.groupId}\n${f.followerAccountId}`);
      const placement = row && row.ticket === null ? await getOrder(tx.trx, row.place_order_id) : undefined;
      const undelivered = placement?.status === 'queued';
      const decision = planOrder(signal, {
        groupId: f.groupId,
        settings: f.settings,
        symbols: f.symbols,
        masterSymbol: master.symbol,
        follower: f.metrics,
        master: master.metrics,
        link: linkedPosition(f.link),
        order: linkedOrder(row, undelivered),
        openPositions: f.exposure.positions,
        openLots: f.exposure.lots,
        recentOpenTimes: f.recentOpens,
        activeStopOut: f.activeStopOut,
        now,
        netting: f.netting,
        synonyms,
      });
      const orderId = newId('ord');
      const order = copyOrder(orderId, signalId, masterAccountId, f, signal, decision, {
        receivedAt,
        now,
        masterSignalId: req.signalId ?? null,
        masterDealTicket: req.dealTicket ?? null,
        traceContext,
      });
      orders.push(order);
      const linkNow = row ? nextOrderLink(row, signal, decision, now) : null;
      if (decision.action === 'skip') {
        body.skipped.push({
          followerAccountId: f.followerAccountId,
          groupId: f.groupId,
          orderId,
          reason: decision.reason,
          detail: decision.detail,
        });
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
      body.copies.push({
        followerAccountId: f.followerAccountId,
        groupId: f.groupId,
        orderId,
        status: 'queued',
        ...(order.volume !== null ? { volume: order.volume } : {}),
      });
      if (decision.action === 'place_order')
        nextOrderLinks.push(placedLink(f, masterAccountId, signal, decision, orderId, now));
      else if (linkNow) nextOrderLinks.push(linkNow);
      if (decision.action === 'open')
        links.push(openedLink(f, masterAccountId, signal, decision, orderId, now));
      // A copy that filled while the master's order ended unfilled: its position is closing.
      if (decision.action === 'close' && f.link)
        links.push({ ...f.link, status: 'closing', updated_at: now });
    }
    const rowsOf = new Map<string, OutboxRow[]>();
    // A follower in two of the master's groups gets two events: one sequence per account per round.
    for (let round = events; round.length > 0;) {
      const seen = new Set<string>();
      const batch = round.filter((e) => !seen.has(e.accountId) && seen.add(e.accountId));
      for (const r of await enqueueOutboxMany(tx.trx, batch, now, pg)) {
        const list = rowsOf.get(r.account_id);
        if (list) list.push(r);
        else rowsOf.set(r.account_id, [r]);
      }
      round = round.filter((e) => !batch.includes(e));
    }
    await insertOrders(tx.trx, orders);
    await upsertLinks(tx.trx, links);
    await upsertOrderLinks(tx.trx, nextOrderLinks);
    for (const o of withdrawn) await publishOrderUpdate(deps, tx.trx, o);
    await setSignalResponse(tx.trx, signalId, body);
    const accepted: SignalAccepted = {
      type: 'signal.accepted',
      signalId: body.signalId,
      masterAccountId,
      signalType: req.type,
      masterPositionId,
      symbol: req.symbol,
      copies: body.copies.length,
      skipped: body.skipped.length,
      occurredAt: req.occurredAt,
      receivedAt: isoTime(receivedAt),
    };
    await deps.bus.publish(topics.tradeAgentEvents, accepted, { db: tx.trx });
    const result: Reply<SignalResponse> = { statusCode: 202, body };
    await remember(tx.trx, call, result, now);
    const channels = await wakeFollowers(deps, tx, { woken, rowsOf }, now);
    return { reply: result, notify: channels };
  });
  if (notify.length)
    deps.logger.debug(
      { signal: reply.body.signalId, copies: reply.body.copies.length, skipped: reply.body.skipped.length },
      'order signal fanned out',
    );
  return reply;
}

function copyOrder(
  orderId: string,
  signalId: string,
  masterAccountId: string,
  f: FollowerSlice,
  signal: MasterOrderSignal,
  d: OrderDecision,
  t: {
    receivedAt: number;
    now: number;
    masterSignalId: string | null;
    masterDealTicket: string | null;
    traceContext: string | null;
  },
): CopyOrderRow {
  const isSkip = d.action === 'skip';
  const reason = isSkip ? d.reason : 'reason' in d ? (d.reason ?? null) : null;
  const detail = isSkip
    ? d.detail
    : d.action === 'cancel_order' || d.action === 'close'
      ? (d.detail ?? null)
      : null;
  return {
    order_id: orderId,
    signal_id: signalId,
    master_signal_id: t.masterSignalId,
    master_deal_ticket: t.masterDealTicket,
    group_id: f.groupId,
    follower_account_id: f.followerAccountId,
    master_account_id: masterAccountId,
    // Orders name the master order; the open a fill becomes (or the close of a copy that
    // filled alone) names the master position.
    master_position_id: 'masterPositionId' in d ? d.masterPositionId : signal.masterOrderId,
    kind: isSkip ? KIND[signal.type] : d.action,
    origin: 'signal',
    status: isSkip ? 'skipped' : 'queued',
    reason,
    detail,
    symbol: isSkip ? signal.symbol : d.symbol,
    side: isSkip ? signal.side : d.side,
    volume: isSkip ? null : d.volume,
    sl: 'sl' in d ? (d.sl ?? null) : null,
    tp: 'tp' in d ? (d.tp ?? null) : null,
    master_price: signal.price,
    ticket:
      d.action === 'modify_order' || d.action === 'cancel_order' || d.action === 'close' ? d.ticket : null,
    ...NOT_YET_EXECUTED,
    outbox_event_id: null,
    master_deal_at: signal.occurredAt,
    signal_received_at: t.receivedAt,
    written_at: t.now,
    expires_at: d.action === 'open' || d.action === 'place_order' ? d.expiresAt : null,
    updated_at: t.now,
    trace_context: t.traceContext,
  };
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
      return {
        ...row,
        price: d.price,
        stop_limit_price: d.stopLimitPrice,
        sl: d.sl,
        tp: d.tp,
        order_expires_at: d.orderExpiresAt,
        updated_at: now,
      };
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

/** The position link of a market open a fill became (`market_on_fill`, or a replaced order). */
function openedLink(
  f: FollowerSlice,
  masterAccountId: string,
  signal: MasterOrderSignal,
  d: Extract<OrderDecision, { action: 'open' }>,
  orderId: string,
  now: number,
): LinkRow {
  return {
    group_id: f.groupId,
    follower_account_id: f.followerAccountId,
    master_account_id: masterAccountId,
    master_position_id: d.masterPositionId,
    symbol: d.symbol,
    side: d.side,
    ticket: null,
    open_volume: d.volume,
    master_volume: signal.volume,
    position_count: 1,
    sl: d.sl,
    tp: d.tp,
    master_price: signal.price,
    signal_at: signal.occurredAt,
    status: 'open',
    open_order_id: orderId,
    linked_at: null,
    opened_at: now,
    closed_at: null,
    updated_at: now,
  };
}
