import { describe, expect, it } from 'vitest';
import { planCopy, type FollowerContext, type LinkedPosition, type MasterSignal } from './plan.js';
import { followerContext, openSignal, T0 } from './fixtures.js';
import { reconcile, type ExpectedPosition, type ReportedPosition } from './reconcile.js';
import { positionTag } from '@kopitra/contracts';
import { withDefaults, type SubscriptionInput } from './subscription.js';
import { eurusd } from './fixtures.js';

const link: LinkedPosition = {
  ticket: '555',
  openVolume: 0.5,
  symbol: 'EURUSD',
  side: 'buy',
  masterVolume: 1,
};
const add = (
  settings: SubscriptionInput = {},
  ctx: Partial<FollowerContext> = {},
  signal: Partial<MasterSignal> = {},
) =>
  planCopy(
    openSignal({ type: 'position.increased', volume: 0.6, price: 1.102, ...signal }),
    followerContext(settings, { link, openPositions: 1, openLots: 0.5, ...ctx }),
  );
const reasonOf = (d: ReturnType<typeof planCopy>) => (d.action === 'skip' ? d.reason : d.action);

describe('planCopy: a netting master adds to its position', () => {
  it('sizes the added volume like an open and addresses the link', () => {
    expect(add({ sizing: { mode: 'multiplier', multiplier: 0.5 } })).toEqual({
      action: 'increase',
      masterPositionId: '1001',
      ticket: '555',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.3,
      rawVolume: 0.3,
      capped: false,
      forced: false,
      sl: 1.095,
      tp: 1.11,
      masterPrice: 1.102,
      maxSlippagePoints: null,
      expiresAt: T0 - 500 + 60_000,
      comment: positionTag('g1', '1001'),
    });
  });

  it("keeps the link's side and symbol: a reversed copy adds on its own side with SL and TP swapped", () => {
    const reversed: LinkedPosition = { ...link, side: 'sell', symbol: 'EURUSD.m' };
    // The setting changed since the open: the link, not today's setting, says how it was copied.
    expect(add({ reverse: false }, { link: reversed })).toMatchObject({
      action: 'increase',
      side: 'sell',
      symbol: 'EURUSD.m',
      sl: 1.11,
      tp: 1.095,
    });
  });

  it('is skipped without a managed copy to add to', () => {
    expect(reasonOf(add({}, { link: null }))).toBe('no_linked_position');
    expect(reasonOf(add({}, { link: { ...link, detached: true } }))).toBe('position_detached');
  });

  it('meets the opening guards: it adds exposure', () => {
    expect(reasonOf(add({ mode: 'close_only' }))).toBe('mode_close_only');
    expect(reasonOf(add({ mode: 'frozen' }))).toBe('mode_frozen');
    expect(reasonOf(add({ maxTotalLots: 1 }))).toBe('max_total_lots');
    expect(reasonOf(add({ maxTotalLots: 1.1 }))).toBe('increase');
    expect(reasonOf(add({ maxTradesPerHour: 1 }, { recentOpenTimes: [T0 - 60_000] }))).toBe(
      'max_trades_per_hour',
    );
    expect(reasonOf(add({}, {}, { occurredAt: T0 - 120_000 }))).toBe('signal_too_old');
    expect(reasonOf(add({ sizing: { mode: 'multiplier', multiplier: 0.001 } }))).toBe('volume_below_minimum');
  });

  it('counts as a new position on a hedging follower only', () => {
    expect(reasonOf(add({ maxOpenPositions: 1 }))).toBe('max_open_positions');
    expect(reasonOf(add({ maxOpenPositions: 1 }, { netting: true }))).toBe('increase');
  });

  it('does not ask the symbol, magic or side filters again', () => {
    expect(reasonOf(add({ symbolFilter: { exclude: ['EURUSD'] }, allowedSides: ['sell'] }))).toBe('increase');
  });
});

const expected = (over: Partial<ExpectedPosition> = {}): ExpectedPosition => ({
  masterPositionId: 'm1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.8,
  ticket: 't1',
  signalAt: T0 - 10_000,
  masterPrice: 1.1,
  linkedAt: T0 - 9_000,
  positions: 2,
  ...over,
});
const reported = (over: Partial<ReportedPosition> = {}): ReportedPosition => ({
  ticket: 't1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.5,
  openPrice: 1.1,
  comment: positionTag('g1', 'm1'),
  ...over,
});
const run = (e: ExpectedPosition[], r: ReportedPosition[]) =>
  reconcile({
    groupId: 'g1',
    expected: e,
    reported: r,
    snapshotAt: T0 - 1_000,
    now: T0,
    settings: withDefaults({}),
    symbols: { EURUSD: eurusd },
  });

describe('reconcile: a copy spanning several positions', () => {
  it('sums the tagged positions: the add is part of the copy, not an orphan', () => {
    expect(run([expected()], [reported(), reported({ ticket: 't2', volume: 0.3 })])).toEqual([]);
  });

  it('trims the summed excess from the first ticket (the EA spreads it newest first)', () => {
    expect(run([expected()], [reported(), reported({ ticket: 't2', volume: 0.5 })])).toEqual([
      {
        kind: 'adjust_volume',
        masterPositionId: 'm1',
        ticket: 't1',
        symbol: 'EURUSD',
        side: 'buy',
        from: 1,
        to: 0.8,
        positions: 2,
      },
    ]);
  });

  it('follows the rest when the first position was closed by hand', () => {
    const out = run([expected()], [reported({ ticket: 't2', volume: 0.3 })]);
    expect(out.map((c) => c.kind)).toEqual(['update_link', 'update_link', 'alert']);
    expect(out[1]).toMatchObject({ kind: 'update_link', ticket: 't2', volume: 0.3 });
  });

  it('still closes a duplicate of a copy that spans one position', () => {
    const out = run([expected({ positions: 1, volume: 0.5 })], [reported(), reported({ ticket: 't2' })]);
    expect(out).toMatchObject([{ kind: 'close_orphan', ticket: 't2' }]);
  });
});
