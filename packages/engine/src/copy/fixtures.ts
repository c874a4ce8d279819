/**
 * Builders for the copy engine's tests and for demo data: realistic symbols and a follower
 * context in which an open is copied, so each test changes only what it is about.
 */
import type { MasterOrderSignal, OrderContext } from './pending.js';
import type { FollowerContext, MasterSignal } from './plan.js';
import type { SymbolSpec } from './symbol-spec.js';
import { withDefaults, type SubscriptionInput } from './subscription.js';

export const T0 = Date.UTC(2025, 2, 12, 10, 0, 0); // a Wednesday

export const eurusd: SymbolSpec = {
  symbol: 'EURUSD',
  digits: 5,
  point: 0.00001,
  tickSize: 0.00001,
  tickValue: 1,
  contractSize: 100_000,
  volumeMin: 0.01,
  volumeMax: 100,
  volumeStep: 0.01,
  tradeMode: 'full',
};

export const xauusd: SymbolSpec = {
  symbol: 'XAUUSD',
  digits: 2,
  point: 0.01,
  tickSize: 0.01,
  tickValue: 1,
  contractSize: 100,
  volumeMin: 0.01,
  volumeMax: 50,
  volumeStep: 0.01,
  tradeMode: 'full',
};

/** A broker quoting gold in ounces with ten times the contract and coarser steps. */
export const goldBig: SymbolSpec = {
  ...xauusd,
  symbol: 'GOLD',
  contractSize: 1000,
  tickValue: 10,
  volumeMin: 0.1,
  volumeStep: 0.1,
};

export function openSignal(over: Partial<MasterSignal> = {}): MasterSignal {
  return {
    type: 'position.opened',
    masterPositionId: '1001',
    symbol: 'EURUSD',
    side: 'buy',
    volume: 1,
    price: 1.1,
    sl: 1.095,
    tp: 1.11,
    magic: '0',
    occurredAt: T0 - 500,
    ...over,
  };
}

export function followerContext(
  settings: SubscriptionInput = {},
  over: Partial<FollowerContext> = {},
): FollowerContext {
  return {
    groupId: 'g1',
    settings: withDefaults(settings),
    symbols: new Map([
      ['EURUSD', eurusd],
      ['EURUSD.m', { ...eurusd, symbol: 'EURUSD.m' }],
      ['XAUUSD', xauusd],
      ['GOLD', goldBig],
    ]),
    masterSymbol: eurusd,
    follower: { balance: 5_000, equity: 4_000 },
    master: { balance: 10_000, equity: 10_000 },
    link: null,
    openPositions: 0,
    openLots: 0,
    recentOpenTimes: [],
    activeStopOut: null,
    quote: null,
    now: T0,
    netting: false,
    ...over,
  };
}

/** A master's buy limit below the market, good for an hour. */
export function orderSignal(over: Partial<MasterOrderSignal> = {}): MasterOrderSignal {
  return {
    type: 'order.placed',
    masterOrderId: '2001',
    symbol: 'EURUSD',
    side: 'buy',
    orderType: 'limit',
    volume: 1,
    price: 1.095,
    sl: 1.09,
    tp: 1.105,
    expiresAt: T0 + 3_600_000,
    magic: '0',
    occurredAt: T0 - 500,
    ...over,
  };
}

export function orderContext(
  settings: SubscriptionInput = {},
  over: Partial<OrderContext> = {},
): OrderContext {
  return { ...followerContext(settings), order: null, ...over };
}
