/**
 * How many lots a follower opens for a master open. Two steps: the sizing mode gives a raw
 * volume, then the subscription's and the symbol's limits turn it into a volume the
 * follower's broker accepts — or a skip with a reason.
 */
import { skip, type ReasonCode } from './reasons.js';
import { ceilToStep, floorToStep, type SymbolSpec } from './symbol-spec.js';
import type { Sizing, SubscriptionSettings } from './subscription.js';

export interface AccountMetrics {
  readonly balance?: number | null;
  readonly equity?: number | null;
}

export interface SizingInput {
  readonly sizing: Sizing;
  readonly masterVolume: number;
  /** The master's entry price; the follower fills near it. */
  readonly entryPrice: number;
  /** The stop the follower's position gets (after reverse), used only by risk sizing. */
  readonly stopLoss: number | null;
  readonly follower: AccountMetrics | null;
  readonly master: AccountMetrics | null;
  readonly followerSpec: SymbolSpec;
  readonly masterSpec?: SymbolSpec | null;
}

export type RawVolume =
  | { readonly ok: true; readonly raw: number }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

export type SizeResult =
  | {
      readonly ok: true;
      readonly volume: number;
      /** The sizing mode's volume before limits and rounding, for the copy order record. */
      readonly raw: number;
      /** The maximum (subscription or symbol) cut the volume. */
      readonly capped: boolean;
      /** Force-minimum placed the minimum instead of skipping. */
      readonly forced: boolean;
    }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

const fail = (reason: ReasonCode, detail: string): { ok: false; reason: ReasonCode; detail: string } => ({
  ok: false,
  ...skip(reason, detail),
});

const usable = (v: number | null | undefined): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v > 0;

function ratio(kind: 'balance' | 'equity', input: SizingInput, k: number): RawVolume {
  const f = input.follower?.[kind];
  const m = input.master?.[kind];
  if (!usable(f) || !usable(m))
    return fail(
      'missing_account_metrics',
      `${kind} of ${usable(f) ? 'master' : 'follower'} is unknown or not positive`,
    );
  return { ok: true, raw: (input.masterVolume * f * k) / m };
}

/** The sizing mode's volume, before any limit or rounding. */
export function rawVolume(input: SizingInput): RawVolume {
  const { sizing, masterVolume, followerSpec } = input;
  switch (sizing.mode) {
    case 'mirror':
      return { ok: true, raw: masterVolume };
    case 'multiplier':
      return { ok: true, raw: masterVolume * sizing.multiplier };
    case 'fixed':
      return { ok: true, raw: sizing.lots };
    case 'balance_ratio':
      return ratio('balance', input, sizing.multiplier ?? 1);
    case 'equity_ratio':
      return ratio('equity', input, sizing.multiplier ?? 1);
    case 'contract_size': {
      const masterContract = input.masterSpec?.contractSize;
      if (!usable(masterContract))
        return fail('master_symbol_spec_missing', "the master's contract size is unknown");
      if (!usable(followerSpec.contractSize))
        return fail('symbol_spec_invalid', `contract size ${followerSpec.contractSize}`);
      return {
        ok: true,
        raw: ((masterVolume * masterContract) / followerSpec.contractSize) * (sizing.multiplier ?? 1),
      };
    }
    case 'risk_percent': {
      const equity = input.follower?.equity;
      if (!usable(equity))
        return fail('missing_account_metrics', 'follower equity is unknown or not positive');
      if (input.stopLoss === null || !Number.isFinite(input.stopLoss) || input.stopLoss <= 0) {
        return fail('no_stop_loss_for_risk_sizing', 'the trade has no stop loss');
      }
      const distance = Math.abs(input.entryPrice - input.stopLoss);
      if (distance === 0) return fail('no_stop_loss_for_risk_sizing', 'the stop loss is at the entry price');
      if (!usable(followerSpec.tickSize) || !usable(followerSpec.tickValue)) {
        return fail(
          'symbol_spec_invalid',
          `tick size ${followerSpec.tickSize}, tick value ${followerSpec.tickValue}`,
        );
      }
      const lossPerLot = (distance / followerSpec.tickSize) * followerSpec.tickValue;
      return { ok: true, raw: (equity * sizing.percent) / 100 / lossPerLot };
    }
  }
}

export type VolumeLimits = Pick<
  SubscriptionSettings,
  'minVolume' | 'maxVolume' | 'forceMinimum' | 'forceMinimumMaxRiskFactor'
>;

/** The smallest and largest volume the subscription and the broker both accept, on the step. */
export function volumeBounds(
  limits: Pick<VolumeLimits, 'minVolume' | 'maxVolume'>,
  spec: SymbolSpec,
): { min: number; max: number } {
  return {
    min: ceilToStep(Math.max(limits.minVolume ?? 0, spec.volumeMin), spec.volumeStep),
    max: floorToStep(Math.min(limits.maxVolume ?? Infinity, spec.volumeMax), spec.volumeStep),
  };
}

/**
 * Cap, round down to the step, and decide what a too-small result does. The maximum caps
 * (a trader asked for at most that much); the minimum skips instead of inflating, because
 * silently taking more risk than sized is worse than not copying — unless force-minimum is
 * on and the minimum is at most `forceMinimumMaxRiskFactor` times the sized volume.
 */
export function fitVolume(raw: number, limits: VolumeLimits, spec: SymbolSpec): SizeResult {
  if (!Number.isFinite(raw) || raw < 0) return fail('sizing_invalid', `raw volume ${raw}`);
  if (!usable(spec.volumeStep) || !usable(spec.volumeMin) || !usable(spec.volumeMax)) {
    return fail(
      'symbol_spec_invalid',
      `volume min ${spec.volumeMin}, max ${spec.volumeMax}, step ${spec.volumeStep}`,
    );
  }
  const { min, max } = volumeBounds(limits, spec);
  if (min > max) return fail('volume_limits_conflict', `minimum ${min} is above maximum ${max}`);
  const capped = raw > max;
  const volume = floorToStep(capped ? max : raw, spec.volumeStep);
  if (volume >= min) return { ok: true, volume, raw, capped, forced: false };
  if (limits.forceMinimum && raw > 0 && min / raw <= limits.forceMinimumMaxRiskFactor) {
    return { ok: true, volume: min, raw, capped: false, forced: true };
  }
  const why = limits.forceMinimum
    ? ` (force-minimum would take ${(min / raw).toFixed(2)}× the risk, limit ${limits.forceMinimumMaxRiskFactor}×)`
    : '';
  return fail('volume_below_minimum', `sized ${raw.toPrecision(4)} lots, minimum ${min}${why}`);
}

export function sizeOpen(input: SizingInput, limits: VolumeLimits): SizeResult {
  const raw = rawVolume(input);
  return raw.ok ? fitVolume(raw.raw, limits, input.followerSpec) : raw;
}
