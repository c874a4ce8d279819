/**
 * Keeps the reason catalogue honest both ways: every code reads well, and every code has a
 * scenario in which the engine really emits it, so none is dead and none is undocumented.
 */
import { describe, expect, it } from 'vitest';
import { eurusd, followerContext, openSignal, orderContext, orderSignal, T0 } from './fixtures.js';
import { planJoin, type MasterPosition } from './join.js';
import { addWithdrawn, executionOutcome, operatorClose } from './outcomes.js';
import { planOrder, type LinkedOrder, type MasterOrderSignal, type OrderContext } from './pending.js';
import { reconcileOrders } from './pending-reconcile.js';
import { planCopy, type FollowerContext, type LinkedPosition, type MasterSignal } from './plan.js';
import { positionTag as groupTag } from '@kopitra/contracts';

/** The tag of group g1, the group these tests reconcile. */
const positionTag = (id: string) => groupTag('g1', id);
import { explainReason, reasonCatalogue, reasonCodes, type ReasonCode } from './reasons.js';
import { reconcile, type ExpectedPosition, type ReconcileInput } from './reconcile.js';
import { decideRiskLimits } from './risk-limits.js';
import { withDefaults, type SubscriptionInput } from './subscription.js';

const link: LinkedPosition = { ticket: '9', openVolume: 0.5, symbol: 'EURUSD', side: 'buy', masterVolume: 1 };

const plan = (
  settings: SubscriptionInput = {},
  ctx: Partial<FollowerContext> = {},
  signal: Partial<MasterSignal> = {},
): string => {
  const d = planCopy(openSignal(signal), followerContext(settings, ctx));
  return d.action === 'skip' ? d.reason : d.action;
};
const exit = (
  type: MasterSignal['type'],
  ctx: Partial<FollowerContext>,
  signal: Partial<MasterSignal> = {},
  settings: SubscriptionInput = {},
) => plan(settings, ctx, { type, ...signal });

const held: MasterPosition = {
  masterPositionId: 'h1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 1,
  openPrice: 1.1,
  openedAt: T0 - 3_600_000,
};
const join = (settings: SubscriptionInput, ctx: Partial<FollowerContext> = {}): string | undefined => {
  const d = planJoin(held, followerContext(settings, ctx));
  return d === null ? undefined : d.action === 'skip' ? d.reason : d.action;
};

const exp: ExpectedPosition = {
  masterPositionId: 'm1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.5,
  ticket: 't1',
  signalAt: T0,
  masterPrice: 1.1,
};
const rep = {
  ticket: 't1',
  symbol: 'EURUSD',
  side: 'buy' as const,
  volume: 0.5,
  openPrice: 1.1,
  comment: positionTag('m1'),
};
const recon = (over: Partial<ReconcileInput>): string[] =>
  reconcile({
    groupId: 'g1',
    expected: [],
    reported: [],
    snapshotAt: T0,
    now: T0,
    settings: withDefaults(),
    ...over,
  }).map((c) => (c.kind === 'alert' || c.kind === 'detach' || c.kind === 'close_orphan' ? c.reason : c.kind));
const linkedOrder: LinkedOrder = {
  ticket: '77',
  symbol: 'EURUSD',
  side: 'buy',
  orderType: 'limit',
  volume: 0.5,
};
const order = (
  settings: SubscriptionInput = {},
  ctx: Partial<OrderContext> = {},
  signal: Partial<MasterOrderSignal> = {},
): string => {
  const d = planOrder(orderSignal(signal), orderContext(settings, ctx));
  return d.action === 'skip' ? d.reason : 'reason' in d && d.reason !== undefined ? d.reason : d.action;
};
const filled = { type: 'order.filled' as const, masterPositionId: '2001', price: 1.0951 };
const orderRecon = (over: Partial<Parameters<typeof reconcileOrders>[0]>): string | undefined =>
  reconcileOrders({
    groupId: 'g1',
    expected: [],
    reported: [],
    positions: [],
    settings: withDefaults(),
    snapshotAt: T0,
    now: T0,
    ...over,
  })
    .map((c) => ('reason' in c ? c.reason : c.kind))
    .join();
const expOrder = {
  masterOrderId: '2001',
  symbol: 'EURUSD',
  side: 'buy' as const,
  orderType: 'limit' as const,
  volume: 0.5,
  price: 1.095,
  ticket: '77',
  signalAt: T0 - 120_000,
  expiresAt: null,
};

/** The reason on the order a decision becomes: a skip's, or a close's own. */
const orderReason = (d: ReturnType<typeof planCopy>): string | undefined =>
  d.action === 'skip' ? d.reason : d.action === 'close' ? d.reason : undefined;

