import { describe, expect, it } from 'vitest';
import {
  MAX_REOPEN_ATTEMPTS,
  reconcile,
  type ExpectedPosition,
  type FailedOrder,
  type ReconcileInput,
  type ReportedPosition,
} from './reconcile.js';
import { eurusd, T0 } from './fixtures.js';
import { positionTag as groupTag } from '@kopitra/contracts';

/** The tag of group g1, the group these tests reconcile. */
const positionTag = (id: string) => groupTag('g1', id);
import { withDefaults, type SubscriptionInput } from './subscription.js';

const expected = (over: Partial<ExpectedPosition> = {}): ExpectedPosition => ({
  masterPositionId: 'm1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.5,
  ticket: 't1',
  signalAt: T0 - 10_000,
  masterPrice: 1.1,
  sl: 1.09,
  tp: null,
  linkedAt: T0 - 9_000,
  ...over,
});
const reported = (over: Partial<ReportedPosition> = {}): ReportedPosition => ({
  ticket: 't1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.5,
  openPrice: 1.1001,
  comment: positionTag('m1'),
  ...over,
});
const run = (over: Partial<ReconcileInput>, settings: SubscriptionInput = {}) =>
  reconcile({
    groupId: 'g1',
    expected: [],
    reported: [],
    snapshotAt: T0 - 1_000,
    now: T0,
    settings: withDefaults(settings),
    symbols: { EURUSD: eurusd },
    ...over,
  });
const kinds = (cs: ReturnType<typeof reconcile>) =>
  cs.map((c) => (c.kind === 'alert' ? `alert:${c.reason}` : c.kind));
const failedOpen: FailedOrder = { masterPositionId: 'm1', kind: 'open', status: 'rejected', at: T0 - 5_000 };

describe('reconcile: books that agree', () => {
  it('has nothing to do, and never touches untagged manual trades', () => {
    const manual = reported({ ticket: 'x9', comment: 'my own trade', volume: 3 });
    expect(
      run({
        expected: [expected()],
        reported: [reported(), manual, reported({ ticket: 'x10', comment: undefined })],
      }),
    ).toEqual([]);
  });

  it('ignores volume differences under one step', () => {
    expect(run({ expected: [expected({ volume: 0.5 })], reported: [reported({ volume: 0.505 })] })).toEqual(
      [],
    );
  });
});

describe('reconcile: orphans', () => {
  it('closes a tagged position with no live link', () => {
    expect(run({ reported: [reported({ ticket: 't7', comment: positionTag('m7') })] })).toEqual([
      {
        kind: 'close_orphan',
        ticket: 't7',
        masterPositionId: 'm7',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.5,
        reason: 'orphan_position',
        detail: `EURUSD buy 0.5 tagged "${positionTag('m7')}" has no live copy`,
      },
    ]);
  });

  it('only alerts when frozen, still closes when close-only', () => {
    const book = { reported: [reported({ comment: positionTag('m7') })] };
    expect(kinds(run(book, { mode: 'frozen' }))).toEqual(['alert:mode_frozen']);
    expect(kinds(run(book, { mode: 'close_only' }))).toEqual(['close_orphan']);
  });

  it('leaves a position whose link a copy order closed after the snapshot was taken', () => {
    const recentlyClosed = [{ masterPositionId: 'm7', ticket: 't1', closedAt: T0 - 500 }];
    expect(run({ reported: [reported({ comment: positionTag('m7') })], recentlyClosed })).toEqual([]);
  });

  it('leaves the position of a detached link alone', () => {
    expect(run({ expected: [expected({ detached: true })], reported: [reported()] })).toEqual([]);
  });
});

