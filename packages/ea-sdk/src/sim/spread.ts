/**
 * How a follower EA closes part of a copy that spans several positions (a hedging account
 * whose master, on a netting account, added to its position: each add is a position of its
 * own with the same tag). The rule, the same in the MQL EAs (`KpSpreadTake` in Logic.mqh):
 *
 * 1. the later positions (the adds), newest first, close **whole** while what is still to close
 *    covers them — an add is never left partly closed where it can be avoided (on MT4 the rest
 *    of a partial close gets a new ticket without the tag);
 * 2. what remains comes from the copy's **first** position (the one its `ticket` names);
 * 3. what the first position cannot give comes from the later positions left, newest first.
 *
 * From any one position: at most what is still to close and what it holds, floored to the
 * volume step; a position is never left holding less than the minimum, and less than the
 * minimum is never closed. Never more than asked, never more than held: what cannot be closed
 * within these rules stays, and reconciliation sees the difference.
 */
import { floorVolume } from './symbols.js';

/** A position of the copy, with its opening time (newer adds close first). */
export interface SpreadPosition {
  readonly ticket: string;
  readonly volume: number;
  readonly openedAt: number;
}

/** One partial (or whole) close of a position. */
export interface SpreadClose {
  readonly ticket: string;
  readonly volume: number;
}

export interface VolumeGrid {
  readonly volumeMin: number;
  readonly volumeStep: number;
}

const EPS = 1e-9;

/** What to take from one position given what is still to close (0: leave it). `KpSpreadTake` in Logic.mqh. */
export function spreadTake(remaining: number, positionVolume: number, spec: VolumeGrid): number {
  if (spec.volumeStep <= 0 || remaining < spec.volumeMin - EPS) return 0;
  let take = floorVolume(Math.min(remaining, positionVolume), spec.volumeStep);
  const rest = positionVolume - take;
  if (rest > EPS && rest < spec.volumeMin - EPS)
    take = floorVolume(positionVolume - spec.volumeMin, spec.volumeStep);
  return take < spec.volumeMin - EPS ? 0 : take;
}

/** Spreads closing `volume` lots over the copy's first position and its later ones. */
export function spreadClose(
  first: SpreadPosition | null,
  later: readonly SpreadPosition[],
  volume: number,
  spec: VolumeGrid,
): SpreadClose[] {
  const newestFirst = [...later].sort(
    (a, b) => b.openedAt - a.openedAt || b.ticket.localeCompare(a.ticket, 'en', { numeric: true }),
  );
  const out: SpreadClose[] = [];
  let remaining = volume;
  const take = (p: SpreadPosition, v: number) => {
    out.push({ ticket: p.ticket, volume: v });
    remaining = Number((remaining - v).toFixed(8));
  };
  for (const p of newestFirst) if (p.volume <= remaining + EPS) take(p, p.volume);
  if (first) {
    const v = spreadTake(remaining, first.volume, spec);
    if (v > 0) take(first, v);
  }
  for (const p of newestFirst) {
    if (out.some((c) => c.ticket === p.ticket)) continue;
    const v = spreadTake(remaining, p.volume, spec);
    if (v > 0) take(p, v);
  }
  return out;
}
