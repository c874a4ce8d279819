/**
 * `POST /executions`: a follower reports what became of a copy order. Links follow the
 * follower's own ticket so later modifications and closes address it.
 */
import { AppError, type ExecutionRequest, type ExecutionResponse } from '@kopitra/contracts';
import { addWithdrawn, executionOutcome, type SymbolSpec } from '@kopitra/engine';
import {
  getOrder,
  getLink,
  queuedOrdersOfCopies,
  updateLink,
  updateOrder,
  withdrawOrders,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import { getSymbolSpec } from '../../store/inbox.js';
import { outboxPayload } from '../../store/outbox.js';
import { getOrderLink, updateOrderLink } from '../../store/order-links.js';
import { inTransaction } from '../../store/transaction.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { remember, replayFor, requestHash, type Reply } from '../idempotent.js';
import { logForbiddenAttempt } from '../inbox.js';
import type { SessionContext } from '../sessions.js';
import { publishOrderUpdate } from './order-events.js';
import { continueTrace, stepStart } from '../../telemetry/tracing.js';

const EXECUTIONS_ROUTE = 'POST /executions';
const FINAL = new Set(['filled', 'rejected', 'failed', 'expired', 'skipped', 'withdrawn']);
/** Taken back before or while the terminal had it: a fill reported anyway is still a real position. */
const TAKEN_BACK = new Set(['expired', 'withdrawn']);
/** Links whose volume is still the follower's to hold. */
const LIVE = new Set(['open', 'closing']);

async function symbolSpec(db: Db, accountId: string, symbol: string | null): Promise<SymbolSpec | null> {
  if (!symbol) return null;
  return (await getSymbolSpec(db, accountId, symbol)) ?? null;
}

/** Slippage against the master's price, in points and in account currency; positive is worse for the follower. */
export function slippage(
  order: Pick<CopyOrderRow, 'side' | 'master_price'>,
  fillPrice: number,
  volume: number,
  spec: SymbolSpec | null,
): { points: number | null; amount: number | null } {
  if (order.master_price === null || !spec || spec.point <= 0) return { points: null, amount: null };
  const diff = order.side === 'sell' ? order.master_price - fillPrice : fillPrice - order.master_price;
  const points = Math.round((diff / spec.point) * 10) / 10;
  const amount =
    spec.tickSize > 0 ? Math.round((diff / spec.tickSize) * spec.tickValue * volume * 100) / 100 : null;
  return { points, amount };
}

export async function reportExecution(
  deps: GatewayDeps,
  ctx: SessionContext,
  idempotencyKey: string,
  req: ExecutionRequest,
): Promise<Reply<ExecutionResponse>> {
  const accountId = ctx.session.account_id;
  if (ctx.session.status === 'pending') {
    await logForbiddenAttempt(deps, ctx, 'POST /executions', 'session pending approval');
    throw new AppError('session_pending');
  }
  const call = {
    scope: accountId,
    key: idempotencyKey,
    route: EXECUTIONS_ROUTE,
    requestHash: requestHash(deps.secret, req),
  };
  const start = stepStart(deps.tracing);
  return inTransaction(deps.db, async (tx) => {
    const replay = await replayFor(tx.trx, call);
    if (replay) return replay as Reply<ExecutionResponse>;
    const order = await getOrder(tx.trx, req.orderId);
    if (!order || order.follower_account_id !== accountId)
      throw new AppError('order_not_found', undefined, { orderId: req.orderId });
    const now = deps.clock.now();
    const respond = async (o: CopyOrderRow): Promise<Reply<ExecutionResponse>> => {
      const reply = {
        statusCode: 200,
        body: {
          orderId: o.order_id,
          status: o.status,
          ticket: o.ticket,
          slippagePoints: o.slippage_points,
        },
      };
      await remember(tx.trx, call, reply, now);
      return reply;
    };
    // `placed` answers a placement only: its pending order is on the book, the copy order done.
    // A placement is never `filled`; the broker refusing it is `rejected` or `failed` like any order.
    const placed = req.status === 'placed';
    const placement = order.kind === 'place_order';
    if (placed ? !placement : placement && req.status === 'filled')
      throw new AppError(
        'execution_status_invalid',
        placed
          ? `Copy order ${order.order_id} is a ${order.kind}, not a pending order: report filled, rejected or failed.`
          : `Copy order ${order.order_id} places a pending order: report placed, rejected or failed.`,
        { orderId: order.order_id, kind: order.kind },
      );
    // A placement's copy order is done once its pending order is on the follower's book.
    const status = req.status === 'placed' ? 'filled' : req.status;
    if (FINAL.has(order.status)) {
      if (order.status === status) return respond(order);
      // An expired (or withdrawn) open the EA filled anyway is a real position: the book must know it.
      if (!(TAKEN_BACK.has(order.status) && req.status === 'filled')) {
        throw new AppError('execution_conflict', `Copy order ${order.order_id} is already ${order.status}.`, {
          orderId: order.order_id,
          status: order.status,
        });
      }
    }
    const ticket = req.ticket ?? order.ticket;
    const patch: Partial<CopyOrderRow> = {
      status,
      ticket,
      executed_at: Date.parse(req.executedAt),
      reported_at: now,
      updated_at: now,
      error_code: req.errorCode !== undefined ? String(req.errorCode) : null,
      message: req.message ?? null,
      profit: req.profit ?? null,
      acknowledged_at: order.acknowledged_at ?? now,
    };
    if (status === 'filled') {
      const volume = req.volume ?? order.volume ?? 0;
      patch.filled_volume = volume;
      if (req.price !== undefined) {
        patch.fill_price = req.price;
        if (order.kind === 'open' || order.kind === 'increase') {
          const s = slippage(order, req.price, volume, await symbolSpec(tx.trx, accountId, order.symbol));
          patch.slippage_points = s.points;
          patch.slippage_amount = s.amount;
        }
      }
    } else {
      // The reason is a catalogue code; the broker's code and words stay in error_code and message.
      const outcome = executionOutcome(order.kind, status, req.errorCode, order.origin);
      patch.reason = outcome.reason;
      patch.detail = outcome.detail;
    }
    await updateOrder(tx.trx, order.order_id, patch);
    const withdrawn = await followLink(tx.trx, order, req, ticket, now, deps.dialect === 'postgres');
    const updated = { ...order, ...patch } as CopyOrderRow;
    await publishOrderUpdate(deps, tx.trx, updated);
    for (const o of withdrawn) await publishOrderUpdate(deps, tx.trx, o);
    if (deps.tracing?.enabled)
      tx.afterCommit(() =>
        continueTrace(
          deps.tracing,
          'copy.execution',
          order.trace_context ?? null,
          {
            'kopitra.order_id': order.order_id,
            'kopitra.follower_account_id': accountId,
            'kopitra.order.kind': order.kind,
            'kopitra.order.status': updated.status,
            ...(updated.ticket ? { 'kopitra.order.ticket': updated.ticket } : {}),
            ...(updated.slippage_points !== null
              ? { 'kopitra.slippage_points': updated.slippage_points }
              : {}),
          },
          start,
        ),
      );
    return respond(updated);
  });
}

/** Follows the report on the copy's link; returns the copy orders it withdrew. */
async function followLink(
  db: Db,
  order: CopyOrderRow,
  req: ExecutionRequest,
  ticket: string | null,
  now: number,
  lock: boolean,
): Promise<CopyOrderRow[]> {
  if (order.kind === 'place_order' || order.kind === 'modify_order' || order.kind === 'cancel_order') {
    await followOrderLink(db, order, req, ticket, now);
    return [];
  }
  const key = {
    groupId: order.group_id,
    followerAccountId: order.follower_account_id,
    masterPositionId: order.master_position_id,
  };
  const link = await getLink(db, key.groupId, key.followerAccountId, key.masterPositionId, lock);
  if (!link) return [];
  const filled = req.status === 'filled';
  switch (order.kind) {
    case 'open':
      if (link.open_order_id !== order.order_id) return [];
      if (filled) {
        // Exits planned while the open was in flight already took their share off the link's volume.
        const fill = req.volume ?? order.volume ?? link.open_volume;
        const openVolume = Math.max(0, Number((link.open_volume - (order.volume ?? fill) + fill).toFixed(8)));
        await updateLink(db, key, {
          status: link.status === 'expired' || link.status === 'failed' ? 'open' : link.status,
          ticket,
          open_volume: openVolume,
          linked_at: now,
          updated_at: now,
        });
      }
      // The master closed while this open was on its way: there is nothing to close and
      // nothing to re-open, whatever the close that follows reports.
      else if (link.status === 'closing' || link.status === 'closed')
        await updateLink(db, key, { status: 'closed', closed_at: link.closed_at ?? now, updated_at: now });
      // A join the follower refused (its price beyond the distance) ends there: re-opening it
      // later would be at a price the policy did not accept.
      else if (order.origin === 'join')
        await updateLink(db, key, { status: 'closed', closed_at: now, updated_at: now });
      // The reconciler re-issues or alerts on a failed open.
      else await updateLink(db, key, { status: 'failed', updated_at: now });
      return filled ? [] : withdrawAdds(db, link, now, lock);
    case 'increase': {
      // The add was counted when planned: a fill of another volume corrects it, a refusal takes
      // it back (the master's volume stays grown: its position did grow).
      const fill = filled ? (req.volume ?? order.volume ?? 0) : 0;
      // An add that expired undelivered was taken back then; filled anyway, it counts again.
      const takenBack = TAKEN_BACK.has(order.status);
      const change = fill - (takenBack ? 0 : (order.volume ?? 0));
      if ((!filled && !LIVE.has(link.status)) || (takenBack && !filled)) return [];
      // Filled although the copy's open failed (a terminal that adds without the copy): the
      // copy exists after all, as this position. The link keeps the whole copied volume, so
      // reconciliation sees what the refused open should have held.
      if (filled && (link.status === 'failed' || link.status === 'expired')) {
        await updateLink(db, key, {
          status: 'open',
          ticket,
          open_volume: Math.max(0, Number((link.open_volume + change).toFixed(8))),
          position_count: 1,
          linked_at: now,
          updated_at: now,
        });
        return [];
      }
      const openVolume = Math.max(0, Number((link.open_volume + change).toFixed(8)));
      // A partial close planned while the add was in flight counted the add: once it is refused,
      // nothing may be left of the copy (the follower closed all it held). It ended by its own
      // orders, not by hand: closed, so the reconciler does not take it for a detached copy.
      if (!filled && openVolume === 0 && link.status === 'open') {
        await updateLink(db, key, { open_volume: 0, status: 'closed', closed_at: now, updated_at: now });
        return [];
      }
      await updateLink(db, key, {
        open_volume: openVolume,
        ...(filled ? {} : { position_count: Math.max(1, link.position_count - 1) }),
        ...(takenBack && ticket && ticket !== link.ticket ? { position_count: link.position_count + 1 } : {}),
        // A hedging add is a position of its own; the link keeps its first ticket unless it had none.
        ...(filled && link.ticket === null && ticket ? { ticket, linked_at: now } : {}),
        updated_at: now,
      });
      return [];
    }
    case 'partial_close':
      // On MT4 the rest of a partially closed position gets a new ticket; the link follows it.
      // (A netting follower's reconciliation deal for a closed link leaves that link as it is.)
      if (filled && ticket && ticket !== link.ticket && LIVE.has(link.status))
        await updateLink(db, key, { ticket, linked_at: now, updated_at: now });
      return [];
    case 'close':
      // A failed close leaves a tagged position with no live link: the reconciler closes it as an orphan.
      await updateLink(db, key, { status: 'closed', closed_at: now, updated_at: now });
      return [];
    default:
      return [];
  }
}

/**
 * The copy's open was refused: adds the master made meanwhile still wait undelivered behind
 * it, and would open a position of their own. They are withdrawn; their volume stays on the
 * failed link, which reconciliation re-opens whole (or alerts on) like any failed open.
 */
async function withdrawAdds(db: Db, link: LinkRow, now: number, lock: boolean): Promise<CopyOrderRow[]> {
  const queued = await queuedOrdersOfCopies(db, [link], link.master_position_id, lock);
  const adds = queued.filter((o) => o.kind === 'increase').map((o) => o.order_id);
  return withdrawOrders(db, adds, addWithdrawn(link.open_order_id), now);
}

/** The follower's copy of a master's pending order follows its placement and cancel reports. */
async function followOrderLink(
  db: Db,
  order: CopyOrderRow,
  req: ExecutionRequest,
  ticket: string | null,
  now: number,
): Promise<void> {
  const key = {
    groupId: order.group_id,
    followerAccountId: order.follower_account_id,
    masterOrderId: order.master_position_id,
  };
  const link = await getOrderLink(db, key);
  if (!link) return;
  const done = req.status === 'placed' || req.status === 'filled';
  if (order.kind === 'place_order' && link.place_order_id === order.order_id) {
    if (done) await updateOrderLink(db, key, { ticket, linked_at: now, updated_at: now });
    // Refused by the broker (stops or freeze level, a price on the wrong side): nothing is pending.
    else if (link.status === 'pending') await updateOrderLink(db, key, { status: 'failed', updated_at: now });
  }
  // The follower's order moves once its terminal says it did: a modification the broker refused
  // (inside the stops or freeze level) leaves the order where it was, and so does its copy here.
  if (order.kind === 'modify_order' && req.status === 'filled' && order.outbox_event_id) {
    const p = await outboxPayload(db, order.outbox_event_id);
    if (p)
      await updateOrderLink(db, key, {
        price: p['price'] as number,
        stop_limit_price: (p['stopLimitPrice'] as number | null | undefined) ?? null,
        sl: p['sl'] as number | null,
        tp: p['tp'] as number | null,
        order_expires_at: typeof p['expiresAt'] === 'string' ? Date.parse(p['expiresAt']) : null,
        updated_at: now,
      });
  }
}
