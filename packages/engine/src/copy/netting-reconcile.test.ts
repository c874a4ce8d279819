import { positionTag } from '@kopitra/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eurusd, T0 } from './fixtures.js';
import {
  reconcileNetting,
  type NetCorrection,
  type NetDeal,
  type NetLink,
  type NettingInput,
} from './netting-reconcile.js';
import type { ReportedPosition } from './reconcile.js';
import { withDefaults, type SubscriptionInput } from './subscription.js';

const link = (over: Partial<NetLink> = {}): NetLink => ({
  groupId: 'g1',
  masterPositionId: 'm1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 1,
  ticket: 't1',
  signalAt: T0 - 10_000,
  masterPrice: 1.1,
  sl: null,
  tp: null,
  state: 'live',
  ...over,
});
const position = (over: Partial<ReportedPosition> = {}): ReportedPosition => ({
  ticket: 't1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 1,
  openPrice: 1.1,
  comment: positionTag('g1', 'm1'),
  ...over,
});
const run = (over: Partial<NettingInput>, settings: SubscriptionInput = {}, groups = ['g1', 'g2']) =>
  reconcileNetting({
    groups,
    links: [],
    reported: [],
    settings: new Map(groups.map((g) => [g, withDefaults(settings)])),
    now: T0,
    symbols: { EURUSD: eurusd },
    ...over,
  });
const kinds = (cs: NetCorrection[]) =>
  cs.map((c) =>
    c.kind === 'alert'
      ? `alert:${c.reason}`
      : c.kind === 'net_deal'
        ? `deal:${c.side} ${c.volume}${c.reduce ? ' reduce' : ''} ${c.reason} ${c.masterPositionId}`
        : `${c.kind} ${c.masterPositionId}`,
  );

describe('netting reconciliation: books in order', () => {
  it('compares the net volume with the sum of every group’s links, whatever tag the position carries', () => {
    const links = [
      link(),
      link({ groupId: 'g2', side: 'sell', volume: 0.3, ticket: 't5', signalAt: T0 - 5_000 }),
    ];
    // The other group's copy dealt on the same position: its link follows the position's ticket.
    expect(run({ links, reported: [position({ volume: 0.7 })] })).toEqual([
      {
        kind: 'update_link',
        groupId: 'g2',
        masterPositionId: 'm1',
        ticket: 't1',
        previousTicket: 't5',
        volume: 0.3,
      },
    ]);
    // Two copies that cancel out are a flat symbol.
    expect(
      run({ links: [link(), link({ masterPositionId: 'm2', side: 'sell', ticket: null })], reported: [] }),
    ).toEqual([]);
  });

  it('moves links to the ticket of a position that turned round', () => {
    expect(
      run({
        links: [link({ side: 'sell', ticket: 't1' })],
        reported: [position({ ticket: 't9', side: 'sell' })],
      }),
    ).toEqual([
      {
        kind: 'update_link',
        groupId: 'g1',
        masterPositionId: 'm1',
        ticket: 't9',
        previousTicket: 't1',
        volume: 1,
      },
    ]);
  });

  it('leaves untagged positions alone, and symbols with work in flight', () => {
    expect(run({ reported: [position({ comment: 'my own' })] })).toEqual([]);
    expect(run({ reported: [position({ comment: positionTag('g9', 'm1') })] })).toEqual([]);
    expect(
      run({ links: [link()], reported: [position({ volume: 3 })], unsettled: new Set(['EURUSD']) }),
    ).toEqual([]);
  });
});

