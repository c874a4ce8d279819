/**
 * How a follower EA closes part of a copy that spans several positions (a hedging account
 * whose master, on a netting account, added to its position: each add is a position of its
 * own with the same tag). The rule, the same in the MQL EAs (`KpSpreadClose` in Logic.mqh):
 * newest position first; from each, what is still to close, at most what it holds, floored to
 * the volume step; a position is never left holding less than the minimum (it keeps the
 * minimum and the rest comes from the next older one); nothing under the minimum is closed.
 * Never more than asked, never more than held: what cannot be closed within these rules stays,
 * and reconciliation sees the difference.
 */
import { floorVolume } from './symbols.js';

/** A position of the copy, with its opening time (the newest is closed first). */
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

/** Spreads closing `volume` lots over the copy's positions, newest first. */
export function spreadClose(
  positions: readonly SpreadPosition[],
  volume: number,
  spec: { readonly volumeMin: number; readonly volumeStep: number },
): SpreadClose[] {
  const eps = 1e-9;
  const newestFirst = [...positions].sort(
    (a, b) => b.openedAt - a.openedAt || b.ticket.localeCompare(a.ticket, 'en', { numeric: true }),
  );
  const out: SpreadClose[] = [];
  let remaining = volume;
  for (const p of newestFirst) {
    if (remaining < spec.volumeMin - eps) break;
    let take = floorVolume(Math.min(remaining, p.volume), spec.volumeStep);
    const rest = p.volume - take;
    if (rest > eps && rest < spec.volumeMin - eps)
      take = floorVolume(p.volume - spec.volumeMin, spec.volumeStep);
    if (take < spec.volumeMin - eps) continue;
    out.push({ ticket: p.ticket, volume: take });
    remaining = Number((remaining - take).toFixed(8));
  }
  return out;
}
