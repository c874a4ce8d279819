/**
 * What the copy engine decides for one follower. The gateway turns every decision except
 * `skip` into one copy order and one outbox event (`trade.started`, `trade.modified`,
 * `trade.partial_close`, `trade.closed`); a `skip` becomes a copy order in state `skipped`.
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

export interface PartialCloseDecision {
  readonly action: 'partial_close';
  readonly masterPositionId: string;
  readonly ticket: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly volume: number;
  readonly remainingVolume: number;
}

export interface CloseDecision {
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
  OpenDecision | ModifyDecision | PartialCloseDecision | CloseDecision | SkipDecision;

export type CopyAction = CopyDecision['action'];

export const skipDecision = (reason: ReasonCode, detail: string): SkipDecision => ({
  action: 'skip',
  reason,
  detail,
});
