/**
 * The one catalogue of reason codes the copy engine gives when it does not copy a signal
 * as asked (a skip) or cannot correct a follower's book by itself (an alert). Codes are
 * stable and never reused: they are stored on copy orders and shown to operators.
 */

export type ReasonCategory =
  | 'mode'
  | 'filter'
  | 'symbol'
  | 'sizing'
  | 'guard'
  | 'risk'
  | 'link'
  | 'join'
  | 'order'
  | 'close'
  | 'reconcile'
  | 'execution';

export interface ReasonDefinition {
  readonly category: ReasonCategory;
  /** One line an operator can read without knowing the code. */
  readonly description: string;
}

const define = <T extends Record<string, ReasonDefinition>>(catalogue: T): T => catalogue;

export const reasonCatalogue = define({
  // --- copy mode --------------------------------------------------------------------------
  mode_frozen: {
    category: 'mode',
    description: 'The subscription is frozen: nothing new is copied; exits of copied positions still are.',
  },
  mode_close_only: {
    category: 'mode',
    description:
      'The subscription is close-only: new opens are not copied; modifications and exits still are.',
  },
  // --- filters ----------------------------------------------------------------------------
  symbol_excluded: {
    category: 'filter',
    description: "The master's symbol is excluded by the subscription's symbol filter.",
  },
  magic_excluded: {
    category: 'filter',
    description: "The master trade's magic number is excluded by the subscription's magic filter.",
  },
  side_not_allowed: {
    category: 'filter',
    description: 'The subscription does not copy trades on this side (buy or sell).',
  },
  master_volume_below_minimum: {
    category: 'filter',
    description:
      "The master's own volume is below the subscription's masterVolume.min (a filter on the master's lots, not the follower's).",
  },
  master_volume_above_maximum: {
    category: 'filter',
    description:
      "The master's own volume is above the subscription's masterVolume.max, e.g. a martingale step (a filter, not the follower's volume cap).",
  },
  // --- follower symbol --------------------------------------------------------------------
  symbol_catalog_missing: {
    category: 'symbol',
    description:
      'The follower terminal has not reported its symbol catalog yet, so the trade cannot be sized.',
  },
  symbol_unknown: {
    category: 'symbol',
    description: "The (mapped) symbol is not in the follower's symbol catalog; add a symbol map entry.",
  },
  symbol_ambiguous: {
    category: 'symbol',
    description:
      'Automatic symbol resolution found several follower symbols that fit equally well; add a symbol map entry or follower affix rules.',
  },
  symbol_trade_disabled: {
    category: 'symbol',
    description: "The follower's broker does not allow opening this side on this symbol (trade mode).",
  },
  symbol_spec_invalid: {
    category: 'symbol',
    description: "The follower's symbol spec has a zero or invalid tick size, tick value or contract size.",
  },
  master_symbol_spec_missing: {
    category: 'symbol',
    description:
      "Contract-size sizing needs the master's symbol spec, which the master terminal has not reported.",
  },
  // --- sizing -----------------------------------------------------------------------------
  missing_account_metrics: {
    category: 'sizing',
    description: 'The sizing mode needs balance or equity of the follower or master, which is not known yet.',
  },
  no_stop_loss_for_risk_sizing: {
    category: 'sizing',
    description:
      'Risk-percent sizing needs a stop loss away from the entry price; the master trade has none.',
  },
  sizing_invalid: {
    category: 'sizing',
    description: 'The sizing inputs produced no finite, non-negative volume.',
  },
  volume_below_minimum: {
    category: 'sizing',
    description:
      'The sized volume is below the minimum volume (subscription or symbol) and force-minimum does not apply.',
  },
  volume_limits_conflict: {
    category: 'sizing',
    description:
      "The subscription's maximum volume is below the effective minimum volume; fix the volume limits.",
  },
  // --- guards on opens --------------------------------------------------------------------
  signal_too_old: {
    category: 'guard',
    description: 'The open signal is older than the maximum signal age; the price has likely moved.',
  },
  max_open_positions: {
    category: 'guard',
    description: 'The follower already holds the maximum number of open positions.',
  },
  max_total_lots: {
    category: 'guard',
    description: "The open would take the follower's total lots above the maximum.",
  },
  max_trades_per_hour: {
    category: 'guard',
    description: 'The follower has already opened the maximum number of trades in the last hour.',
  },
  slippage_exceeded: {
    category: 'guard',
    description: "The follower's current price is further from the master's price than the maximum slippage.",
  },
  risk_limit_halted: {
    category: 'risk',
    description: 'A risk limit was breached (stop-out); opens are halted until an operator resets it.',
  },
  // --- links to follower positions --------------------------------------------------------
  already_copied: {
    category: 'link',
    description:
      'This master position is already linked to a follower position; the open is not copied twice.',
  },
  no_linked_position: {
    category: 'link',
    description:
      'The follower has no position copied from this master position (its open was skipped or never filled).',
  },
  position_detached: {
    category: 'link',
    description: "The follower's copy was closed outside Kopitra and detached; it is no longer managed.",
  },
  no_open_volume: { category: 'link', description: 'The linked follower position has no open volume left.' },
  nothing_to_modify: {
    category: 'link',
    description:
      'Neither stop loss nor take profit is copied by this subscription, so the modification changes nothing.',
  },
  partial_close_too_small: {
    category: 'link',
    description:
      "The follower's share of this partial close is nearer to zero than to the minimum volume; the position stays open.",
  },
  partial_close_fraction_unknown: {
    category: 'link',
    description: "The master's remaining volume is unknown, so the fraction to close cannot be computed.",
  },
  // --- joining late -----------------------------------------------------------------------
  join_price_too_far: {
    category: 'join',
    description:
      "The follower's price is further from the master's entry than the subscription's onJoin.maxDistancePoints; the held position is not opened.",
  },
  join_limit_unsupported: {
    category: 'join',
    description:
      'The onJoin mode limit needs pending orders, which the EA protocol does not carry yet; the held position is not opened.',
  },
  // --- pending orders ---------------------------------------------------------------------
  pending_orders_skipped: {
    category: 'order',
    description: "The subscription's pendingOrders is skip: the master's pending orders are not copied.",
  },
  pending_waits_for_fill: {
    category: 'order',
    description:
      "The subscription's pendingOrders is market_on_fill: nothing is placed; the master's fill is copied as a market open.",
  },
  order_type_unsupported: {
    category: 'order',
    description:
      'The follower cannot hold this order type: a stop-limit has no reversed form, and MT4 has no stop-limit orders.',
  },
  order_expired: {
    category: 'order',
    description: "The master's pending order had expired before the follower's copy could be placed.",
  },
  no_linked_order: {
    category: 'order',
    description:
      'The follower has no pending order copied from this master order (its placement was skipped or refused).',
  },
  order_already_filled: {
    category: 'order',
    description:
      "The follower's copy of this pending order has already filled; the position is managed instead.",
  },
  order_left_pending: {
    category: 'order',
    description:
      "The master's order filled but the follower's has not; pendingOnMasterFill is leave, so it waits for its own price.",
  },
  order_filled_at_market: {
    category: 'order',
    description:
      "The master's order filled but the follower's had not; pendingOnMasterFill is market, so it is replaced by a market open within the slippage limit.",
  },
  master_order_cancelled: {
    category: 'order',
    description:
      'The master cancelled the order (or it expired) before the copy reached the follower: the undelivered placement was withdrawn.',
  },
  orphan_order: {
    category: 'reconcile',
    description:
      'The follower holds a tagged pending order no live copy stands for (its master order is gone); reconciliation cancels it.',
  },
  order_missing: {
    category: 'reconcile',
    description:
      "A copied pending order is gone from the follower's book without a fill or an expiry, and is too old to place again.",
  },
  // --- why a close was sent --------------------------------------------------------------
  order_fill_unmatched: {
    category: 'close',
    description:
      "The follower's copy of a pending order filled, but the master's order was cancelled or expired unfilled, or the position it became is closed: the follower's position copies nothing and is closed.",
  },
  master_closed_all: {
    category: 'close',
    description:
      "The master's partial close took all that was left of its position, so the follower's copy closes whole.",
  },
  rest_below_minimum: {
    category: 'close',
    description:
      "The partial close would leave less than the follower's minimum volume open, so the whole copy closes.",
  },
  risk_limit_close_all: {
    category: 'risk',
    description:
      'A risk limit whose action is close_all was breached, so every copied position of the subscription closes.',
  },
  operator_close: {
    category: 'close',
    description: "An operator closed the follower's copied positions (the close-follower-positions task).",
  },
  copy_open_failed: {
    category: 'link',
    description:
      "The copy's open was refused or failed before this add reached the follower: the add was withdrawn, and its volume stays with the copy for reconciliation to re-open whole.",
  },
  master_closed: {
    category: 'close',
    description:
      'The master closed the position before the copy reached the follower: its undelivered orders were withdrawn and nothing is left to close.',
  },
  // --- reconciliation ---------------------------------------------------------------------
  orphan_position: {
    category: 'reconcile',
    description:
      'The follower holds a tagged position no live copy stands for (a closed master position, a duplicate, a refused close on a netting account); reconciliation closes it.',
  },
  position_closed_outside: {
    category: 'reconcile',
    description:
      'A copied position disappeared without a copy order closing it (by hand, SL/TP or broker stop-out).',
  },
  volume_mismatch: {
    category: 'reconcile',
    description:
      "The follower position's volume (on a netting account the symbol's net volume) differs from the copied volume by at least one step.",
  },
  side_mismatch: {
    category: 'reconcile',
    description: 'The follower position tagged for this master position is on the other side than expected.',
  },
  symbol_mismatch: {
    category: 'reconcile',
    description:
      'The follower position tagged for this master position is on a different symbol than expected.',
  },
  position_tag_ambiguous: {
    category: 'reconcile',
    description:
      "A follower position's tag fits more than one master position (cut to MetaTrader's 31 characters, or an old kopitra: tag two copy groups share); it is left alone.",
  },
  volume_restored: {
    category: 'reconcile',
    description:
      'The follower held less than the copied volume and the manual-close policy is reopen: reconciliation opened the missing volume under the position tag.',
  },
  copy_order_failed: {
    category: 'reconcile',
    description: 'A copy order failed or expired and cannot be retried automatically.',
  },
  // --- what the follower's terminal reported ----------------------------------------------
  execution_rejected: {
    category: 'execution',
    description:
      "The follower's broker or terminal refused the order; errorCode and message carry the broker's code and words.",
  },
  execution_failed: {
    category: 'execution',
    description:
      "The follower's terminal could not carry the order out (no such position, gave up after retries); errorCode and message say why.",
  },
});

export type ReasonCode = keyof typeof reasonCatalogue;

export const reasonCodes = Object.keys(reasonCatalogue) as ReasonCode[];

export const isReasonCode = (code: string): code is ReasonCode => Object.hasOwn(reasonCatalogue, code);

export const describeReason = (code: ReasonCode): string => reasonCatalogue[code].description;

/**
 * The catalogue's sentence followed by the specifics as a sentence of their own: details are
 * written in lower case to read after a colon, so the first letter is raised and a full stop
 * added ("… automatically. A stop loss … failed.").
 */
export function explainReason(code: ReasonCode, detail: string): string {
  const d = detail.trim();
  if (d === '') return describeReason(code);
  const sentence = d.charAt(0).toUpperCase() + d.slice(1);
  return `${describeReason(code)} ${/[.!?]$/.test(sentence) ? sentence : `${sentence}.`}`;
}

/** Why something was not done, with the specifics (values, limits) an operator needs. */
export interface Skip {
  readonly reason: ReasonCode;
  readonly detail: string;
}

export const skip = (reason: ReasonCode, detail: string): Skip => ({ reason, detail });