describe('netting reconciliation: refused exits', () => {
  it('takes out what a refused close left, though the next copy on the symbol dealt on it', () => {
    // The master closed m1 (the broker refused the follower's close) and opened m2 the other way:
    // m2's sell absorbed m1's long, so the follower is flat while m2's link expects short 1.
    const links = [
      link({ state: 'owed' }),
      link({ masterPositionId: 'm2', side: 'sell', ticket: null, signalAt: T0 - 1_000 }),
    ];
    const [deal] = run({ links, reported: [] });
    expect(deal).toMatchObject({
      kind: 'net_deal',
      groupId: 'g1',
      masterPositionId: 'm1',
      side: 'sell',
      volume: 1,
      reduce: false,
      from: 0,
      to: -1,
      reason: 'orphan_position',
      comment: positionTag('g1', 'm1'),
      maxSlippagePoints: null,
    });
    expect(run({ links, reported: [] })).toHaveLength(1);
  });

  it('brings a follower long 0.44 whose links sum to short 1 back to short 1 in one deal', () => {
    const links = [
      link({ volume: 1.44, state: 'owed' }),
      link({ masterPositionId: 'm2', side: 'sell', volume: 1, signalAt: T0 - 1_000 }),
    ];
    expect(kinds(run({ links, reported: [position({ volume: 0.44 })] }))).toEqual([
      'deal:sell 1.44 orphan_position m1',
    ]);
  });

  it('closes the net position a refused close left with no copy on the symbol', () => {
    expect(kinds(run({ links: [link({ state: 'owed' })], reported: [position()] }))).toEqual([
      'deal:sell 1 reduce orphan_position m1',
    ]);
    // A tagged position with no link at all is an orphan too.
    expect(kinds(run({ reported: [position({ comment: positionTag('g2', 'm7'), volume: 0.2 })] }))).toEqual([
      'deal:sell 0.2 reduce orphan_position m7',
    ]);
    // What a refused close left and the trader then closed by hand leaves nothing to do.
    expect(run({ links: [link({ state: 'owed' })], reported: [] })).toEqual([]);
  });
});

describe('netting reconciliation: excess and missing volume', () => {
  it('trims more than the links hold on their side', () => {
    const [deal] = run({ links: [link()], reported: [position({ volume: 1.5 })] });
    expect(deal).toMatchObject({
      side: 'sell',
      volume: 0.5,
      reduce: true,
      ticket: 't1',
      reason: 'volume_mismatch',
    });
    expect(
      kinds(run({ links: [link()], reported: [position({ volume: 1.5 })] }, { mode: 'close_only' })),
    ).toEqual(['deal:sell 0.5 reduce volume_mismatch m1']);
    expect(
      kinds(run({ links: [link()], reported: [position({ volume: 1.5 })] }, { mode: 'frozen' })),
    ).toEqual(['alert:mode_frozen']);
  });

  it('has the links follow a reduction by hand, newest first, unless the policy restores it', () => {
    const links = [link(), link({ masterPositionId: 'm2', volume: 0.5, signalAt: T0 - 1_000 })];
    const followed = run({ links, reported: [position({ volume: 0.8 })] });
    expect(kinds(followed)).toEqual(['detach m2', 'update_link m1', 'alert:volume_mismatch']);
    expect(followed[1]).toMatchObject({ volume: 0.8 });
    expect(
      kinds(run({ links, reported: [position({ volume: 0.8 })] }, { manualClosePolicy: 'reopen' })),
    ).toEqual(['deal:buy 0.7 volume_restored m2']);
    // A restore is an open: not in close-only mode, not for an old signal.
    const blocked = run(
      { links, reported: [position({ volume: 0.8 })], now: T0 + 3_600_000 },
      { manualClosePolicy: 'reopen' },
    );
    expect(kinds(blocked)).toEqual(['detach m2', 'update_link m1', 'alert:volume_mismatch']);
    expect(blocked[2]).toMatchObject({ detail: expect.stringContaining('not restored, signal_too_old') });
  });

  it('takes out a position on the wrong side, and follows or restores the links’ side', () => {
    const links = [link({ side: 'sell' })];
    expect(kinds(run({ links, reported: [position({ volume: 0.3 })] }))).toEqual([
      'detach m1',
      'alert:volume_mismatch',
      'deal:sell 0.3 reduce volume_mismatch m1',
    ]);
    expect(
      kinds(run({ links, reported: [position({ volume: 0.3 })] }, { manualClosePolicy: 'reopen' })),
    ).toEqual(['deal:sell 1.3 volume_restored m1']);
  });
});