describe('reconcile: copied positions that disappeared', () => {
  it('detaches a position closed outside Kopitra and does not reopen it by default', () => {
    expect(run({ expected: [expected()] })).toEqual([
      { kind: 'detach', masterPositionId: 'm1', ticket: 't1', reason: 'position_closed_outside' },
    ]);
  });

  it("reopens after a manual close only under the 'reopen' policy, while young and near the price", () => {
    const reopened = run({ expected: [expected()] }, { manualClosePolicy: 'reopen' });
    expect(reopened).toEqual([
      { kind: 'detach', masterPositionId: 'm1', ticket: 't1', reason: 'position_closed_outside' },
      {
        kind: 'reopen',
        masterPositionId: 'm1',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.5,
        sl: 1.09,
        tp: null,
        masterPrice: 1.1,
        maxSlippagePoints: null,
        expiresAt: T0 - 10_000 + 60_000,
        comment: positionTag('m1'),
      },
    ]);
    expect(
      kinds(run({ expected: [expected({ signalAt: T0 - 61_000 })] }, { manualClosePolicy: 'reopen' })),
    ).toEqual(['detach', 'alert:signal_too_old']);
    const moved = { expected: [expected()], quotes: { EURUSD: { bid: 1.1009, ask: 1.101 } } };
    expect(kinds(run(moved, { manualClosePolicy: 'reopen', maxSlippagePoints: 50 }))).toEqual([
      'detach',
      'alert:slippage_exceeded',
    ]);
  });

  it('waits while a close is in flight or the snapshot predates the fill', () => {
    expect(run({ expected: [expected({ closing: true })] })).toEqual([]);
    expect(run({ expected: [expected({ linkedAt: T0 - 100 })] })).toEqual([]);
  });
});

describe('reconcile: opens that never filled', () => {
  const unfilled = expected({ ticket: null, linkedAt: null });

  it('reopens after a failed open while the signal is young', () => {
    expect(kinds(run({ expected: [unfilled], failedOrders: [failedOpen] }))).toEqual(['reopen']);
  });

  it('waits while the open is still on its way', () => {
    expect(run({ expected: [unfilled] })).toEqual([]);
  });

  it('alerts instead when the signal is old, the mode forbids opens, or retries are used up', () => {
    expect(
      kinds(run({ expected: [{ ...unfilled, signalAt: T0 - 120_000 }], failedOrders: [failedOpen] })),
    ).toEqual(['alert:signal_too_old']);
    expect(kinds(run({ expected: [unfilled], failedOrders: [failedOpen] }, { mode: 'close_only' }))).toEqual([
      'alert:mode_close_only',
    ]);
    const failures = Array.from({ length: MAX_REOPEN_ATTEMPTS }, () => failedOpen);
    expect(kinds(run({ expected: [unfilled], failedOrders: failures }))).toEqual(['alert:copy_order_failed']);
  });

  it('links a filled copy found by its tag when the fill report was lost', () => {
    expect(run({ expected: [unfilled], reported: [reported({ ticket: 't9' })] })).toEqual([
      { kind: 'update_link', masterPositionId: 'm1', ticket: 't9', previousTicket: null, volume: 0.5 },
    ]);
  });
});

