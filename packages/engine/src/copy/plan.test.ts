import { positionTag } from '@kopitra/contracts';
import { describe, expect, it } from 'vitest';
import { planCopy, type FollowerContext, type LinkedPosition, type MasterSignal } from './plan.js';
import { eurusd, followerContext, openSignal, T0 } from './fixtures.js';
import type { SubscriptionInput } from './subscription.js';

const open = (
  settings: SubscriptionInput = {},
  ctx: Partial<FollowerContext> = {},
  signal: Partial<MasterSignal> = {},
) => planCopy(openSignal(signal), followerContext(settings, ctx));
const reasonOf = (d: ReturnType<typeof planCopy>) => (d.action === 'skip' ? d.reason : d.action);

const link: LinkedPosition = {
  ticket: '555',
  openVolume: 0.4,
  symbol: 'EURUSD.m',
  side: 'buy',
  masterVolume: 1,
};
const followUp = (type: MasterSignal['type'], signal: Partial<MasterSignal> = {}): MasterSignal =>
  openSignal({ type, occurredAt: T0 - 3_600_000, ...signal });

describe('planCopy: opens', () => {
  it('copies a plain open with the tag, expiry and SL/TP', () => {
    expect(open()).toEqual({
      action: 'open',
      masterPositionId: '1001',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 1,
      rawVolume: 1,
      capped: false,
      forced: false,
      sl: 1.095,
      tp: 1.11,
      masterPrice: 1.1,
      maxSlippagePoints: null,
      expiresAt: T0 - 500 + 60_000,
      comment: positionTag('g1', '1001'),
    });
  });

  it('maps the symbol and rounds SL/TP to its digits', () => {
    expect(open({ symbolMap: { EURUSD: 'EURUSD.m' } }, {}, { sl: 1.0950000001 })).toMatchObject({
      symbol: 'EURUSD.m',
      sl: 1.095,
    });
  });

  it('reverses: other side, SL and TP swapped', () => {
    expect(open({ reverse: true })).toMatchObject({ action: 'open', side: 'sell', sl: 1.11, tp: 1.095 });
  });

  it('copySl / copyTp refer to the follower position; 0 means no level', () => {
    expect(open({ copySl: false })).toMatchObject({ sl: null, tp: 1.11 });
    expect(open({ reverse: true, copyTp: false })).toMatchObject({ sl: 1.11, tp: null });
    expect(open({}, {}, { sl: 0, tp: 0 })).toMatchObject({ sl: null, tp: null });
  });

  it('sizes risk on the follower stop, which is the master TP when reversed', () => {
    // sell at 1.1, stop 1.11: 1 000 per lot; 1 % of 4 000 equity → 0.04.
    expect(open({ reverse: true, sizing: { mode: 'risk_percent', percent: 1 } })).toMatchObject({
      volume: 0.04,
      side: 'sell',
    });
    expect(reasonOf(open({ sizing: { mode: 'risk_percent', percent: 1 } }, {}, { sl: null }))).toBe(
      'no_stop_loss_for_risk_sizing',
    );
  });

  it('skips on mode, stop-out and age before anything else', () => {
    expect(reasonOf(open({ mode: 'frozen' }))).toBe('mode_frozen');
    expect(reasonOf(open({ mode: 'close_only' }))).toBe('mode_close_only');
    expect(
      reasonOf(
        open(
          {},
          { activeStopOut: { period: 'day', metric: 'equity_drawdown', action: 'halt_opens', at: T0 } },
        ),
      ),
    ).toBe('risk_limit_halted');
    expect(reasonOf(open({ maxSignalAgeSec: 10 }, {}, { occurredAt: T0 - 10_001 }))).toBe('signal_too_old');
  });

  it('skips on filters', () => {
    expect(reasonOf(open({ symbolFilter: { include: ['XAU*'] } }))).toBe('symbol_excluded');
    expect(reasonOf(open({ magicFilter: { include: ['7'] } }))).toBe('magic_excluded');
    expect(reasonOf(open({ allowedSides: ['sell'] }))).toBe('side_not_allowed');
  });

  it("skips on the follower's catalog: missing, unknown symbol, trade mode", () => {
    expect(reasonOf(open({}, { symbols: new Map() }))).toBe('symbol_catalog_missing');
    const unknown = open({ symbolMap: { EURUSD: 'EURUSD.pro' } });
    expect(unknown).toMatchObject({ action: 'skip', reason: 'symbol_unknown' });
    expect(unknown.action === 'skip' && unknown.detail).toContain('EURUSD.pro');
    const longOnly = { symbols: { EURUSD: { ...eurusd, tradeMode: 'long_only' as const } } };
    expect(reasonOf(open({}, longOnly))).toBe('open');
    expect(reasonOf(open({ reverse: true }, longOnly))).toBe('symbol_trade_disabled');
    expect(reasonOf(open({}, { symbols: { EURUSD: { ...eurusd, tradeMode: 'close_only' } } }))).toBe(
      'symbol_trade_disabled',
    );
  });

  it("skips on the follower's book and price", () => {
    expect(reasonOf(open({ maxOpenPositions: 3 }, { openPositions: 3 }))).toBe('max_open_positions');
    expect(reasonOf(open({ maxTotalLots: 1.5 }, { openLots: 0.6 }))).toBe('max_total_lots');
    expect(reasonOf(open({ maxTradesPerHour: 2 }, { recentOpenTimes: [T0 - 1_000, T0 - 2_000] }))).toBe(
      'max_trades_per_hour',
    );
    expect(reasonOf(open({ maxSlippagePoints: 20 }, { quote: { bid: 1.1003, ask: 1.1004 } }))).toBe(
      'slippage_exceeded',
    );
    expect(open({ maxSlippagePoints: 50 }, { quote: { bid: 1.1003, ask: 1.1004 } })).toMatchObject({
      action: 'open',
      maxSlippagePoints: 50,
    });
  });

  it('never copies an open twice', () => {
    expect(reasonOf(open({}, { link }))).toBe('already_copied');
    expect(reasonOf(open({}, { link: { ...link, detached: true } }))).toBe('already_copied');
  });
});

