/**
 * The book of an MT5 netting follower, gathered for `reconcileNetting`: every copy group's links
 * on each symbol, which closed links' exits the broker refused (their volume is still held),
 * and which symbols cannot be judged on the last book report.
 */
import {
  reconcileNetting,
  type NetCorrection,
  type NetLink,
  type NetSettings,
  type ReportedPosition,
  type SymbolSpec,
} from '@kopitra/engine';
import { positionOrdersOfFollower, type LinkRow } from '../../store/copy.js';
import type { OrderLinkRow } from '../../store/order-links.js';
import type { Db } from '../../store/schema.js';

const IN_FLIGHT = new Set(['queued', 'delivered', 'acknowledged']);

export interface NettingBook {
  readonly followerAccountId: string;
  readonly links: readonly LinkRow[];
  readonly orderLinks: readonly OrderLinkRow[];
  readonly reported: readonly ReportedPosition[];
  readonly snapshotAt: number;
  /** Each copy group's settings, by group id. */
  readonly settings: ReadonlyMap<string, NetSettings>;
  readonly symbols: Map<string, SymbolSpec>;
  /** How far back refused exits and failed opens count. */
  readonly since: number;
  readonly now: number;
}

export async function nettingCorrections(db: Db, book: NettingBook): Promise<NetCorrection[]> {
  const orders = await positionOrdersOfFollower(db, book.followerAccountId, book.since);
  const unsettled = new Set<string>();
  for (const o of orders)
    if (o.symbol !== null && (IN_FLIGHT.has(o.status) || o.updated_at > book.snapshotAt))
      unsettled.add(o.symbol);
  // A link changed after the report (a fill, a relink) and a pending order that may fill any
  // moment both make the report's net volume out of date.
  for (const l of book.links) if (l.updated_at > book.snapshotAt) unsettled.add(l.symbol);
  for (const l of book.orderLinks) if (l.status === 'pending') unsettled.add(l.symbol);
  // No book report yet: nothing can be judged.
  if (book.snapshotAt === 0) return [];

  const ordersOf = (l: LinkRow) =>
    orders
      .filter((o) => o.group_id === l.group_id && o.master_position_id === l.master_position_id)
      .sort((a, b) => a.written_at - b.written_at);
  const links: NetLink[] = [];
  for (const l of book.links) {
    const base = {
      groupId: l.group_id,
      masterPositionId: l.master_position_id,
      symbol: l.symbol,
      side: l.side,
      volume: l.open_volume,
      ticket: l.ticket,
      signalAt: l.signal_at,
      masterPrice: l.master_price,
      sl: l.sl,
      tp: l.tp,
    };
    const mine = ordersOf(l);
    if ((l.status === 'open' || l.status === 'closing') && (l.ticket !== null || l.linked_at !== null))
      links.push({
        ...base,
        state: 'live',
        failedOpens: mine.filter(
          (o) => o.kind === 'open' && (o.status === 'rejected' || o.status === 'failed'),
        ).length,
      });
    else if (l.status === 'closed' && l.closed_at !== null && l.closed_at >= book.since) {
      // What the broker refused of its exits (a close, a partial close before it) is still
      // held, less what reconciliation's deals for it took out since. An exit that found
      // nothing to close left nothing; a later exit that filled took only its own share.
      let owed = 0;
      for (const o of mine) {
        if (
          o.origin !== 'reconcile' &&
          o.status === 'rejected' &&
          (o.kind === 'close' || o.kind === 'partial_close')
        )
          owed += o.volume ?? 0;
        if (o.origin === 'reconcile' && o.status === 'filled')
          owed = Math.max(0, owed - (o.filled_volume ?? 0));
      }
      owed = Number(owed.toFixed(8));
      if (owed > 0) links.push({ ...base, volume: owed, state: 'owed' });
    }
  }
  return reconcileNetting({
    groups: [...book.settings.keys()],
    links,
    reported: book.reported,
    settings: book.settings,
    unsettled,
    now: book.now,
    symbols: book.symbols,
  });
}