describe('reconcile: matched positions that differ', () => {
  it('trims excess volume, but only alerts when frozen', () => {
    const book = { expected: [expected({ volume: 0.3 })], reported: [reported({ volume: 0.5 })] };
    expect(run(book)).toEqual([
      {
        kind: 'adjust_volume',
        masterPositionId: 'm1',
        ticket: 't1',
        symbol: 'EURUSD',
        side: 'buy',
        from: 0.5,
        to: 0.3,
      },
    ]);
    expect(kinds(run(book, { mode: 'frozen' }))).toEqual(['alert:volume_mismatch']);
  });

  it('accepts a manual reduction under the detach policy, restores it under reopen', () => {
    const book = { expected: [expected({ volume: 0.5 })], reported: [reported({ volume: 0.3 })] };
    expect(kinds(run(book))).toEqual(['update_link', 'alert:volume_mismatch']);
    expect(run(book)[0]).toMatchObject({ kind: 'update_link', volume: 0.3 });
    expect(run(book, { manualClosePolicy: 'reopen' })).toEqual([
      {
        kind: 'adjust_volume',
        masterPositionId: 'm1',
        ticket: 't1',
        symbol: 'EURUSD',
        side: 'buy',
        from: 0.3,
        to: 0.5,
        add: {
          volume: 0.2,
          sl: 1.09,
          tp: null,
          masterPrice: 1.1,
          maxSlippagePoints: null,
          expiresAt: T0 - 10_000 + 60_000,
          comment: positionTag('m1'),
          reason: 'volume_restored',
        },
      },
    ]);
  });

  it('opens never more than is missing, and only where an open may go', () => {
    const add = (
      reportedVolume: number,
      settings: SubscriptionInput = {},
      over: Partial<ReconcileInput> = {},
    ) =>
      run(
        {
          expected: [expected({ volume: 0.5 })],
          reported: [reported({ volume: reportedVolume })],
          ...over,
        },
        { manualClosePolicy: 'reopen', ...settings },
      );
    // 0.5 - 0.333 = 0.167 is rounded down to the step: 0.16, not 0.17.
    expect(add(0.333)[0]).toMatchObject({ kind: 'adjust_volume', add: { volume: 0.16 } });
    // Less than the symbol's minimum missing cannot be opened: the link follows the follower.
    const tiny = add(0.48, {}, { symbols: { EURUSD: { ...eurusd, volumeMin: 0.05 } } });
    expect(kinds(tiny)).toEqual(['update_link', 'alert:volume_mismatch']);
    expect(tiny[1]).toMatchObject({
      detail: expect.stringContaining('volume_below_minimum: 0.02 lots is under the symbol minimum 0.05'),
    });
    for (const mode of ['close_only', 'frozen'] as const)
      expect(kinds(add(0.3, { mode }))).toEqual(['update_link', 'alert:volume_mismatch']);
    // A signal too old to re-open is too old to add to.
    expect(kinds(add(0.3, {}, { now: T0 + 3_600_000 }))).toEqual(['update_link', 'alert:volume_mismatch']);
    // After three failed opens it gives up.
    const failedOrders = [1, 2, 3].map((n) => ({
      masterPositionId: 'm1',
      kind: 'open' as const,
      status: 'failed' as const,
      at: T0 - n,
    }));
    expect(kinds(add(0.3, {}, { failedOrders }))).toEqual(['update_link', 'alert:volume_mismatch']);
    // No more than one trade may hold: the symbol's and the subscription's maximum.
    expect(add(0.1, { maxVolume: 0.25 })[0]).toMatchObject({ add: { volume: 0.25 } });
    expect(add(0.1, {}, { symbols: { EURUSD: { ...eurusd, volumeMax: 0.3 } } })[0]).toMatchObject({
      add: { volume: 0.3 },
    });
  });

  it('restores a hedging copy with a further position carrying its tag, within the position limit', () => {
    const hedging = (settings: SubscriptionInput = {}, over: Partial<ReconcileInput> = {}) =>
      run(
        {
          expected: [expected({ volume: 0.5, positions: 2 })],
          reported: [reported({ volume: 0.2 }), reported({ ticket: 't2', volume: 0.1 })],
          openPositions: 2,
          ...over,
        },
        { manualClosePolicy: 'reopen', ...settings },
      );
    expect(hedging()).toEqual([
      {
        kind: 'adjust_volume',
        masterPositionId: 'm1',
        ticket: 't1',
        symbol: 'EURUSD',
        side: 'buy',
        from: 0.3,
        to: 0.5,
        positions: 2,
        add: expect.objectContaining({ volume: 0.2, reason: 'volume_restored' }),
      },
    ]);
    // A further position is one more open position: at the limit the link follows the follower.
    const full = hedging({ maxOpenPositions: 2 });
    expect(kinds(full)).toEqual(['update_link', 'alert:volume_mismatch']);
    expect(full[1]).toMatchObject({
      detail: expect.stringContaining('max_open_positions: 2 open, maximum 2'),
    });
    expect(kinds(hedging({ maxOpenPositions: 3 }))).toEqual(['adjust_volume']);
    // The detach policy accepts the reduction, on either.
    expect(kinds(hedging({ manualClosePolicy: 'detach' }))).toEqual(['update_link', 'alert:volume_mismatch']);
  });

  it('follows a new ticket found by tag (MT5 keeps comments across partial closes)', () => {
    expect(
      run({ expected: [expected({ volume: 0.2 })], reported: [reported({ ticket: 't2', volume: 0.2 })] }),
    ).toEqual([
      { kind: 'update_link', masterPositionId: 'm1', ticket: 't2', previousTicket: 't1', volume: 0.2 },
    ]);
  });

  it('relinks a copy spanning several positions at their summed volume when its first one closed', () => {
    // A partial close spread over the copy took its first position whole: the link's ticket is
    // gone and its tag finds the adds, which together still hold all the copy.
    expect(
      run({
        expected: [expected({ volume: 1.7, positions: 3 })],
        reported: [reported({ ticket: 't2', volume: 1 }), reported({ ticket: 't3', volume: 0.7 })],
      }),
    ).toEqual([
      { kind: 'update_link', masterPositionId: 'm1', ticket: 't2', previousTicket: 't1', volume: 1.7 },
    ]);
  });

  it('alerts on side or symbol mismatch and does not trade', () => {
    expect(kinds(run({ expected: [expected()], reported: [reported({ side: 'sell' })] }))).toEqual([
      'alert:side_mismatch',
    ]);
    expect(kinds(run({ expected: [expected()], reported: [reported({ symbol: 'GBPUSD' })] }))).toEqual([
      'alert:symbol_mismatch',
    ]);
  });

  it('skips volume checks while a partial close is in flight', () => {
    expect(run({ expected: [expected({ closing: true })], reported: [reported({ volume: 0.2 })] })).toEqual(
      [],
    );
  });
});

