/**
 * How much of a follower's position a master partial close takes. The follower closes the
 * same fraction of its own position, as closely as its lot step allows (the nearest step; a
 * share exactly half-way closes the larger amount), never more than it holds, and never
 * leaves a rest its broker could not close later (under the symbol minimum): then the whole
 * position closes. Rounding down instead would make every follower lag the master: 50 % of
 * 0.03 would close 0.01 and leave 0.02 open.
 */
import { skip, type Skip } from './reasons.js';
import { roundToStep, subtractVolumes, type SymbolSpec } from './symbol-spec.js';

export interface PartialCloseInput {
  /** The follower's linked open volume. */
  readonly openVolume: number;
  /** The master's closed volume (the signal's `volume`). */
  readonly closedVolume: number;
  /** What the master still holds after this close (the signal's `remainingVolume`). */
  readonly remainingVolume?: number | null;
  /** The master's position volume before this close, as last known from its signals. */
  readonly masterVolumeBefore?: number | null;
  readonly spec: Pick<SymbolSpec, 'volumeMin' | 'volumeStep'>;
}

export type PartialClosePlan =
  | {
      readonly kind: 'partial';
      readonly volume: number;
      readonly remaining: number;
      readonly fraction: number;
    }
  | ({ readonly kind: 'full'; readonly volume: number; readonly fraction: number } & Skip)
  | ({ readonly kind: 'skip' } & Skip);

/**
 * The master's closed fraction. `remainingVolume` is exact and preferred; without it the
 * master's volume before the close (tracked on the link from earlier signals) stands in;
 * with neither the fraction is unknown rather than guessed, since guessing wrong either
 * closes a follower's whole position early or leaves it oversized.
 */
export function closedFraction(
  input: Pick<PartialCloseInput, 'closedVolume' | 'remainingVolume' | 'masterVolumeBefore'>,
): number | null {
  const { closedVolume, remainingVolume, masterVolumeBefore } = input;
  if (!(closedVolume >= 0)) return null;
  let fraction: number;
  if (typeof remainingVolume === 'number' && remainingVolume >= 0) {
    const before = closedVolume + remainingVolume;
    fraction = before > 0 ? closedVolume / before : 1;
  } else if (typeof masterVolumeBefore === 'number' && masterVolumeBefore > 0) {
    fraction = closedVolume / masterVolumeBefore;
  } else {
    return null;
  }
  return Math.min(1, Math.max(0, fraction));
}

/**
 * When the share rounds below the minimum, the closer of "nothing" and "the minimum" wins: a
 * share of at least half the minimum closes the minimum, a smaller one is skipped (the
 * position then follows the master's later closes, ending with its full close). A position at
 * the minimum therefore closes whole once the master closes half or more.
 */
export function planPartialClose(input: PartialCloseInput): PartialClosePlan {
  const { openVolume, spec } = input;
  const fraction = closedFraction(input);
  if (fraction === null)
    return {
      kind: 'skip',
      ...skip('partial_close_fraction_unknown', "the master's remaining volume is not known"),
    };
  if (!(openVolume > 0)) return { kind: 'skip', ...skip('no_open_volume', `open volume ${openVolume}`) };
  if (fraction >= 1 - 1e-9)
    return {
      kind: 'full',
      volume: openVolume,
      fraction,
      ...skip('master_closed_all', `the master closed ${input.closedVolume} lots, all it held`),
    };
  const share = openVolume * fraction;
  let volume = Math.min(roundToStep(share, spec.volumeStep), openVolume);
  if (volume < spec.volumeMin) {
    if (share < spec.volumeMin / 2) {
      return {
        kind: 'skip',
        ...skip('partial_close_too_small', `share ${share.toPrecision(3)} lots, minimum ${spec.volumeMin}`),
      };
    }
    volume = spec.volumeMin;
  }
  const remaining = subtractVolumes(openVolume, volume, spec.volumeStep);
  if (remaining < spec.volumeMin - 1e-9) {
    return {
      kind: 'full',
      volume: openVolume,
      fraction,
      ...skip('rest_below_minimum', `the rest (${remaining}) would be under the minimum ${spec.volumeMin}`),
    };
  }
  return { kind: 'partial', volume, remaining, fraction };
}
