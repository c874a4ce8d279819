/**
 * The corrections reconciliation decides, applied: bookkeeping on the links, alerts, and the
 * copy orders (with their outbox events) that bring a follower's book to what its links say.
 */
import {
  explainReason,
  spans,
  type Correction,
  type NetCorrection,
  type OpenDecision,
  type SymbolSpec,
} from '@kopitra/engine';
import { getLink, updateLink } from '../../store/copy.js';
import type { Tx } from '../../store/transaction.js';
import type { GatewayDeps } from '../deps.js';
import { alert, queueOrder, type Scope } from './issued.js';

export type Applied = 'queued' | 'recorded' | 'none';

/** A correction's open at market, unsized: the correction already decided its volume. */
const marketOpen = (c: Omit<OpenDecision, 'action' | 'rawVolume' | 'capped' | 'forced'>): OpenDecision => ({
  action: 'open',
  masterPositionId: c.masterPositionId,
  symbol: c.symbol,
  side: c.side,
  volume: c.volume,
  rawVolume: c.volume,
  capped: false,
  forced: false,
  sl: c.sl,
  tp: c.tp,
  masterPrice: c.masterPrice,
  maxSlippagePoints: c.maxSlippagePoints,
  expiresAt: c.expiresAt,
  comment: c.comment,
});

export async function applyCorrection(
  deps: GatewayDeps,
  tx: Tx,
  scope: Scope,
  c: Correction,
  symbols: Map<string, SymbolSpec>,
  now: number,
): Promise<Applied> {
  const db = tx.trx;
  const key = { groupId: scope.groupId, followerAccountId: scope.followerAccountId };
  switch (c.kind) {
    case 'update_link': {
      const linkKey = { ...key, masterPositionId: c.masterPositionId };
      const link = await getLink(db, key.groupId, key.followerAccountId, c.masterPositionId);
      // A copy whose open was reported failed (or expired) but that the book holds after all is open.
      const revived = link?.status === 'failed' || link?.status === 'expired';
      await updateLink(db, linkKey, {
        ticket: c.ticket,
        open_volume: c.volume,
        ...(revived ? { status: 'open' } : {}),
        linked_at: now,
        updated_at: now,
      });
      return 'recorded';
    }
    case 'detach':
      await updateLink(
        db,
        { ...key, masterPositionId: c.masterPositionId },
        { status: 'detached', closed_at: now, updated_at: now },
      );
      return 'recorded';
    case 'alert':
      return (await alert(
        deps,
        db,
        scope,
        c.reason,
        explainReason(c.reason, c.detail),
        c.masterPositionId ?? null,
        now,
      ))
        ? 'queued'
        : 'none';
    case 'close_orphan':
      await queueOrder(
        deps,
        db,
        scope,
        {
          action: 'close',
          masterPositionId: c.masterPositionId,
          ticket: c.ticket,
          symbol: c.symbol,
          side: c.side,
          volume: c.volume,
          reason: c.reason,
          detail: c.detail,
        },
        now,
      );
      return 'queued';
    case 'reopen': {
      const orderId = await queueOrder(deps, db, scope, marketOpen(c), now);
      await updateLink(
        db,
        { ...key, masterPositionId: c.masterPositionId },
        {
          status: 'open',
          ticket: null,
          open_order_id: orderId,
          linked_at: null,
          // The whole expected volume comes back as one position.
          position_count: 1,
          updated_at: now,
        },
      );
      return 'queued';
    }
    case 'adjust_volume': {
      if (c.add) {
        // A hedging follower: the missing volume is a further position carrying the copy's tag,
        // counted on the link as it is planned, like a master's add (`trade.increased`). The
        // link follows the follower first: a refused add leaves it at what the follower holds.
        await queueOrder(
          deps,
          db,
          scope,
          {
            action: 'increase',
            masterPositionId: c.masterPositionId,
            ticket: c.ticket,
            symbol: c.symbol,
            side: c.side,
            volume: c.add.volume,
            rawVolume: c.add.volume,
            capped: false,
            forced: false,
            sl: c.add.sl,
            tp: c.add.tp,
            masterPrice: c.add.masterPrice,
            maxSlippagePoints: c.add.maxSlippagePoints,
            expiresAt: c.add.expiresAt,
            comment: c.add.comment,
            reason: c.add.reason,
            detail: `the copy holds ${c.from} lots, expected ${c.to}`,
          },
          now,
        );
        await updateLink(
          db,
          { ...key, masterPositionId: c.masterPositionId },
          {
            open_volume: Number((c.from + c.add.volume).toFixed(8)),
            position_count: (c.positions ?? 1) + 1,
            updated_at: now,
          },
        );
        return 'queued';
      }
      const spec = symbols.get(c.symbol);
      const step = spec?.volumeStep ?? 0.01;
      const volume = Math.round((c.from - c.to) / step) * step;
      await queueOrder(
        deps,
        db,
        scope,
        {
          action: 'partial_close',
          masterPositionId: c.masterPositionId,
          ticket: c.ticket,
          symbol: c.symbol,
          side: c.side,
          volume: Number(volume.toFixed(8)),
          remainingVolume: c.to,
          ...spans(c),
        },
        now,
      );
      return 'queued';
    }
  }
}

/**
 * A netting follower's correction (`reconcileNetting`). Its one deal on a symbol is a partial
 * close of the net position when it only shrinks it, otherwise a market deal (`trade.started`
 * under the tag of the link it is for), which a netting account books on its one position,
 * turning it round if the deal is larger. Neither changes a link: the book follows the deal.
 */
export async function applyNetCorrection(
  deps: GatewayDeps,
  tx: Tx,
  scope: Scope,
  c: NetCorrection,
  symbols: Map<string, SymbolSpec>,
  now: number,
): Promise<Applied> {
  if (c.kind !== 'net_deal') {
    const { groupId: _group, ...rest } = c;
    return applyCorrection(deps, tx, scope, rest, symbols, now);
  }
  if (c.reduce && c.ticket !== null) {
    await queueOrder(
      deps,
      tx.trx,
      scope,
      {
        action: 'partial_close',
        masterPositionId: c.masterPositionId,
        ticket: c.ticket,
        symbol: c.symbol,
        // The position's side: the deal is its opposite.
        side: c.side === 'buy' ? 'sell' : 'buy',
        volume: c.volume,
        remainingVolume: Math.abs(c.to),
        reason: c.reason,
        detail: c.detail,
      },
      now,
    );
    return 'queued';
  }
  await queueOrder(deps, tx.trx, scope, { ...marketOpen(c), reason: c.reason, detail: c.detail }, now);
  return 'queued';
}
