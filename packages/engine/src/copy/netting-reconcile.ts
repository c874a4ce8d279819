/**
 * Reconciliation of an MT5 netting follower. Such an account holds one position per symbol and
 * every copy on that symbol — of every copy group — deals on it, so no position belongs to one
 * link: the comment names whichever deal opened it, the ticket changes when the position turns
 * round. Links are therefore judged per symbol, never per position:
 *
 * - **expected**: the sum of the signed volumes (buy positive) of the live links on the symbol,
 *   whose opens filled;
 * - **held**: the signed volume of the follower's position on the symbol;
 * - **owed**: closed links whose exits the broker refused: the follower still holds that
 *   volume, and taking it out is the orphan close of a hedging follower.
 *
 * The difference `held − expected` is explained first by what is owed (on the same side), then
 * what is left is either excess (more than expected on the links' side, or anything on the
 * other side: trimmed, as on a hedging follower) or a deficit (less on the links' side:
 * reduced by hand, so the manual-close policy decides: `reopen` restores it under the guards
 * of a re-open, `detach` has the links follow the follower, newest first). Whatever is to be
 * corrected is **one deal** on the symbol, attributed to the link it is for. While anything
 * on the symbol is in flight or changed after the book report, the symbol waits.
 */
import { parsePositionTag, positionTag, shortHash } from '@kopitra/contracts';
import { openBlocked, type ReconcileInput, type ReportedPosition } from './reconcile.js';
import type { ReasonCode } from './reasons.js';
import { floorToStep, lookupSymbol, type SymbolCatalog } from './symbol-spec.js';
import type { Side, SubscriptionSettings } from './subscription.js';

/** A link of a netting follower, in any of its copy groups. */
export interface NetLink {
  readonly groupId: string;
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  /** The position its fill reported; `null` when the fill left the symbol flat. */
  readonly ticket: string | null;
  readonly signalAt: number;
  readonly masterPrice: number;
  readonly sl?: number | null;
  readonly tp?: number | null;
  /**
   * `live`: an open link whose open filled, its volume part of the net position. `owed`: a
   * closed link some of whose exits the broker refused; `volume` is what the follower still
   * holds of it.
   */
  readonly state: 'live' | 'owed';
  /** Its opens that failed lately: a restore gives up after as many as a re-open does. */
  readonly failedOpens?: number;
}

export type NetSettings = Pick<
  SubscriptionSettings,
  'mode' | 'maxSignalAgeSec' | 'maxSlippagePoints' | 'manualClosePolicy'
>;

export interface NettingInput {
  /** The follower's copy groups (a position tagged for another group is nobody's here). */
  readonly groups: readonly string[];
  readonly links: readonly NetLink[];
  readonly reported: readonly ReportedPosition[];
  /** Each copy group's settings, by group id. */
  readonly settings: ReadonlyMap<string, NetSettings>;
  /**
   * Symbols that cannot be judged now: an order on them in flight or executed after the book
   * report, a pending order of the follower's waiting on them.
   */
  readonly unsettled?: ReadonlySet<string>;
  readonly now: number;
  readonly symbols?: SymbolCatalog;
  readonly quotes?: ReconcileInput['quotes'];
}

/** The one deal that brings a symbol's net position to what its links say. */
export interface NetDeal {
  readonly kind: 'net_deal';
  readonly groupId: string;
  /** The link the deal is for (an owed link's exit, a trimmed or restored link). */
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  /** The follower's position on the symbol (`null` when flat). */
  readonly ticket: string | null;
  /** The deal only shrinks the position (a partial close of `ticket`); otherwise it is a market deal that may turn it. */
  readonly reduce: boolean;
  /** Signed net volumes: held now, and held after the deal. */
  readonly from: number;
  readonly to: number;
  readonly reason: 'orphan_position' | 'volume_mismatch' | 'volume_restored';
  readonly detail: string;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly masterPrice: number;
  readonly maxSlippagePoints: number | null;
  readonly expiresAt: number;
  readonly comment: string;
}

export type NetCorrection =
  | NetDeal
  | {
      readonly kind: 'update_link';
      readonly groupId: string;
      readonly masterPositionId: string;
      readonly ticket: string | null;
      readonly previousTicket: string | null;
      readonly volume: number;
    }
  | {
      readonly kind: 'detach';
      readonly groupId: string;
      readonly masterPositionId: string;
      readonly ticket: string | null;
      readonly reason: 'position_closed_outside';
    }
  | {
      readonly kind: 'alert';
      readonly groupId: string;
      readonly reason: ReasonCode;
      readonly detail: string;
      readonly masterPositionId?: string;
      readonly ticket?: string;
    };