describe('reconcile: tags and failures', () => {
  it('does not guess between two ids a cut tag could mean', () => {
    const a = 'A'.repeat(23) + '1';
    const b = 'A'.repeat(23) + '2';
    const cut = reported({ ticket: 'tx', comment: positionTag(a) });
    const cs = run({
      expected: [
        expected({ masterPositionId: a, ticket: null, linkedAt: null }),
        expected({ masterPositionId: b, ticket: null, linkedAt: null }),
      ],
      reported: [cut],
    });
    expect(kinds(cs)).toEqual(['alert:position_tag_ambiguous']);
  });

  it('closes a duplicate copy of a position that is already matched', () => {
    expect(run({ expected: [expected()], reported: [reported(), reported({ ticket: 't8' })] })).toEqual([
      {
        kind: 'close_orphan',
        ticket: 't8',
        masterPositionId: 'm1',
        symbol: 'EURUSD',
        side: 'buy',
        volume: 0.5,
        reason: 'orphan_position',
        detail: expect.stringContaining('has no live copy'),
      },
    ]);
  });

  it('alerts once on a failed modification of a live link', () => {
    const failed: FailedOrder[] = [
      { masterPositionId: 'm1', kind: 'modify', status: 'failed', at: T0 },
      { masterPositionId: 'm1', kind: 'modify', status: 'failed', at: T0 },
      { masterPositionId: 'gone', kind: 'modify', status: 'failed', at: T0 },
    ];
    expect(kinds(run({ expected: [expected()], reported: [reported()], failedOrders: failed }))).toEqual([
      'alert:copy_order_failed',
    ]);
  });
});

describe('reconcile: two copy groups whose masters use the same position id', () => {
  const theirs = reported({ ticket: 'b1', comment: groupTag('g2', 'm1') });

  it("never closes or matches the other group's copy, though its id is the same", () => {
    // g1's own copy is not reported yet (its fill is on the way): g2's copy is not taken for it.
    expect(run({ expected: [expected({ ticket: null })], reported: [theirs] })).toEqual([]);
    // g1 has no link at all: g2's copy is still not an orphan of g1.
    expect(run({ reported: [theirs] })).toEqual([]);
    // Both present: each matched to its own.
    expect(run({ expected: [expected()], reported: [reported(), theirs] })).toEqual([]);
  });

  it('reads a legacy kopitra: tag as this group’s only where no other group has the id', () => {
    const legacy = reported({ ticket: 't9', comment: 'kopitra:m1' });
    const other = { masterPositionId: 'm1', ticket: 'b1', closed: false };
    // Alone: the legacy tag is ours, and the fill whose report was lost is linked by it.
    expect(kinds(run({ expected: [expected({ ticket: null })], reported: [legacy] }))).toEqual([
      'update_link',
    ]);
    // The other group has a live m1 too: not matched by tag, never closed, an operator looks.
    expect(
      kinds(run({ expected: [expected({ ticket: null })], reported: [legacy], otherGroups: [other] })),
    ).toEqual(['alert:position_tag_ambiguous']);
    // Only the other group has m1: it is that group's position.
    expect(run({ reported: [legacy], otherGroups: [other] })).toEqual([]);
    // The other group's m1 is closed: the tag is ours again, an orphan with no live link here.
    expect(
      kinds(run({ reported: [legacy], otherGroups: [{ ...other, ticket: 'b0', closed: true }] })),
    ).toEqual(['close_orphan']);
    // A ticket another group linked is never ours, whatever its comment says.
    expect(
      run({
        reported: [reported({ ticket: 'b0' })],
        otherGroups: [{ ...other, ticket: 'b0', closed: true }],
      }),
    ).toEqual([]);
  });
});
