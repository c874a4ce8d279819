/**
 * Joining late: positions the master holds that a follower never got — it subscribed while
 * they were open, or their opens expired while it was away — are offered to the follower once
 * per join, by its subscription's `onJoin` policy. Runs with reconciliation, and only while
 * the follower can act at once (a live session and a symbol catalog), so a join is not
 * decided for a terminal that would let it expire.
 *
 * Each decision is a copy order of origin `join`: queued (and linked) or skipped with its
 * reason, so an operator sees what was opened and what was not. An open the follower does not
 * fill ends the join for that position (the link closes); it is not retried at a price the
 * policy never accepted.
 */
import {
  activeStopOut,
  defaultSymbolSynonyms,
  planJoin,
  withDefaults,
  type MasterPosition,
  type ReasonCode,
  type SubscriptionInput,
  type SubscriptionSettings,
} from '@kopitra/engine';
import { accountChannel } from '../../notify/notifier.js';
import {
  insertOrders,
  linksOfSubscription,
  lockMaster,
  openExposure,
  openOrdersOfPositions,
  recentOpenTimes,
  subscriptionsOfFollower,
  updateLink,
  upsertLinks,
  NOT_YET_EXECUTED,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import { newId } from '../../store/ids.js';
import {
  accountsWithCatalog,
  getSymbolCatalog,
  getSymbolSpec,
  nettingFromInit,
  telemetryOf,
} from '../../store/inbox.js';
import { masterPositionsOf, type MasterPositionRow } from '../../store/master-positions.js';
import { activeStopOutsOf, toStored } from '../../store/risk.js';
import { liveSessions } from '../../store/sessions.js';
import type { Db } from '../../store/schema.js';
import { storedSymbolSynonyms } from '../../store/symbol-synonyms.js';
import { inTransaction } from '../../store/transaction.js';
import type { GatewayDeps } from '../deps.js';
import { publishOrderUpdate } from './order-events.js';
import { queueOrder, type Scope } from './issued.js';
import { openedLinkRow } from './copy-rows.js';

export interface JoinSummary {
  followerAccountId: string;
  decisions: Array<{
    groupId: string;
    masterPositionId: string;
    action: 'open' | 'skip';
    orderId: string;
    reason?: string;
  }>;
}

/** A signal's open skipped for this reason was missed because the follower was not there yet. */
const ABSENT = new Set(['symbol_catalog_missing']);

/**
 * The master's positions this subscription should be offered: its copy expired (the follower
 * was away), or it never had one because the follower was not subscribed or had no catalog
 * yet — and no join was decided for it since.
 */
export function joinCandidates(
  held: MasterPositionRow[],
  links: LinkRow[],
  openOrders: Array<Pick<CopyOrderRow, 'master_position_id' | 'origin' | 'status' | 'reason'>>,
): Array<{ position: MasterPositionRow; link: LinkRow | null }> {
  const linkOf = new Map(links.map((l) => [l.master_position_id, l]));
  return held.flatMap((position): Array<{ position: MasterPositionRow; link: LinkRow | null }> => {
    const link = linkOf.get(position.master_position_id) ?? null;
    if (link) return link.status === 'expired' ? [{ position, link }] : [];
    const orders = openOrders.filter((o) => o.master_position_id === position.master_position_id);
    const missed = orders.every(
      (o) => o.origin === 'signal' && o.status === 'skipped' && ABSENT.has(o.reason ?? ''),
    );
    return missed ? [{ position, link: null }] : [];
  });
}

const asMasterPosition = (p: MasterPositionRow): MasterPosition => ({
  masterPositionId: p.master_position_id,
  symbol: p.symbol,
  side: p.side,
  volume: p.volume,
  openPrice: p.open_price,
  sl: p.sl,
  tp: p.tp,
  magic: p.magic,
  openedAt: p.opened_at,
});

/** Decides the joins of every subscription of one follower whose policy is not `none`. */
export async function joinFollower(deps: GatewayDeps, followerAccountId: string): Promise<JoinSummary> {
  const summary: JoinSummary = { followerAccountId, decisions: [] };
  const subs = (await subscriptionsOfFollower(deps.db, followerAccountId))
    .map((s) => ({ ...s, parsed: withDefaults(JSON.parse(s.settings) as SubscriptionInput) }))
    // A paused group or a subscription that takes no opens joins later, when it does again.
    .filter(
      (s) => s.parsed.onJoin.mode !== 'none' && s.parsed.mode === 'active' && s.group_status === 'active',
    );
  if (subs.length === 0) return summary;
  const now = deps.clock.now();
  const [live, withCatalog] = await Promise.all([
    liveSessions(deps.db, [followerAccountId], now),
    accountsWithCatalog(deps.db, [followerAccountId]),
  ]);
  if (!live.has(followerAccountId) || !withCatalog.has(followerAccountId)) return summary;

  for (const sub of subs) {
    const scope: Scope = {
      groupId: sub.group_id,
      masterAccountId: sub.master_account_id,
      followerAccountId,
    };
    // Most passes find nothing to join: a read-only look first, so they never take the
    // master's signal lock (or SQLite's write lock).
    if ((await candidatesOf(deps.db, scope)).length === 0) continue;
    await inTransaction(deps.db, async (tx) => {
      // The master's signals wait meanwhile (fan-out takes the same lock first): a position
      // it closes now is either still held here or already gone, never opened after its close.
      if (deps.dialect === 'postgres') await lockMaster(tx.trx, sub.master_account_id);
      const candidates = await candidatesOf(tx.trx, scope);
      if (candidates.length === 0) return;
      const decided = await decideJoins(deps, tx.trx, scope, sub.parsed, candidates, now);
      summary.decisions.push(...decided);
      if (decided.some((d) => d.action === 'open'))
        await deps.notifier.notify(tx.trx, accountChannel(followerAccountId));
    });
  }
  if (summary.decisions.length) deps.logger.info(summary, 'joined a follower to positions its master holds');
  return summary;
}

async function candidatesOf(db: Db, scope: Scope): Promise<ReturnType<typeof joinCandidates>> {
  const held = await masterPositionsOf(db, scope.masterAccountId);
  if (held.length === 0) return [];
  const links = await linksOfSubscription(db, scope.groupId, scope.followerAccountId);
  const orders = await openOrdersOfPositions(
    db,
    scope.groupId,
    scope.followerAccountId,
    held.map((p) => p.master_position_id),
  );
  return joinCandidates(held, links, orders);
}

async function decideJoins(
  deps: GatewayDeps,
  db: Db,
  scope: Scope,
  settings: SubscriptionSettings,
  candidates: Array<{ position: MasterPositionRow; link: LinkRow | null }>,
  now: number,
): Promise<JoinSummary['decisions']> {
  const { groupId, followerAccountId, masterAccountId } = scope;
  const key = `${groupId}\n${followerAccountId}`;
  const [symbols, telemetry, exposureOf, recent, stopOuts, stored] = await Promise.all([
    getSymbolCatalog(db, followerAccountId),
    telemetryOf(db, [followerAccountId, masterAccountId]),
    openExposure(db, [followerAccountId]),
    recentOpenTimes(db, [followerAccountId], now - 3_600_000),
    activeStopOutsOf(db, [followerAccountId]),
    settings.symbolRules.auto ? storedSymbolSynonyms(db) : Promise.resolve(null),
  ]);
  const metrics = (id: string) => {
    const t = telemetry.find((r) => r.account_id === id);
    return t && (t.balance !== null || t.equity !== null) ? { balance: t.balance, equity: t.equity } : null;
  };
  const init = telemetry.find((r) => r.account_id === followerAccountId)?.last_init;
  const netting = nettingFromInit(init);
  const exposure = { ...(exposureOf.get(key) ?? { positions: 0, lots: 0 }) };
  const recentOpens = [...(recent.get(key) ?? [])];
  const stopOut = activeStopOut(
    stopOuts
      .filter((o) => o.group_id === groupId && o.follower_account_id === followerAccountId)
      .map(toStored),
  );

  const out: JoinSummary['decisions'] = [];
  for (const { position, link } of candidates) {
    const decision = planJoin(asMasterPosition(position), {
      groupId,
      settings,
      symbols,
      masterSymbol: (await getSymbolSpec(db, masterAccountId, position.symbol)) ?? null,
      follower: metrics(followerAccountId),
      master: metrics(masterAccountId),
      link: null,
      openPositions: exposure.positions,
      openLots: exposure.lots,
      recentOpenTimes: recentOpens,
      activeStopOut: stopOut,
      now,
      netting,
      synonyms: stored ?? defaultSymbolSynonyms,
    });
    if (decision === null) continue;
    const ids = { groupId, masterPositionId: position.master_position_id };
    if (decision.action === 'skip') {
      const orderId = newId('ord');
      const order = skippedJoin(orderId, scope, position, decision.reason, decision.detail, now);
      await insertOrders(db, [order]);
      await publishOrderUpdate(deps, db, order);
      // An expired copy stays given up: it is not offered again at every pass.
      if (link)
        await updateLink(
          db,
          { groupId, followerAccountId, masterPositionId: position.master_position_id },
          { status: 'closed', closed_at: now, updated_at: now },
        );
      out.push({ ...ids, action: 'skip', orderId, reason: decision.reason });
      continue;
    }
    const orderId = await queueOrder(deps, db, scope, decision, now, 'join');
    await upsertLinks(db, [
      openedLinkRow({
        groupId,
        followerAccountId,
        masterAccountId,
        masterPositionId: position.master_position_id,
        open: decision,
        orderId,
        masterVolume: position.volume,
        masterPrice: position.open_price,
        signalAt: now,
        now,
      }),
    ]);
    exposure.positions += 1;
    exposure.lots += decision.volume;
    recentOpens.push(now);
    out.push({ ...ids, action: 'open', orderId });
  }
  return out;
}

function skippedJoin(
  orderId: string,
  scope: Scope,
  p: MasterPositionRow,
  reason: ReasonCode,
  detail: string,
  now: number,
): CopyOrderRow {
  return {
    order_id: orderId,
    signal_id: null,
    master_signal_id: null,
    master_deal_ticket: null,
    group_id: scope.groupId,
    follower_account_id: scope.followerAccountId,
    master_account_id: scope.masterAccountId,
    master_position_id: p.master_position_id,
    kind: 'open',
    origin: 'join',
    status: 'skipped',
    reason,
    detail,
    // As on a skipped signal order: the master's symbol and side, nothing was mapped.
    symbol: p.symbol,
    side: p.side,
    volume: null,
    sl: null,
    tp: null,
    master_price: p.open_price,
    ticket: null,
    ...NOT_YET_EXECUTED,
    outbox_event_id: null,
    master_deal_at: null,
    signal_received_at: null,
    written_at: now,
    expires_at: null,
    updated_at: now,
    trace_context: null,
  };
}
