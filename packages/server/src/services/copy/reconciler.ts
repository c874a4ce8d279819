/**
 * Reconciliation, the safety net: compares each follower's expected book (its links) with
 * the book it last reported (`ea.sync_snapshot`) and with failed or expired copy orders,
 * and queues the corrections the engine decides. Runs periodically and on demand.
 */
import { parsePositionTag, SyncSnapshotPayload, tagMatches } from '@kopitra/contracts';
import {
  reconcile,
  withDefaults,
  type Correction,
  type ExpectedPosition,
  type NetCorrection,
  type OrderCorrection,
  type ReportedPosition,
  type SubscriptionInput,
  type SubscriptionSettings,
} from '@kopitra/engine';
import { accountChannel } from '../../notify/notifier.js';
import {
  failedOrdersSince,
  inFlightOrders,
  linksOfFollower,
  lockMaster,
  positionsChangedSince,
  staleOpens,
  subscribedFollowerIds,
  subscriptionsOfFollower,
  type LinkRow,
} from '../../store/copy.js';
import { getSymbolCatalog, latestInbox, nettingFromInit, telemetryOf } from '../../store/inbox.js';
import { orderLinksOfFollower } from '../../store/order-links.js';
import type { Db } from '../../store/schema.js';
import { inTransaction, type Tx } from '../../store/transaction.js';
import type { GatewayDeps } from '../deps.js';
import { expireOpens } from './expiry.js';
import { applyCorrection, applyNetCorrection } from './corrections.js';
import { joinFollower, type JoinSummary } from './join.js';
import { nettingCorrections } from './netting-reconciler.js';
import { applyOrderWork, planOrderPass } from './order-reconciler.js';

const FAILED_WINDOW_MS = 24 * 3_600_000;

export interface ReconcileSummary {
  followerAccountId: string;
  /** Positions the master held that the follower was offered on joining (see `join.ts`). */
  joins: JoinSummary['decisions'];
  corrections: Array<{
    groupId: string;
    kind: Correction['kind'] | NetCorrection['kind'] | OrderCorrection['kind'] | 'cancel_ended_order';
    masterPositionId?: string;
    reason?: string;
  }>;
}

function expectedFrom(link: LinkRow): ExpectedPosition {
  return {
    masterPositionId: link.master_position_id,
    symbol: link.symbol,
    side: link.side,
    volume: link.open_volume,
    ticket: link.status === 'failed' || link.status === 'expired' ? null : link.ticket,
    signalAt: link.signal_at,
    masterPrice: link.master_price,
    sl: link.sl,
    tp: link.tp,
    detached: link.status === 'detached',
    closing: link.status === 'closing',
    linkedAt: link.linked_at,
    positions: link.position_count,
  };
}

/**
 * Reconciles every subscription of one follower. A read-only look comes first: most passes
 * find nothing to do, and those never take the masters' signal locks (on PostgreSQL) or the
 * write lock (SQLite), so a periodic pass over thousands of followers does not queue a
 * master's signals behind it. Only a follower with work is decided again, and applied, under
 * the locks.
 */
export async function reconcileFollower(
  deps: GatewayDeps,
  followerAccountId: string,
): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { followerAccountId, corrections: [], joins: [] };
  if (await reconcilePass(deps, deps.db, null, followerAccountId, summary)) {
    await inTransaction(deps.db, (tx) => reconcilePass(deps, tx.trx, tx, followerAccountId, summary));
  }
  if (summary.corrections.length) deps.logger.info(summary, 'reconciliation corrected a follower');
  summary.joins = (await joinFollower(deps, followerAccountId)).decisions;
  return summary;
}

/**
 * One look at a follower's book. Without `tx` it only reads, and answers whether there is
 * anything to apply (a stale open to expire, a correction to queue); with `tx` it holds the
 * locks, decides again and applies.
 */
