/**
 * Reconciliation: compare the book a follower should have (its live links) with the book
 * its EA reports (`ea.sync_snapshot`) and decide corrections. Positions are matched by
 * ticket first, then by their tag (`positionTag`, which names the copy group and the master
 * position); a position matched by neither is the follower's own manual trade, and one tagged
 * for another copy group is that group's business: neither is ever touched. A copy that spans
 * several positions (a hedging follower of a master that added to its position) is judged on
 * their summed volume.
 *
 * The rule that matters most: a copied position that disappeared without a copy order
 * closing it was closed outside Kopitra (by hand, by its SL/TP, by a broker stop-out). It
 * is detached and re-opened only when the subscription's manual-close policy says `reopen`
 * — re-opening what a trader closed is a well-known failure of other copiers.
 *
 * Modes (see `guards.ts`): `frozen` turns every trading correction into an alert;
 * `close_only` allows closing orphans and trimming excess, not re-opening or adding.
 */
import type { CopyOrderKind } from '@kopitra/contracts';
import { spans } from './decisions.js';
import { maxOpenPositionsGuard, slippagePoints, type Quote } from './guards.js';
import {
  parsePositionTag,
  positionTag,
  shortHash,
  tagIdMatches,
  tagMatches,
  type ParsedTag,
} from '@kopitra/contracts';
import type { ReasonCode } from './reasons.js';
import { floorToStep, lookupSymbol, subtractVolumes, type SymbolCatalog } from './symbol-spec.js';
import type { Side, SubscriptionSettings } from './subscription.js';

/** A live link: a follower position that should exist. */
export interface ExpectedPosition {
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  /** `null` while the open has not been reported filled. */
  readonly ticket: string | null;
  /** When the master opened (the open signal's `occurredAt`). */
  readonly signalAt: number;
  readonly masterPrice: number;
  /** The follower's own levels as copied (already swapped for a reversed copy). */
  readonly sl?: number | null;
  readonly tp?: number | null;
  readonly detached?: boolean;
  /** A close or partial-close copy order is in flight: the position is allowed to change or vanish. */
  readonly closing?: boolean;
  /** When the current ticket was reported; a snapshot taken before it cannot show the position yet. */
  readonly linkedAt?: number | null;
  /**
   * Follower positions the copy spans (a hedging follower of a master that added to its
   * position holds one per add, all tagged alike); 1 when absent. Their volumes are summed.
   */
  readonly positions?: number;
}

export interface ReportedPosition {
  readonly ticket: string;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  readonly openPrice: number;
  readonly comment?: string | null;
  readonly magic?: string | null;
}

/** The statuses of a copy order that ended without a fill. */
export type FailedOrderStatus = 'rejected' | 'failed' | 'expired';

export interface FailedOrder {
  readonly masterPositionId: string;
  readonly kind: CopyOrderKind;
  readonly status: FailedOrderStatus;
  readonly at: number;
  readonly orderId?: string;
}

/** Links closed by a copy order; a snapshot older than the close still shows their position. */
export interface ClosedLink {
  readonly masterPositionId: string;
  readonly ticket: string | null;
  readonly closedAt: number;
}

/** A link of the same follower in another copy group (its masters' position ids may equal this group's). */
export interface OtherGroupLink {
  readonly masterPositionId: string;
  readonly ticket: string | null;
  /** Closed links still own their ticket (tickets are never reused) but no longer their tag. */
  readonly closed: boolean;
}

export interface ReconcileInput {
  /** The copy group reconciled: its positions carry its tag. */
  readonly groupId: string;
  readonly expected: readonly ExpectedPosition[];
  /** The follower's links in its other copy groups, so their positions are never taken for this group's. */
  readonly otherGroups?: readonly OtherGroupLink[];
  readonly reported: readonly ReportedPosition[];
  readonly snapshotAt: number;
  readonly failedOrders?: readonly FailedOrder[];
  readonly recentlyClosed?: readonly ClosedLink[];
  readonly now: number;
  readonly settings: Pick<
    SubscriptionSettings,
    'mode' | 'maxSignalAgeSec' | 'maxSlippagePoints' | 'manualClosePolicy'
  > &
    Partial<Pick<SubscriptionSettings, 'maxVolume' | 'maxOpenPositions'>>;
  readonly symbols?: SymbolCatalog;
  /** The follower's current quotes by follower symbol, if known. */
  readonly quotes?: ReadonlyMap<string, Quote> | Readonly<Record<string, Quote>>;
  /**
   * MT5 netting follower: its positions are judged per symbol over all its copy groups
   * (`reconcileNetting`); here only opens that never filled are re-opened.
   */
  readonly netting?: boolean;
  /** Follower positions the subscription's live links span (`maxOpenPositions` for a further position). */
  readonly openPositions?: number;
}