const DEFAULT_STEP = 0.01;
const signed = (side: Side, volume: number): number => (side === 'buy' ? volume : -volume);
const sideOf = (n: number): Side => (n > 0 ? 'buy' : 'sell');
/** Newest first: the copy the master opened last gives way first. */
const newestFirst = (a: NetLink, b: NetLink): number => b.signalAt - a.signalAt;

/** Reconciles every symbol of one netting follower (all of its copy groups at once). */
export function reconcileNetting(input: NettingInput): NetCorrection[] {
  const out: NetCorrection[] = [];
  const byHash = new Map(input.groups.map((g) => [shortHash(g), g] as const));
  // A position with a tag of one of this follower's groups is a copy's, even with no link left.
  const ownerOf = (r: ReportedPosition): { groupId: string; masterPositionId: string } | null => {
    const tag = parsePositionTag(r.comment);
    if (!tag) return null;
    const groupId =
      tag.group === null ? (input.groups.length === 1 ? input.groups[0] : undefined) : byHash.get(tag.group);
    return groupId === undefined ? null : { groupId, masterPositionId: tag.masterPositionId };
  };
  const symbols = new Set([
    ...input.links.map((l) => l.symbol),
    ...input.reported.filter((r) => ownerOf(r) !== null).map((r) => r.symbol),
  ]);
  for (const symbol of [...symbols].sort()) {
    if (input.unsettled?.has(symbol)) continue;
    reconcileSymbol(input, symbol, ownerOf, out);
  }
  return out;
}