const scenarios = {
  mode_frozen: () => plan({ mode: 'frozen' }),
  mode_close_only: () => plan({ mode: 'close_only' }),
  symbol_excluded: () => plan({ symbolFilter: { exclude: ['EUR*'] } }),
  magic_excluded: () => plan({ magicFilter: { exclude: ['0'] } }),
  side_not_allowed: () => plan({ allowedSides: ['sell'] }),
  master_volume_below_minimum: () => plan({ masterVolume: { min: 0.5 } }, {}, { volume: 0.1 }),
  master_volume_above_maximum: () => plan({ masterVolume: { max: 0.5 } }, {}, { volume: 0.8 }),
  symbol_catalog_missing: () => plan({}, { symbols: {} }),
  symbol_ambiguous: () =>
    plan({ symbolRules: { auto: true } }, { symbols: { 'EURUSD.m': eurusd, 'EURUSD.pro': eurusd } }),
  symbol_unknown: () => plan({}, {}, { symbol: 'GBPUSD' }),
  symbol_trade_disabled: () => plan({}, { symbols: { EURUSD: { ...eurusd, tradeMode: 'disabled' } } }),
  symbol_spec_invalid: () =>
    plan(
      { sizing: { mode: 'risk_percent', percent: 1 } },
      { symbols: { EURUSD: { ...eurusd, tickSize: 0 } } },
    ),
  master_symbol_spec_missing: () => plan({ sizing: { mode: 'contract_size' } }, { masterSymbol: null }),
  missing_account_metrics: () => plan({ sizing: { mode: 'equity_ratio' } }, { master: null }),
  no_stop_loss_for_risk_sizing: () =>
    plan({ sizing: { mode: 'risk_percent', percent: 1 } }, {}, { sl: null }),
  sizing_invalid: () => plan({ sizing: { mode: 'multiplier', multiplier: Number.NaN } }),
  volume_below_minimum: () => plan({}, {}, { volume: 0.001 }),
  volume_limits_conflict: () => plan({ minVolume: 2, maxVolume: 1 }),
  signal_too_old: () => plan({}, {}, { occurredAt: T0 - 61_000 }),
  max_open_positions: () => plan({ maxOpenPositions: 1 }, { openPositions: 1 }),
  max_total_lots: () => plan({ maxTotalLots: 1 }, { openLots: 0.5 }),
  max_trades_per_hour: () => plan({ maxTradesPerHour: 1 }, { recentOpenTimes: [T0 - 60_000] }),
  slippage_exceeded: () => plan({ maxSlippagePoints: 5 }, { quote: { bid: 1.101, ask: 1.1011 } }),
  risk_limit_halted: () =>
    plan({}, { activeStopOut: { period: 'week', metric: 'balance_drawdown', action: 'halt_opens', at: T0 } }),
  already_copied: () => plan({}, { link }),
  no_linked_position: () => exit('position.closed', {}),
  position_detached: () => exit('position.closed', { link: { ...link, detached: true } }),
  no_open_volume: () =>
    exit(
      'position.partially_closed',
      { link: { ...link, openVolume: 0 } },
      { remainingVolume: 0.5, volume: 0.5 },
    ),
  nothing_to_modify: () => exit('position.modified', { link }, {}, { copySl: false, copyTp: false }),
  partial_close_too_small: () =>
    exit(
      'position.partially_closed',
      { link: { ...link, openVolume: 0.02 } },
      { volume: 0.1, remainingVolume: 0.9 },
    ),
  partial_close_fraction_unknown: () =>
    exit('position.partially_closed', { link: { ...link, masterVolume: null } }, { remainingVolume: null }),
  join_price_too_far: () =>
    join({ onJoin: { mode: 'market', maxDistancePoints: 50 } }, { quote: { bid: 1.102, ask: 1.1021 } }),
  join_limit_unsupported: () => join({ onJoin: { mode: 'limit', expiryMinutes: 30 } }),
  master_closed_all: () =>
    orderReason(
      planCopy(openSignal({ type: 'position.partially_closed', volume: 1, remainingVolume: 0 }), {
        ...followerContext({}),
        link,
      }),
    ),
  rest_below_minimum: () =>
    orderReason(
      planCopy(openSignal({ type: 'position.partially_closed', volume: 0.5, remainingVolume: 0.5 }), {
        ...followerContext({}),
        link: { ...link, openVolume: 0.015 },
      }),
    ),
  risk_limit_close_all: () =>
    decideRiskLimits({
      limits: [{ period: 'day', metric: 'equity_drawdown', maxPercent: 5, action: 'close_all' }],
      now: T0,
      stopOuts: [
        {
          limitKey: 'x',
          period: 'day',
          metric: 'equity_drawdown',
          action: 'close_all',
          at: T0,
          resetAt: null,
        },
      ],
      windows: {},
      copiedPositions: [{ masterPositionId: 'm1', ticket: '9', symbol: 'EURUSD', side: 'buy', volume: 0.5 }],
    }).closes[0]?.reason,
  operator_close: () =>
    operatorClose({ masterPositionId: 'm1', ticket: '9', symbol: 'EURUSD', side: 'buy', volume: 0.5 }).reason,
  master_closed: () => exit('position.closed', { link: { ...link, ticket: null, openUndelivered: true } }),
  pending_orders_skipped: () => order({ pendingOrders: 'skip' }),
  pending_waits_for_fill: () => order({ pendingOrders: 'market_on_fill' }),
  order_type_unsupported: () =>
    order({ reverse: true }, {}, { orderType: 'stop_limit', stopLimitPrice: 1.0945 }),
  order_expired: () => order({}, {}, { expiresAt: T0 - 1 }),
  no_linked_order: () => order({}, {}, { type: 'order.cancelled' }),
  order_already_filled: () =>
    order({}, { order: { ...linkedOrder, filled: true } }, { type: 'order.modified' }),
  order_left_pending: () => order({}, { order: linkedOrder }, filled),
  order_filled_at_market: () => order({ pendingOnMasterFill: 'market' }, { order: linkedOrder }, filled),
  master_order_cancelled: () =>
    order({}, { order: { ...linkedOrder, ticket: null, undelivered: true } }, { type: 'order.cancelled' }),
  order_fill_unmatched: () =>
    order({}, { order: { ...linkedOrder, filled: true }, link }, { type: 'order.cancelled' }),
  orphan_order: () =>
    orderRecon({
      reported: [
        {
          ticket: '5',
          symbol: 'EURUSD',
          side: 'buy',
          orderType: 'limit',
          volume: 1,
          price: 1.09,
          comment: positionTag('x'),
        },
      ],
    }),
  order_missing: () => orderRecon({ expected: [expOrder] }),
  orphan_position: () => recon({ reported: [rep] }).join(),
  position_closed_outside: () => recon({ expected: [exp] }).join(),
  volume_mismatch: () => recon({ expected: [exp], reported: [{ ...rep, volume: 0.2 }] }).at(-1),
  side_mismatch: () => recon({ expected: [exp], reported: [{ ...rep, side: 'sell' }] }).join(),
  symbol_mismatch: () => recon({ expected: [exp], reported: [{ ...rep, symbol: 'XAUUSD' }] }).join(),
  volume_restored: () => {
    const [c] = reconcile({
      groupId: 'g1',
      expected: [exp],
      reported: [{ ...rep, volume: 0.2 }],
      snapshotAt: T0,
      now: T0,
      settings: withDefaults({ manualClosePolicy: 'reopen' }),
    });
    return c?.kind === 'adjust_volume' ? c.add?.reason : c?.kind;
  },
  position_tag_ambiguous: () => {
    const long = (n: number) => ({ ...exp, masterPositionId: `${'9'.repeat(23)}${n}`, ticket: null });
    return recon({
      expected: [long(1), long(2)],
      reported: [{ ...rep, comment: positionTag(`${'9'.repeat(23)}1`) }],
    }).join();
  },
  copy_order_failed: () =>
    recon({
      expected: [exp],
      reported: [rep],
      failedOrders: [{ masterPositionId: 'm1', kind: 'modify', status: 'failed', at: T0 }],
    }).join(),
  copy_open_failed: () => addWithdrawn('o1').reason,
  execution_rejected: () => executionOutcome('open', 'rejected', 10006).reason,
  execution_failed: () => executionOutcome('close', 'failed', 'position_not_found').reason,
} satisfies Record<ReasonCode, () => string | undefined>;

describe('reason catalogue', () => {
  it.each(reasonCodes)('%s is a snake_case code with one readable line', (code) => {
    expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    const { description } = reasonCatalogue[code];
    expect(description).toMatch(/^[A-Z].{20,200}\.$/);
    expect(description).not.toContain('\n');
  });

  it('has a scenario for every code and no scenario for a code it lacks', () => {
    expect(Object.keys(scenarios).sort()).toEqual([...reasonCodes].sort());
  });

  it.each(Object.entries(scenarios))('%s is really emitted', (code, scenario) => {
    expect(scenario()).toBe(code);
  });
});

describe('explainReason', () => {
  it('reads as two sentences: the catalogue text, then the detail capitalised and ended', () => {
    expect(
      explainReason('copy_order_failed', 'a stop loss / take profit modification failed; check the position'),
    ).toBe(
      'A copy order failed or expired and cannot be retried automatically. A stop loss / take profit modification failed; check the position.',
    );
    expect(explainReason('mode_frozen', 'Nothing to do.')).toBe(
      `${reasonCatalogue.mode_frozen.description} Nothing to do.`,
    );
    expect(explainReason('mode_frozen', '  ')).toBe(reasonCatalogue.mode_frozen.description);
  });
});