export type Correction =
  | {
      readonly kind: 'close_orphan';
      readonly ticket: string;
      readonly masterPositionId: string;
      readonly symbol: string;
      readonly side: Side;
      readonly volume: number;
      readonly reason: 'orphan_position';
      readonly detail: string;
    }
  | {
      readonly kind: 'reopen';
      readonly masterPositionId: string;
      readonly symbol: string;
      readonly side: Side;
      readonly volume: number;
      readonly sl: number | null;
      readonly tp: number | null;
      readonly masterPrice: number;
      readonly maxSlippagePoints: number | null;
      readonly expiresAt: number;
      readonly comment: string;
    }
  /**
   * `to < from` trims by a partial close of the difference; `to > from` opens the difference (`add`).
   * `positions`: the copy spans several follower positions, summed in `from`.
   */
  | {
      readonly kind: 'adjust_volume';
      readonly masterPositionId: string;
      readonly ticket: string;
      readonly symbol: string;
      readonly side: Side;
      readonly from: number;
      readonly to: number;
      readonly positions?: number;
      /** Only when `to > from`: the missing volume, opened as a copy order carrying the position's tag. */
      readonly add?: AddVolume;
    }
  /** Bookkeeping only: the link now points at this ticket and volume (a new MT4 ticket, an accepted manual change). */
  | {
      readonly kind: 'update_link';
      readonly masterPositionId: string;
      /** `null`: a netting follower's fill that left its symbol flat. */
      readonly ticket: string | null;
      readonly previousTicket: string | null;
      readonly volume: number;
    }
  | {
      readonly kind: 'detach';
      readonly masterPositionId: string;
      readonly ticket: string | null;
      readonly reason: 'position_closed_outside';
    }
  | {
      readonly kind: 'alert';
      readonly reason: ReasonCode;
      readonly detail: string;
      readonly masterPositionId?: string;
      readonly ticket?: string;
    };

/** The open that restores a follower position's missing volume (reason `volume_restored`). */
export interface AddVolume {
  /**
   * The missing volume, rounded down to the symbol's step and cut to the largest volume one
   * trade may have (the symbol's and the subscription's maximum): never more than is missing.
   */
  readonly volume: number;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly masterPrice: number;
  readonly maxSlippagePoints: number | null;
  readonly expiresAt: number;
  readonly comment: string;
  readonly reason: 'volume_restored';
}

export type CorrectionKind = Correction['kind'];

/** Re-opens after this many failed opens for one master position give up and alert. */
export const MAX_REOPEN_ATTEMPTS = 3;

const DEFAULT_STEP = 0.01;

const quoteFor = (quotes: ReconcileInput['quotes'], symbol: string): Quote | null => {
  if (!quotes) return null;
  if (quotes instanceof Map) return quotes.get(symbol) ?? null;
  return Object.hasOwn(quotes, symbol) ? ((quotes as Record<string, Quote>)[symbol] ?? null) : null;
};

/** Why an open of this link's volume may not be issued now (the guards of a re-open), or `null`. */
export function openBlocked(
  e: Pick<ExpectedPosition, 'symbol' | 'side' | 'signalAt' | 'masterPrice'>,
  input: Pick<ReconcileInput, 'settings' | 'now' | 'symbols' | 'quotes'>,
  failedOpens: number,
): { reason: ReasonCode; detail: string } | null {
  const { settings: s, now } = input;
  if (s.mode === 'frozen') return { reason: 'mode_frozen', detail: 'subscription is frozen' };
  if (s.mode === 'close_only') return { reason: 'mode_close_only', detail: 'subscription is close-only' };
  if (failedOpens >= MAX_REOPEN_ATTEMPTS)
    return { reason: 'copy_order_failed', detail: `${failedOpens} opens failed` };
  const ageSec = (now - e.signalAt) / 1000;
  if (ageSec > s.maxSignalAgeSec)
    return {
      reason: 'signal_too_old',
      detail: `signal is ${ageSec.toFixed(0)} s old, maximum ${s.maxSignalAgeSec} s`,
    };
  const spec = input.symbols ? lookupSymbol(input.symbols, e.symbol) : null;
  const quote = quoteFor(input.quotes, e.symbol);
  if (s.maxSlippagePoints !== null && quote && spec && spec.point > 0) {
    const points = slippagePoints(e.side, e.masterPrice, quote, spec.point);
    if (points > s.maxSlippagePoints + 1e-9)
      return {
        reason: 'slippage_exceeded',
        detail: `price moved ${points.toFixed(1)} points, maximum ${s.maxSlippagePoints}`,
      };
  }
  // Without a quote the EA enforces the same slippage limit when it fills.
  return null;
}