async function reconcilePass(
  deps: GatewayDeps,
  db: Db,
  tx: Tx | null,
  followerAccountId: string,
  summary: ReconcileSummary,
): Promise<boolean> {
  const now = deps.clock.now();
  const subs = await subscriptionsOfFollower(db, followerAccountId);
  if (tx && deps.dialect === 'postgres') {
    // The corrections and the masters' state are decided together, in the fan-out's lock
    // order: each master's signal lock (in id order, so two passes cannot deadlock), then
    // this follower's links. A master's close waits for this pass or this pass for it, so
    // a re-open is never decided from a book that a close already changed.
    for (const masterId of [...new Set(subs.map((s) => s.master_account_id))].sort())
      await lockMaster(db, masterId);
    await linksOfFollower(db, followerAccountId, true);
  }
  const stale = await staleOpens(db, now, followerAccountId);
  if (stale.length) {
    if (!tx) return true;
    await expireOpens(deps, db, stale, now);
  }
  if (subs.length === 0) return false;
  const allLinks = await linksOfFollower(db, followerAccountId);
  const snapshot = await latestInbox(db, followerAccountId, 'ea.sync_snapshot');
  const parsed = snapshot ? SyncSnapshotPayload.safeParse(snapshot.payload) : undefined;
  const reportedAll: ReportedPosition[] = parsed?.success
    ? parsed.data.positions.map((p) => ({ ...p, comment: p.comment ?? null, magic: p.magic ?? null }))
    : [];
  const symbols = await getSymbolCatalog(db, followerAccountId);
  const orderLinks = await orderLinksOfFollower(db, followerAccountId, now - FAILED_WINDOW_MS);
  const netting = nettingFromInit((await telemetryOf(db, [followerAccountId]))[0]?.last_init);
  let woke = false;
  const settingsOf = new Map<string, SubscriptionSettings>();
  for (const sub of subs) {
    const settings = withDefaults(JSON.parse(sub.settings) as SubscriptionInput);
    settingsOf.set(sub.group_id, settings);
    const mine = allLinks.filter((l) => l.group_id === sub.group_id);
    const othersAll = allLinks.filter((l) => l.group_id !== sub.group_id);
    // A position carrying the tag of a copied order still pending here is that order's fill,
    // not yet told: the order pass links it; it is nobody's orphan.
    const waiting = orderLinks.filter((l) => l.group_id === sub.group_id && l.status === 'pending');
    const reported = reportedAll.filter((r) => {
      const tag = parsePositionTag(r.comment);
      return !(tag && waiting.some((l) => tagMatches(tag, sub.group_id, l.master_order_id)));
    });
    const busy = new Set(
      (await inFlightOrders(db, sub.group_id, followerAccountId)).map((o) => o.master_position_id),
    );
    const failed = await failedOrdersSince(db, sub.group_id, followerAccountId, now - FAILED_WINDOW_MS);
    // A snapshot cannot judge a position that changed after it arrived (a partial close
    // executed, a new MT4 ticket reported): it would trim the volume again or relink the old
    // ticket. Such positions, and what the snapshot shows of them, wait for the next snapshot.
    const snapshotAt = snapshot?.capturedAt ?? 0;
    const changed = await positionsChangedSince(db, sub.group_id, followerAccountId, snapshotAt);
    const live = mine.filter((l) => l.status !== 'closed');
    const settled = (l: LinkRow) =>
      l.ticket === null ||
      l.status === 'failed' ||
      l.status === 'expired' ||
      (!changed.has(l.master_position_id) && l.updated_at <= snapshotAt);
    const unsettled = live.filter((l) => !settled(l));
    const judged = reported.filter((r) => {
      const tag = parsePositionTag(r.comment);
      return !unsettled.some(
        (l) => l.ticket === r.ticket || (tag !== null && tagMatches(tag, sub.group_id, l.master_position_id)),
      );
    });
    const corrections = reconcile({
      groupId: sub.group_id,
      // Positions another group copied are that group's business, never orphans of this one.
      otherGroups: othersAll.map((l) => ({
        masterPositionId: l.master_position_id,
        ticket: l.ticket,
        closed: l.status === 'closed',
      })),
      // An open that expired while the follower was away is a join, when the policy joins.
      expected: live
        .filter(settled)
        .filter((l) => !(l.status === 'expired' && settings.onJoin.mode !== 'none'))
        .map(expectedFrom),
      reported: judged,
      snapshotAt,
      failedOrders: failed.map((o) => ({
        masterPositionId: o.master_position_id,
        kind: o.kind,
        status: o.status,
        at: o.updated_at,
        orderId: o.order_id,
      })),
      recentlyClosed: mine
        .filter((l) => l.status === 'closed' && l.closed_at !== null)
        .map((l) => ({ masterPositionId: l.master_position_id, ticket: l.ticket, closedAt: l.closed_at! })),
      now,
      settings,
      symbols,
      netting,
      openPositions: live
        .filter((l) => l.status === 'open' || l.status === 'closing')
        .reduce((n, l) => n + l.position_count, 0),
    });
    const orderPass = {
      scope: { groupId: sub.group_id, masterAccountId: sub.master_account_id, followerAccountId },
      settings,
      links: orderLinks,
      reported: parsed?.success ? (parsed.data.orders ?? null) : null,
      positions: reportedAll,
      snapshotAt,
      busy,
      now,
    };
    const orderWork = await planOrderPass(db, orderPass);
    if (orderWork.length) {
      if (!tx) return true;
      if (await applyOrderWork(deps, tx.trx, orderPass, orderWork)) woke = true;
      for (const w of orderWork) {
        const masterOrderId =
          w.kind === 'ended'
            ? w.link.master_order_id
            : 'masterOrderId' in w.correction
              ? w.correction.masterOrderId
              : null;
        summary.corrections.push({
          groupId: sub.group_id,
          kind: w.kind === 'ended' ? 'cancel_ended_order' : w.correction.kind,
          ...(masterOrderId ? { masterPositionId: masterOrderId } : {}),
        });
      }
    }
    for (const c of corrections) {
      const id = 'masterPositionId' in c ? c.masterPositionId : undefined;
      // One correction at a time per position: wait for the order in flight to finish.
      if (id !== undefined && busy.has(id) && c.kind !== 'alert') continue;
      if (!tx) return true;
      const applied = await applyCorrection(
        deps,
        tx,
        { groupId: sub.group_id, masterAccountId: sub.master_account_id, followerAccountId },
        c,
        symbols,
        now,
      );
      if (applied === 'queued') woke = true;
      if (applied !== 'none')
        summary.corrections.push({
          groupId: sub.group_id,
          kind: c.kind,
          ...(id !== undefined ? { masterPositionId: id } : {}),
          ...(c.kind === 'alert' ? { reason: c.reason } : {}),
        });
    }
  }
  if (netting) {
    // One net position per symbol, shared by every group's copies: judged per symbol.
    const net = await nettingCorrections(db, {
      followerAccountId,
      links: allLinks,
      orderLinks,
      reported: reportedAll,
      snapshotAt: snapshot?.capturedAt ?? 0,
      settings: settingsOf,
      symbols,
      since: now - FAILED_WINDOW_MS,
      now,
    });
    for (const c of net) {
      if (!tx) return true;
      const sub = subs.find((x) => x.group_id === c.groupId)!;
      const scope = { groupId: c.groupId, masterAccountId: sub.master_account_id, followerAccountId };
      const applied = await applyNetCorrection(deps, tx, scope, c, symbols, now);
      if (applied === 'queued') woke = true;
      if (applied !== 'none')
        summary.corrections.push({
          groupId: c.groupId,
          kind: c.kind,
          ...('masterPositionId' in c && c.masterPositionId !== undefined
            ? { masterPositionId: c.masterPositionId }
            : {}),
          ...(c.kind === 'alert' || c.kind === 'net_deal' ? { reason: c.reason } : {}),
        });
    }
  }
  if (woke) await deps.notifier.notify(db, accountChannel(followerAccountId));
  return false;
}

/** One periodic pass: expire opens nobody picked up in time, then reconcile every follower. */
export async function reconcileAll(deps: GatewayDeps): Promise<ReconcileSummary[]> {
  const now = deps.clock.now();
  const stale = await staleOpens(deps.db, now);
  if (stale.length) await inTransaction(deps.db, ({ trx }) => expireOpens(deps, trx, stale, now));
  const out: ReconcileSummary[] = [];
  for (const id of await subscribedFollowerIds(deps.db)) out.push(await reconcileFollower(deps, id));
  return out;
}