describe('netting reconciliation: properties', () => {
  const lots = (steps: number) => Number((steps * 0.01).toFixed(2));
  const linkArb = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    steps: fc.integer({ min: 1, max: 300 }),
    owed: fc.boolean(),
    group: fc.constantFrom('g1', 'g2'),
  });
  const apply = (net: number, d: NetDeal) =>
    Math.round(net * 100 + (d.side === 'buy' ? 1 : -1) * d.volume * 100);

  it('after refused exits, one deal brings the net position to the sum of the live links, never detaching', () => {
    fc.assert(
      fc.property(fc.array(linkArb, { minLength: 1, maxLength: 6 }), (specs) => {
        const links = specs.map((s, i) =>
          link({
            groupId: s.group,
            masterPositionId: `m${i}`,
            side: s.side,
            volume: lots(s.steps),
            state: s.owed ? 'owed' : 'live',
            signalAt: T0 - 10_000 + i,
          }),
        );
        const signedSteps = (l: NetLink) => (l.side === 'buy' ? 1 : -1) * Math.round(l.volume * 100);
        // The follower holds every copy, owed ones included: their exits never went through.
        const held = links.reduce((n, l) => n + signedSteps(l), 0);
        const expected = links.filter((l) => l.state === 'live').reduce((n, l) => n + signedSteps(l), 0);
        const reported =
          held === 0
            ? []
            : [position({ ticket: 'n1', side: held > 0 ? 'buy' : 'sell', volume: lots(Math.abs(held)) })];
        const out = run({ links, reported });
        const deals = out.filter((c): c is NetDeal => c.kind === 'net_deal');
        expect(out.filter((c) => c.kind === 'detach' || c.kind === 'alert')).toEqual([]);
        expect(deals.length).toBe(held === expected ? 0 : 1);
        const after = deals.reduce((n, d) => apply(n / 100, d), held);
        expect(after).toBe(expected);
        for (const d of deals) {
          expect(d.reason).toBe('orphan_position');
          // The deal is for a copy whose exit was refused.
          expect(links.find((l) => l.masterPositionId === d.masterPositionId)?.state).toBe('owed');
        }
      }),
    );
  });

  it('whatever the follower holds, the deal and the links that follow it agree, and no deal exceeds the difference', () => {
    fc.assert(
      fc.property(
        fc.array(linkArb, { minLength: 0, maxLength: 5 }),
        fc.integer({ min: -500, max: 500 }),
        fc.constantFrom('detach' as const, 'reopen' as const),
        (specs, held, manualClosePolicy) => {
          const links = specs.map((s, i) =>
            link({
              groupId: s.group,
              masterPositionId: `m${i}`,
              side: s.side,
              volume: lots(s.steps),
              state: 'live',
              signalAt: T0 - 10_000 + i,
            }),
          );
          const reported =
            held === 0
              ? []
              : [position({ ticket: 'n1', side: held > 0 ? 'buy' : 'sell', volume: lots(Math.abs(held)) })];
          const out = run({ links, reported }, { manualClosePolicy });
          const volumeOf = new Map(links.map((l) => [l.masterPositionId, l] as const));
          for (const c of out) {
            if (c.kind === 'detach') volumeOf.delete(c.masterPositionId);
            if (c.kind === 'update_link')
              volumeOf.set(c.masterPositionId, { ...volumeOf.get(c.masterPositionId)!, volume: c.volume });
          }
          const expected = [...volumeOf.values()].reduce(
            (n, l) => n + (l.side === 'buy' ? 1 : -1) * Math.round(l.volume * 100),
            0,
          );
          const deals = out.filter((c): c is NetDeal => c.kind === 'net_deal');
          expect(deals.length).toBeLessThanOrEqual(1);
          const after = deals.reduce((n, d) => apply(n / 100, d), held);
          expect(after).toBe(expected);
          // The follower's side is never made larger than the links ask.
          for (const d of deals) expect(Math.round(d.volume * 100)).toBe(Math.abs(expected - held));
        },
      ),
    );
  });
});