function tryReopen(e: ExpectedPosition, why: string, input: ReconcileInput, failedOpens: number): Correction {
  const blocked = openBlocked(e, input, failedOpens);
  if (blocked)
    return {
      kind: 'alert',
      reason: blocked.reason,
      detail: `${why}; not re-opened: ${blocked.detail}`,
      masterPositionId: e.masterPositionId,
    };
  const { settings: s } = input;
  return {
    kind: 'reopen',
    masterPositionId: e.masterPositionId,
    symbol: e.symbol,
    side: e.side,
    volume: e.volume,
    sl: e.sl ?? null,
    tp: e.tp ?? null,
    masterPrice: e.masterPrice,
    maxSlippagePoints: s.maxSlippagePoints,
    expiresAt: e.signalAt + s.maxSignalAgeSec * 1000,
    comment: positionTag(input.groupId, e.masterPositionId),
  };
}

function compareMatched(
  e: ExpectedPosition,
  r: ReportedPosition,
  input: ReconcileInput,
  failedOpens: number,
  out: Correction[],
): void {
  const { settings: s } = input;
  const ids = { masterPositionId: e.masterPositionId, ticket: r.ticket };
  if (r.symbol !== e.symbol)
    return void out.push({
      kind: 'alert',
      reason: 'symbol_mismatch',
      detail: `expected ${e.symbol}, found ${r.symbol}`,
      ...ids,
    });
  if (r.side !== e.side)
    return void out.push({
      kind: 'alert',
      reason: 'side_mismatch',
      detail: `expected ${e.side}, found ${r.side}`,
      ...ids,
    });
  if (e.closing) return;
  const spec = input.symbols ? lookupSymbol(input.symbols, e.symbol) : null;
  const step = spec?.volumeStep ?? DEFAULT_STEP;
  const diff = subtractVolumes(r.volume, e.volume, step);
  // Differences under one step are rounding noise, not a wrong book.
  if (Math.abs(diff) < step - 1e-9) return;
  const mismatch = `expected ${e.volume} lots, found ${r.volume}`;
  const adjust: Correction = {
    kind: 'adjust_volume',
    masterPositionId: e.masterPositionId,
    ticket: r.ticket,
    symbol: e.symbol,
    side: e.side,
    from: r.volume,
    to: e.volume,
    ...spans(e),
  };
  if (diff > 0) {
    // Excess is exposure nobody asked for (a partial close that failed): trim it unless frozen.
    out.push(
      s.mode === 'frozen'
        ? {
            kind: 'alert',
            reason: 'volume_mismatch',
            detail: `${mismatch}; not trimmed: subscription is frozen`,
            ...ids,
          }
        : adjust,
    );
    return;
  }
  // Less than expected means someone reduced it by hand: only the `reopen` policy restores it,
  // by opening what is missing (rounded down to the step: never more) under the guards of a re-open.
  let notRestored = '';
  if (s.manualClosePolicy === 'reopen') {
    const most = Math.min(spec?.volumeMax ?? Infinity, s.maxVolume ?? Infinity);
    const missing = floorToStep(Math.min(-diff, most), step);
    const blocked: { reason: ReasonCode; detail: string } | null =
      (spec && missing < spec.volumeMin - 1e-9
        ? {
            reason: 'volume_below_minimum',
            detail: `${missing} lots is under the symbol minimum ${spec.volumeMin}`,
          }
        : null) ??
      openBlocked(e, input, failedOpens) ??
      // The restore is a position of its own, which the position limit counts.
      maxOpenPositionsGuard(input.openPositions ?? 0, s.maxOpenPositions ?? null);
    if (!blocked)
      return void out.push({
        ...adjust,
        add: {
          volume: missing,
          sl: e.sl ?? null,
          tp: e.tp ?? null,
          masterPrice: e.masterPrice,
          maxSlippagePoints: s.maxSlippagePoints,
          expiresAt: e.signalAt + s.maxSignalAgeSec * 1000,
          comment: positionTag(input.groupId, e.masterPositionId),
          reason: 'volume_restored',
        },
      });
    notRestored = ` (not restored, ${blocked.reason}: ${blocked.detail})`;
  }
  out.push({
    kind: 'update_link',
    masterPositionId: e.masterPositionId,
    ticket: r.ticket,
    previousTicket: e.ticket,
    volume: r.volume,
  });
  out.push({
    kind: 'alert',
    reason: 'volume_mismatch',
    detail: `${mismatch}; reduced outside Kopitra, link follows the follower${notRestored}`,
    ...ids,
  });
}

