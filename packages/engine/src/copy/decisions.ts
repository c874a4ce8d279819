/**
 * What the copy engine decides for one follower. The gateway turns every decision except
 * `skip` into one copy order and one outbox event (`trade.started`, `trade.modified`,
 * `trade.partial_close`, `trade.closed`, `trade.increased`); a `skip` becomes a copy order in
 * state `skipped`.
 */
import type { ReasonCode } from './reasons.js';
import type { Side } from './subscription.js';

/** A new exposure's volume, sized from the master's, and how the sizing got there. */
export interface SizedVolume {
  readonly volume: number;
  /** The sizing mode's volume before limits and rounding. */
  readonly rawVolume: number;
  /** A maximum (subscription or symbol) cut the volume. */
  readonly capped: boolean;
  /** Force-minimum placed the minimum instead of skipping. */
  readonly forced: boolean;
}

/** What an open and an add carry: the follower's symbol and side, the sized volume, the stops. */
interface EntryFields extends SizedVolume {
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly masterPrice: number;
  readonly maxSlippagePoints: number | null;
  /** After this the EA must not act on it any more (the wire's `expiresAt`). */
  readonly expiresAt: number;
  /** The position tag (`positionTag`), so a restarted EA finds its own positions. */
  readonly comment: string;
  /** Why it came out of something other than the master's own trade (a catalogue code, specifics in `detail`). */
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

/**
 * The follower's symbol is already mapped, its side already reversed if the subscription
 * says so. A `reason` says why an open came out of something other than the master's open.
 */
export interface OpenDecision extends EntryFields {
  readonly action: 'open';
}

/**
 * A netting master added to its position (`position.increased`): the follower adds the sized
 * volume to its copy. A hedging follower opens a second position with the same tag; a netting
 * follower's net position grows by the volume. Risk guards apply as to an open: it adds exposure.
 * The side is the linked position's (an add never turns a copy around); the volume is the
 * added volume, sized like an open of the master's added volume; a `reason` says why an add
 * came out of something other than the master's add (reconciliation restoring volume).
 */
export interface IncreaseDecision extends EntryFields {
  readonly action: 'increase';
  /** The copy's first position (`null` until its open is reported filled). */
  readonly ticket: string | null;
}

/** An absent `sl` or `tp` means "leave as it is"; `null` means "remove it". */
export interface ModifyDecision {
  readonly action: 'modify';
  readonly masterPositionId: string;
  /** `null` until the follower reported a fill; the EA then finds the position by its tag. */
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly sl?: number | null;
  readonly tp?: number | null;
}

/**
 * How many follower positions an exit spans, when more than one: a hedging follower holds one
 * per add of the master (all with the copy's tag), and the EA spreads a partial close over them
 * newest first and closes them all on a close.
 */
export interface SpansPositions {
  readonly positions?: number;
}

/** `positions` for an exit of a copy spanning several follower positions; nothing otherwise. */
export const spans = (p: { readonly positions?: number | null }): SpansPositions =>
  typeof p.positions === 'number' && p.positions > 1 ? { positions: p.positions } : {};

export interface PartialCloseDecision extends SpansPositions {
  readonly action: 'partial_close';
  readonly masterPositionId: string;
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  readonly remainingVolume: number;
  /** Why a partial close came out of something else (reconciliation trimming a netting follower's position). */
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

export interface CloseDecision extends SpansPositions {
  readonly action: 'close';
  readonly masterPositionId: string;
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  /** The linked volume; on a netting account this, not the whole net position, is closed. */
  readonly volume: number;
  /**
   * Why a close came out of something else (a partial close that takes the rest, a risk
   * limit, an operator, an orphan): a catalogue code, with the specifics in `detail`.
   */
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

export interface SkipDecision {
  readonly action: 'skip';
  readonly reason: ReasonCode;
  readonly detail: string;
}

export type CopyDecision =
  OpenDecision | IncreaseDecision | ModifyDecision | PartialCloseDecision | CloseDecision | SkipDecision;

export type CopyAction = CopyDecision['action'];

export const skipDecision = (reason: ReasonCode, detail: string): SkipDecision => ({
  action: 'skip',
  reason,
  detail,
});