function reconcileSymbol(
  input: NettingInput,
  symbol: string,
  ownerOf: (r: ReportedPosition) => { groupId: string; masterPositionId: string } | null,
  out: NetCorrection[],
): void {
  const spec = input.symbols ? lookupSymbol(input.symbols, symbol) : null;
  const step = spec?.volumeStep ?? DEFAULT_STEP;
  // Everything in whole steps, so sums carry no float tail.
  const steps = (v: number) => Math.round(v / step);
  const lots = (n: number) => floorToStep(Math.abs(n) * step, step) * Math.sign(n) || 0;
  const held = input.reported.filter((r) => r.symbol === symbol);
  const live = input.links.filter((l) => l.symbol === symbol && l.state === 'live');
  const owed = input.links.filter((l) => l.symbol === symbol && l.state === 'owed');
  const R = held.reduce((n, r) => n + steps(signed(r.side, r.volume)), 0);
  const E = live.reduce((n, l) => n + steps(signed(l.side, l.volume)), 0);
  const O = owed.reduce((n, l) => n + steps(signed(l.side, l.volume)), 0);
  const net = held.length ? held.reduce((a, b) => (b.volume > a.volume ? b : a)) : null;
  const D = R - E;

  if (D === 0) {
    // In order. Links follow the position's ticket (it changes when the position turns round).
    if (net)
      for (const l of live)
        if (l.ticket !== net.ticket)
          out.push({
            kind: 'update_link',
            groupId: l.groupId,
            masterPositionId: l.masterPositionId,
            ticket: net.ticket,
            previousTicket: l.ticket,
            volume: l.volume,
          });
    return;
  }

  // What refused exits left explains the difference first, as far as it goes the same way.
  const X = Math.sign(O) === Math.sign(D) ? Math.sign(D) * Math.min(Math.abs(O), Math.abs(D)) : 0;
  const rest = R - X;
  const e = Math.sign(E);
  let excess = 0;
  let deficit = 0;
  if (e === 0) excess = rest;
  else {
    const onSide = e * rest;
    if (onSide > Math.abs(E)) excess = e * (onSide - Math.abs(E));
    else {
      if (onSide < 0) excess = rest;
      deficit = Math.abs(E) - Math.max(onSide, 0);
    }
  }

  // A deficit is the follower's own doing: restored under `reopen`, followed otherwise.
  const linkSide = live.filter((l) => Math.sign(signed(l.side, 1)) === e).sort(newestFirst);
  let restore = 0;
  let notRestored = '';
  const deficitOwner = linkSide[0];
  if (deficit > 0 && deficitOwner) {
    const settings = input.settings.get(deficitOwner.groupId);
    if (settings?.manualClosePolicy === 'reopen') {
      const blocked =
        spec && deficit * step < spec.volumeMin - 1e-9
          ? {
              reason: 'volume_below_minimum' as const,
              detail: `${lots(deficit)} lots is under the symbol minimum ${spec.volumeMin}`,
            }
          : openBlocked(
              deficitOwner,
              { settings, now: input.now, symbols: input.symbols, quotes: input.quotes },
              deficitOwner.failedOpens ?? 0,
            );
      if (blocked) notRestored = ` (not restored, ${blocked.reason}: ${blocked.detail})`;
      else restore = deficit;
    }
  }
  const accepted = deficit - restore;
  const target = E - e * accepted;
  const delta = target - R;
  const what =
    `${symbol}: holds ${lots(R)}, links ${lots(E)}` +
    (X !== 0 ? `, ${lots(X)} left by refused exits` : '') +
    (excess !== 0 ? `, ${lots(excess)} in excess` : '') +
    (deficit !== 0 ? `, ${lots(e * deficit)} missing` : '');

  if (accepted > 0) {
    // Reduced outside Kopitra: the links on that side follow the follower, newest first.
    let left = accepted;
    for (const l of linkSide) {
      if (left <= 0) break;
      const take = Math.min(steps(l.volume), left);
      left -= take;
      const volume = lots(steps(l.volume) - take);
      if (volume <= 0)
        out.push({
          kind: 'detach',
          groupId: l.groupId,
          masterPositionId: l.masterPositionId,
          ticket: l.ticket,
          reason: 'position_closed_outside',
        });
      else
        out.push({
          kind: 'update_link',
          groupId: l.groupId,
          masterPositionId: l.masterPositionId,
          ticket: net?.ticket ?? l.ticket,
          previousTicket: l.ticket,
          volume,
        });
    }
    out.push({
      kind: 'alert',
      groupId: deficitOwner!.groupId,
      reason: 'volume_mismatch',
      detail: `${what}; reduced outside Kopitra, the links follow the follower${notRestored}`,
      masterPositionId: deficitOwner!.masterPositionId,
      ...(net ? { ticket: net.ticket } : {}),
    });
  }
  if (delta === 0) return;

  // The one deal, attributed to what it is mostly for.
  const owedLink = owed.filter((l) => Math.sign(signed(l.side, 1)) === Math.sign(X)).at(-1);
  const trimmed =
    live.filter((l) => Math.sign(signed(l.side, 1)) === Math.sign(excess)).sort(newestFirst)[0] ??
    [...live].sort(newestFirst)[0];
  const orphan = net ? ownerOf(net) : null;
  const who: { groupId: string; masterPositionId: string; link: NetLink | null } | null =
    X !== 0 && owedLink
      ? { ...owedLink, link: owedLink }
      : restore > 0 && deficitOwner
        ? { ...deficitOwner, link: deficitOwner }
        : excess !== 0 && trimmed
          ? { ...trimmed, link: trimmed }
          : excess !== 0 && orphan
            ? { ...orphan, link: null }
            : null;
  if (!who) return;
  const settings = input.settings.get(who.groupId);
  if (!settings) return;
  // A restore is new exposure: the deal carries its guards (signal age, slippage).
  const reason: NetDeal['reason'] =
    X !== 0 && owedLink
      ? 'orphan_position'
      : restore > 0
        ? 'volume_restored'
        : E === 0
          ? 'orphan_position'
          : 'volume_mismatch';
  const volume = lots(Math.abs(delta));
  if (settings.mode === 'frozen' || (spec && volume < spec.volumeMin - 1e-9)) {
    out.push({
      kind: 'alert',
      groupId: who.groupId,
      reason: settings.mode === 'frozen' ? 'mode_frozen' : 'volume_mismatch',
      detail: `${what}; a deal of ${volume} lots is needed, not made: ${
        settings.mode === 'frozen' ? 'subscription is frozen' : `under the symbol minimum ${spec!.volumeMin}`
      }`,
      masterPositionId: who.masterPositionId,
      ...(net ? { ticket: net.ticket } : {}),
    });
    return;
  }
  const restoring = reason === 'volume_restored';
  out.push({
    kind: 'net_deal',
    groupId: who.groupId,
    masterPositionId: who.masterPositionId,
    symbol,
    side: sideOf(delta),
    volume,
    ticket: net?.ticket ?? null,
    reduce: R !== 0 && Math.sign(delta) === -Math.sign(R) && Math.abs(delta) <= Math.abs(R),
    from: lots(R),
    to: lots(target),
    reason,
    detail: `${what}: ${sideOf(delta)} ${volume}`,
    sl: restoring ? (who.link?.sl ?? null) : null,
    tp: restoring ? (who.link?.tp ?? null) : null,
    masterPrice: who.link?.masterPrice ?? net?.openPrice ?? 0,
    // Taking out what nobody asked for is never held back by the price or the signal's age.
    maxSlippagePoints: restoring ? settings.maxSlippagePoints : null,
    expiresAt: restoring
      ? who.link!.signalAt + settings.maxSignalAgeSec * 1000
      : input.now + settings.maxSignalAgeSec * 1000,
    comment: positionTag(who.groupId, who.masterPositionId),
  });
}