/** A modification that failed on a copy still live: the operator should look at its stops. */
function modifyAlerts(input: ReconcileInput, out: Correction[]): void {
  const failed = input.failedOrders ?? [];
  const modifyFailures = new Set(failed.filter((f) => f.kind === 'modify').map((f) => f.masterPositionId));
  for (const id of modifyFailures) {
    if (input.expected.some((e) => e.masterPositionId === id && !e.detached)) {
      out.push({
        kind: 'alert',
        reason: 'copy_order_failed',
        detail: 'a stop loss / take profit modification failed; check the position',
        masterPositionId: id,
      });
    }
  }
}

/**
 * A netting follower's positions are judged per symbol over all its copy groups
 * (`reconcileNetting`); per group only opens that never filled are re-opened, and failed
 * modifications alerted.
 */
function reconcileUnfilled(input: ReconcileInput): Correction[] {
  const out: Correction[] = [];
  for (const e of input.expected) {
    if (e.detached || e.closing || e.ticket !== null || (e.linkedAt ?? null) !== null) continue;
    const failedOpens = (input.failedOrders ?? []).filter(
      (f) => f.masterPositionId === e.masterPositionId && f.kind === 'open',
    ).length;
    if (failedOpens > 0) out.push(tryReopen(e, 'the open copy order failed', input, failedOpens));
  }
  modifyAlerts(input, out);
  return out;
}