describe('planCopy: modifications', () => {
  const modify = (
    settings: SubscriptionInput,
    ctx: Partial<FollowerContext>,
    signal: Partial<MasterSignal> = {},
  ) =>
    planCopy(
      followUp('position.modified', { sl: 1.097, tp: 1.12, ...signal }),
      followerContext(settings, ctx),
    );

  it("addresses the follower's ticket and symbol, even when frozen", () => {
    expect(modify({ mode: 'frozen' }, { link })).toEqual({
      action: 'modify',
      masterPositionId: '1001',
      ticket: '555',
      symbol: 'EURUSD.m',
      side: 'buy',
      sl: 1.097,
      tp: 1.12,
    });
  });

  it('swaps SL/TP for a reversed link, whatever today’s reverse setting says', () => {
    expect(modify({ reverse: false }, { link: { ...link, side: 'sell' } })).toMatchObject({
      side: 'sell',
      sl: 1.12,
      tp: 1.097,
    });
  });

  it('leaves out what is not copied, and removes a level the master removed', () => {
    const d = modify({ copyTp: false }, { link }, { sl: null });
    expect(d).toMatchObject({ action: 'modify', sl: null });
    expect(d).not.toHaveProperty('tp');
    expect(reasonOf(modify({ copySl: false, copyTp: false }, { link }))).toBe('nothing_to_modify');
  });

  it('skips without a managed link', () => {
    expect(reasonOf(modify({}, { link: null }))).toBe('no_linked_position');
    expect(reasonOf(modify({}, { link: { ...link, detached: true } }))).toBe('position_detached');
  });
});

describe('planCopy: partial closes', () => {
  const partial = (
    ctx: Partial<FollowerContext>,
    signal: Partial<MasterSignal> = {},
    settings: SubscriptionInput = {},
  ) =>
    planCopy(
      followUp('position.partially_closed', { volume: 0.5, remainingVolume: 0.5, ...signal }),
      followerContext(settings, ctx),
    );

  it('closes the same fraction of the follower position', () => {
    expect(partial({ link })).toEqual({
      action: 'partial_close',
      masterPositionId: '1001',
      ticket: '555',
      symbol: 'EURUSD.m',
      side: 'buy',
      volume: 0.2,
      remainingVolume: 0.2,
    });
  });

  it('closes the whole position when the rest would be under the minimum', () => {
    const minFive = { symbols: { 'EURUSD.m': { ...eurusd, volumeMin: 0.05 } } };
    expect(
      partial({ ...minFive, link: { ...link, openVolume: 0.1 } }, { volume: 0.6, remainingVolume: 0.4 }),
    ).toMatchObject({ action: 'close', volume: 0.1 });
    expect(
      partial({ ...minFive, link: { ...link, openVolume: 0.1 } }, { volume: 0.4, remainingVolume: 0.6 }),
    ).toMatchObject({ action: 'partial_close', volume: 0.05 });
  });

  it('uses the master volume on the link when the signal has no remainingVolume', () => {
    expect(partial({ link }, { volume: 0.25, remainingVolume: undefined })).toMatchObject({
      action: 'partial_close',
      volume: 0.1,
    });
    expect(reasonOf(partial({ link: { ...link, masterVolume: null } }, { remainingVolume: undefined }))).toBe(
      'partial_close_fraction_unknown',
    );
  });

  it('is copied whatever the mode, guards or stop-out, and without the symbol in the catalog', () => {
    const hostile: Partial<FollowerContext> = {
      link,
      activeStopOut: { period: 'day', metric: 'equity_drawdown', action: 'close_all', at: T0 },
      symbols: new Map(),
      openPositions: 99,
    };
    expect(partial(hostile, {}, { mode: 'frozen', maxOpenPositions: 1, maxSignalAgeSec: 1 })).toMatchObject({
      action: 'partial_close',
      volume: 0.2,
    });
  });
});

describe('planCopy: closes', () => {
  const close = (ctx: Partial<FollowerContext>, settings: SubscriptionInput = {}) =>
    planCopy(followUp('position.closed'), followerContext(settings, ctx));

  it('closes the linked volume, in every mode', () => {
    for (const mode of ['active', 'close_only', 'frozen'] as const) {
      expect(close({ link }, { mode })).toEqual({
        action: 'close',
        masterPositionId: '1001',
        ticket: '555',
        symbol: 'EURUSD.m',
        side: 'buy',
        volume: 0.4,
      });
    }
  });

  it('closes a copy whose fill is not reported yet by its tag (ticket null)', () => {
    expect(close({ link: { ...link, ticket: null } })).toMatchObject({ action: 'close', ticket: null });
  });

  it('skips without a managed link', () => {
    expect(reasonOf(close({ link: null }))).toBe('no_linked_position');
    expect(reasonOf(close({ link: { ...link, detached: true } }))).toBe('position_detached');
  });
});
