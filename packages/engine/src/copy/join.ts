/**
 * Joining late: what a follower does about a position the master already holds when the
 * follower joins — it subscribed while the position was open, or its copy of the open
 * expired while it was away. The subscription's `onJoin` decides; a position is judged once
 * per join, and the decision is an open (with the distance limit on the wire) or a skip with
 * its reason, so an operator sees what was opened and what was not.
 */
import { skipDecision, type OpenDecision, type SkipDecision } from './decisions.js';
import { planOpen, type FollowerContext, type MasterSignal } from './plan.js';
import type { Side } from './subscription.js';

/** A position the master holds, as its signals so far describe it. */
export interface MasterPosition {
  readonly masterPositionId: string;
  readonly symbol: string;
  readonly side: Side;
  /** What the master holds now (after partial closes). */
  readonly volume: number;
  /** The master's entry price. */
  readonly openPrice: number;
  readonly sl?: number | null;
  readonly tp?: number | null;
  readonly magic?: string | null;
  readonly openedAt: number;
}

/**
 * `null` when the policy is `none` (nothing to decide). `market` is an open at the master's
 * entry price with `maxDistancePoints` as the slippage limit: the follower's EA refuses it when
 * its price has moved further (as it refuses any open beyond `maxSlippage`), and where the
 * gateway knows the follower's quote it is skipped here already (`join_price_too_far`). Every
 * other filter, guard and the sizing apply as to a fresh open of the master's current volume.
 */
export function planJoin(position: MasterPosition, ctx: FollowerContext): OpenDecision | SkipDecision | null {
  const policy = ctx.settings.onJoin;
  if (policy.mode === 'none') return null;
  if (policy.mode === 'limit')
    return skipDecision(
      'join_limit_unsupported',
      'limit joins need pending orders, which the EA protocol lacks',
    );
  const signal: MasterSignal = {
    type: 'position.opened',
    masterPositionId: position.masterPositionId,
    symbol: position.symbol,
    side: position.side,
    volume: position.volume,
    price: position.openPrice,
    sl: position.sl ?? null,
    tp: position.tp ?? null,
    magic: position.magic ?? null,
    // The join happens now; the master's open time is not held against it.
    occurredAt: ctx.now,
  };
  const decision = planOpen(signal, {
    ...ctx,
    link: null,
    settings: { ...ctx.settings, maxSlippagePoints: policy.maxDistancePoints },
  });
  if (decision.action === 'skip' && decision.reason === 'slippage_exceeded')
    return skipDecision('join_price_too_far', decision.detail);
  return decision;
}