export function reconcile(input: ReconcileInput): Correction[] {
  if (input.netting) return reconcileUnfilled(input);
  const out: Correction[] = [];
  const { expected, reported, settings: s } = input;
  const failed = input.failedOrders ?? [];
  const used = new Set<ReportedPosition>();
  const match = new Map<ExpectedPosition, ReportedPosition>();
  const others = input.otherGroups ?? [];
  const group = shortHash(input.groupId);
  const otherTickets = new Set(others.flatMap((o) => (o.ticket === null ? [] : [o.ticket])));
  // Whose a reported position is, by what only this follower's links can tell: a ticket
  // another group linked, or a tag naming another group, is never this group's; a legacy
  // tag (no group) is this group's only where no other group has a live link it fits, and
  // where both have one it is matched by ticket alone and never closed.
  const owner = (
    r: ReportedPosition,
    tag: ParsedTag | null,
  ): 'mine' | 'theirs' | 'ambiguous' | 'untagged' => {
    if (otherTickets.has(r.ticket)) return 'theirs';
    if (!tag) return 'untagged';
    if (tag.group !== null) return tag.group === group ? 'mine' : 'theirs';
    if (!others.some((o) => !o.closed && tagIdMatches(tag, o.masterPositionId))) return 'mine';
    return expected.some((e) => tagIdMatches(tag, e.masterPositionId)) ? 'ambiguous' : 'theirs';
  };
  const tags = new Map<ReportedPosition, ParsedTag | null>();
  const ambiguous = new Set<ReportedPosition>();
  const visible: ReportedPosition[] = [];
  for (const r of reported) {
    const tag = parsePositionTag(r.comment);
    const who = owner(r, tag);
    if (who === 'theirs') continue;
    visible.push(r);
    tags.set(r, who === 'mine' ? tag : null);
    if (who === 'ambiguous') ambiguous.add(r);
  }

  // Tickets first: a broker may rewrite a comment, never a ticket.
  const byTicket = new Map(visible.map((r) => [r.ticket, r] as const));
  for (const e of expected) {
    const r = e.ticket === null ? undefined : byTicket.get(e.ticket);
    if (r && !used.has(r)) {
      used.add(r);
      match.set(e, r);
    }
  }
  // Then tags, accepting a cut tag only when exactly one expected id fits it. A copy found by
  // its tag on another ticket is relinked once its volume is known (below, summed over all its
  // positions): the position found first may be only one of several.
  const relinked: ExpectedPosition[] = [];
  for (const r of visible) {
    const tag = tags.get(r);
    if (used.has(r) || !tag) continue;
    const candidates = expected.filter(
      (e) => !match.has(e) && tagMatches(tag, input.groupId, e.masterPositionId),
    );
    if (candidates.length !== 1) continue;
    const e = candidates[0]!;
    used.add(r);
    match.set(e, r);
    if (!e.detached && r.ticket !== e.ticket) relinked.push(e);
  }

  // A copy spanning several positions: its other tagged positions are part of it, not orphans,
  // and its volume is compared summed over them all.
  for (const [e, r] of match) {
    if (e.detached || (e.positions ?? 1) <= 1) continue;
    let volume = r.volume;
    for (const other of visible) {
      const tag = tags.get(other);
      if (used.has(other) || !tag || !tagMatches(tag, input.groupId, e.masterPositionId)) continue;
      if (
        expected.filter((x) => !x.detached && tagMatches(tag, input.groupId, x.masterPositionId)).length > 1
      )
        continue;
      used.add(other);
      volume += other.volume;
    }
    match.set(e, { ...r, volume: Number(volume.toFixed(8)) });
  }
  for (const e of relinked) {
    const r = match.get(e)!;
    out.push({
      kind: 'update_link',
      masterPositionId: e.masterPositionId,
      ticket: r.ticket,
      previousTicket: e.ticket,
      volume: r.volume,
    });
  }

  for (const e of expected) {
    if (e.detached) continue;
    const r = match.get(e);
    const failedOpens = failed.filter(
      (f) => f.masterPositionId === e.masterPositionId && f.kind === 'open',
    ).length;
    if (r) {
      compareMatched(e, r, input, failedOpens, out);
      continue;
    }
    if (e.closing) continue;
    if (e.linkedAt !== null && e.linkedAt !== undefined && e.linkedAt > input.snapshotAt) continue;
    if (e.ticket === null) {
      // Never filled: retry only if its open failed; otherwise it is still on its way.
      if (failedOpens > 0) out.push(tryReopen(e, 'the open copy order failed', input, failedOpens));
      continue;
    }
    out.push({
      kind: 'detach',
      masterPositionId: e.masterPositionId,
      ticket: e.ticket,
      reason: 'position_closed_outside',
    });
    if (s.manualClosePolicy === 'reopen')
      out.push(tryReopen(e, `ticket ${e.ticket} was closed outside Kopitra`, input, failedOpens));
  }

  const closedAfterSnapshot = (input.recentlyClosed ?? []).filter((c) => c.closedAt > input.snapshotAt);
  for (const r of visible) {
    if (used.has(r)) continue;
    if (ambiguous.has(r)) {
      out.push({
        kind: 'alert',
        reason: 'position_tag_ambiguous',
        detail: `${r.symbol} ${r.side} ${r.volume} tagged "${r.comment}", which another copy group's position has too`,
        masterPositionId: parsePositionTag(r.comment)!.masterPositionId,
        ticket: r.ticket,
      });
      continue;
    }
    const tag = tags.get(r);
    if (!tag) continue;
    if (
      closedAfterSnapshot.some(
        (c) => c.ticket === r.ticket || tagMatches(tag, input.groupId, c.masterPositionId),
      )
    )
      continue;
    const ids = { masterPositionId: tag.masterPositionId, ticket: r.ticket };
    // A duplicate of a matched copy is an orphan too (its exposure was never asked for); a
    // cut tag that could be either of two live links is not ours to close.
    if (
      expected.filter((e) => !e.detached && tagMatches(tag, input.groupId, e.masterPositionId)).length > 1
    ) {
      out.push({
        kind: 'alert',
        reason: 'position_tag_ambiguous',
        detail: `${r.symbol} ${r.side} ${r.volume} tagged "${r.comment}"`,
        ...ids,
      });
      continue;
    }
    out.push(
      s.mode === 'frozen'
        ? {
            kind: 'alert',
            reason: 'mode_frozen',
            detail: `orphan ${r.symbol} ${r.side} ${r.volume} not closed: subscription is frozen`,
            ...ids,
          }
        : {
            kind: 'close_orphan',
            ...ids,
            symbol: r.symbol,
            side: r.side,
            volume: r.volume,
            reason: 'orphan_position',
            detail: `${r.symbol} ${r.side} ${r.volume} tagged "${r.comment ?? ''}" has no live copy`,
          },
    );
  }

  modifyAlerts(input, out);
  return out;
}
