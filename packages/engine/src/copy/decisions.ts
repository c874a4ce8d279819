/**
 * What the copy engine decides for one follower. The gateway turns every decision except
 * `skip` into one copy order and one outbox event (`trade.started`, `trade.modified`,
 * `trade.partial_close`, `trade.closed`, `trade.increased`); a `skip` becomes a copy order in
 * state `skipped`.
 */
import type { ReasonCode } from './reasons.js';
import type { Side } from './subscription.js';

export interface OpenDecision {
  readonly action: 'open';
  readonly masterPositionId: string;
  /** The follower's symbol, already mapped. */
  readonly symbol: string;
  /** The follower's side, already reversed if the subscription says so. */
  readonly side: Side;
  readonly volume: number;
  readonly rawVolume: number;
  readonly capped: boolean;
  readonly forced: boolean;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly masterPrice: number;
  readonly maxSlippagePoints: number | null;
  /** After this the EA must not open it any more (`trade.started.expiresAt`). */
  readonly expiresAt: number;
  /** The position tag (`positionTag`), so a restarted EA finds its own positions. */
  readonly comment: string;
  /** Why an open came out of something other than the master's open (a catalogue code, specifics in `detail`). */
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

/**
 * A netting master added to its position (`position.increased`): the follower adds the sized
 * volume to its copy. A hedging follower opens a second position with the same tag; a netting
 * follower's net position grows by the volume. Risk guards apply as to an open: it adds exposure.
 */
export interface IncreaseDecision {
  readonly action: 'increase';
  readonly masterPositionId: string;
  /** The copy's first position (`null` until its open is reported filled). */
  readonly ticket: string | null;
  readonly symbol: string;
  /** The linked position's side: an add never turns a copy around. */
  readonly side: Side;
  /** The added volume, sized like an open of the master's added volume. */
  readonly volume: number;
  readonly rawVolume: number;
  readonly capped: boolean;
  readonly forced: boolean;
  readonly sl: number | null;
  readonly tp: number | null;
  readonly masterPrice: number;
  readonly maxSlippagePoints: number | null;
  readonly expiresAt: number;
  readonly comment: string;
  /** Why an add came out of something other than the master's add (reconciliation restoring volume). */
  readonly reason?: ReasonCode;
  readonly detail?: string;
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
