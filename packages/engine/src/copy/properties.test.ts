/**
 * Property tests of the rules traders rely on most: volumes the broker accepts, partial
 * closes that never over-close or strand a rest, exits that no guard can block.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eurusd, followerContext, openSignal, T0 } from './fixtures.js';
import { planPartialClose } from './partial-close.js';
import { planCopy, type FollowerContext, type LinkedPosition, type MasterSignal } from './plan.js';
import { positionTag as groupTag } from '@kopitra/contracts';

/** The tag of group g1, the group these tests reconcile. */
const positionTag = (id: string) => groupTag('g1', id);
import { isReasonCode, reasonCatalogue } from './reasons.js';
import { reconcile, type ExpectedPosition, type ReportedPosition } from './reconcile.js';
import { sizeOpen, volumeBounds } from './sizing.js';
import type { SymbolSpec } from './symbol-spec.js';
import { reverseDirection } from './symbols.js';
import { withDefaults, type Sizing, type SubscriptionInput } from './subscription.js';

const onStep = (v: number, step: number): boolean => Math.abs(v / step - Math.round(v / step)) < 1e-9;

const stepArb = fc.constantFrom(0.001, 0.01, 0.05, 0.1, 1);
const specArb: fc.Arbitrary<SymbolSpec> = fc
  .record({
    step: stepArb,
    minSteps: fc.integer({ min: 1, max: 20 }),
    spanSteps: fc.integer({ min: 0, max: 100_000 }),
    tickValue: fc.double({ min: 0.01, max: 100, noNaN: true }),
  })
  .map(({ step, minSteps, spanSteps, tickValue }) => ({
    ...eurusd,
    tickValue,
    volumeStep: step,
    volumeMin: Number((step * minSteps).toFixed(3)),
    volumeMax: Number((step * (minSteps + spanSteps)).toFixed(3)),
  }));
// Doubles cluster near the bounds; a spread of realistic lot sizes keeps every outcome in play.
const lots = fc.oneof(
  fc.double({ min: 0, max: 500, noNaN: true }),
  fc.integer({ min: 1, max: 200_000 }).map((n) => n / 1000),
);
const optionalLots = fc.option(fc.double({ min: 0.001, max: 200, noNaN: true }), { nil: null });
const sizingArb: fc.Arbitrary<Sizing> = fc.oneof(
  fc.constant({ mode: 'mirror' as const }),
  fc.record({
    mode: fc.constant('multiplier' as const),
    multiplier: fc.double({ min: 0.001, max: 50, noNaN: true }),
  }),
  fc.record({ mode: fc.constant('fixed' as const), lots: fc.double({ min: 0.0001, max: 100, noNaN: true }) }),
  fc.record({
    mode: fc.constantFrom('balance_ratio' as const, 'equity_ratio' as const, 'contract_size' as const),
    multiplier: fc.option(fc.double({ min: 0.01, max: 10, noNaN: true }), { nil: null }),
  }),
  fc.record({
    mode: fc.constant('risk_percent' as const),
    percent: fc.double({ min: 0.01, max: 10, noNaN: true }),
  }),
);
const metrics = fc.option(
  fc.record({
    balance: fc.double({ min: 0, max: 1e6, noNaN: true }),
    equity: fc.double({ min: 0, max: 1e6, noNaN: true }),
  }),
  { nil: null },
);

describe('property: sizing', () => {
  it('gives a volume on the step inside both limits, or a catalogued skip', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.record({
          spec: specArb,
          sizing: sizingArb,
          masterVolume: lots,
          stopLoss: fc.option(fc.double({ min: 1, max: 1.2, noNaN: true }), { nil: null }),
          follower: metrics,
          master: metrics,
          minVolume: optionalLots,
          maxVolume: optionalLots,
          forceMinimum: fc.boolean(),
          factor: fc.double({ min: 1, max: 5, noNaN: true }),
        }),
        (c) => {
          const limits = withDefaults({
            minVolume: c.minVolume,
            maxVolume: c.maxVolume,
            forceMinimum: c.forceMinimum,
            forceMinimumMaxRiskFactor: c.factor,
          });
          const r = sizeOpen(
            {
              sizing: c.sizing,
              masterVolume: c.masterVolume,
              entryPrice: 1.1,
              stopLoss: c.stopLoss,
              follower: c.follower,
              master: c.master,
              followerSpec: c.spec,
              masterSpec: eurusd,
            },
            limits,
          );
          seen.add(r.ok ? (r.forced ? 'forced' : r.capped ? 'capped' : 'sized') : 'skipped');
          if (!r.ok) return isReasonCode(r.reason);
          const { min, max } = volumeBounds(limits, c.spec);
          expect(onStep(r.volume, c.spec.volumeStep)).toBe(true);
          expect(r.volume).toBeGreaterThanOrEqual(min);
          expect(r.volume).toBeLessThanOrEqual(max);
          expect(r.volume).toBeGreaterThanOrEqual(c.spec.volumeMin);
          expect(r.volume).toBeLessThanOrEqual(c.spec.volumeMax);
          if (c.minVolume !== null) expect(r.volume).toBeGreaterThanOrEqual(c.minVolume - 1e-12);
          if (c.maxVolume !== null) expect(r.volume).toBeLessThanOrEqual(c.maxVolume + 1e-12);
          // Rounding goes down; only force-minimum may place more than was sized, and only within its factor.
          if (r.forced) expect(r.volume / r.raw).toBeLessThanOrEqual(c.factor + 1e-9);
          else expect(r.volume).toBeLessThanOrEqual(r.raw + 1e-9);
          return true;
        },
      ),
      { numRuns: 2000 },
    );
    // The property would hold vacuously if the generators only ever produced skips.
    expect([...seen].sort()).toEqual(['capped', 'forced', 'sized', 'skipped']);
  });
});

describe('property: partial close', () => {
  it('never closes more than is open and never leaves a rest under the minimum', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.record({
          step: stepArb,
          minSteps: fc.integer({ min: 1, max: 10 }),
          openSteps: fc.integer({ min: 1, max: 5_000 }),
          closed: fc.double({ min: 0, max: 100, noNaN: true }),
          remaining: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
          masterBefore: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { nil: null }),
        }),
        (c) => {
          const spec = { volumeStep: c.step, volumeMin: Number((c.step * c.minSteps).toFixed(3)) };
          const openVolume = Number((c.step * c.openSteps).toFixed(3));
          const p = planPartialClose({
            openVolume,
            closedVolume: c.closed,
            remainingVolume: c.remaining,
            masterVolumeBefore: c.masterBefore,
            spec,
          });
          seen.add(p.kind);
          if (p.kind === 'skip') return isReasonCode(p.reason);
          expect(p.volume).toBeLessThanOrEqual(openVolume);
          expect(p.volume).toBeGreaterThan(0);
          if (p.kind === 'full') return p.volume === openVolume;
          expect(p.remaining).toBeGreaterThanOrEqual(spec.volumeMin - 1e-9);
          expect(p.volume).toBeGreaterThanOrEqual(spec.volumeMin - 1e-9);
          expect(onStep(p.volume, c.step)).toBe(true);
          expect(Math.abs(p.volume + p.remaining - openVolume)).toBeLessThan(1e-9);
          return true;
        },
      ),
      { numRuns: 2000 },
    );
    expect([...seen].sort()).toEqual(['full', 'partial', 'skip']);
  });
});

describe("property: partial-close shares follow the master's ratio", () => {
  it('closes the feasible volume nearest to the share, and closes all only when no rest could stay open', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.record({
          step: stepArb,
          minSteps: fc.integer({ min: 1, max: 10 }),
          openSteps: fc.integer({ min: 1, max: 2_000 }),
          // The master's position and its closed part, in its own (0.01) steps.
          masterSteps: fc.integer({ min: 2, max: 1_000 }),
          closedPart: fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        }),
        (c) => {
          const spec = { volumeStep: c.step, volumeMin: Number((c.step * c.minSteps).toFixed(3)) };
          const openVolume = Number((c.step * c.openSteps).toFixed(3));
          const masterBefore = c.masterSteps / 100;
          const closedVolume = Math.max(
            0.01,
            Math.min(masterBefore - 0.01, Math.round(masterBefore * c.closedPart * 100) / 100),
          );
          const remainingVolume = Number((masterBefore - closedVolume).toFixed(2));
          const p = planPartialClose({ openVolume, closedVolume, remainingVolume, spec });
          const ratio = closedVolume / masterBefore;
          const share = openVolume * ratio;
          const eps = 1e-9;
          seen.add(p.kind);
          if (p.kind === 'skip') {
            // Only a share nearer to nothing than to the minimum is left open.
            expect(p.reason).toBe('partial_close_too_small');
            expect(share).toBeLessThan(spec.volumeMin / 2 + eps);
            return;
          }
          expect(p.volume).toBeLessThanOrEqual(openVolume + eps);
          if (p.kind === 'full') {
            // Closing all is right only when the nearest share would leave less than the minimum.
            const nearest = Math.max(spec.volumeMin, Math.round(share / c.step - 1e-9) * c.step);
            expect(openVolume - Math.min(nearest, openVolume)).toBeLessThan(
              spec.volumeMin + c.step / 2 + eps,
            );
            return;
          }
          // No other volume the broker accepts (on the step, both parts at least the minimum) is nearer the master's ratio.
          let best = Infinity;
          for (let n = 1; n * c.step <= openVolume + eps; n++) {
            const v = n * c.step;
            if (v >= spec.volumeMin - eps && openVolume - v >= spec.volumeMin - eps)
              best = Math.min(best, Math.abs(v - share));
          }
          expect(Math.abs(p.volume - share)).toBeLessThanOrEqual(best + eps);
          expect(Math.abs(p.volume / openVolume - ratio)).toBeLessThanOrEqual(
            Math.max(c.step / 2, spec.volumeMin - share) / openVolume + eps,
          );
        },
      ),
      { numRuns: 1500 },
    );
    expect([...seen].sort()).toEqual(['full', 'partial', 'skip']);
  });
});

const hostileArb: fc.Arbitrary<{ settings: SubscriptionInput; ctx: Partial<FollowerContext> }> = fc.record({
  settings: fc.record({
    mode: fc.constantFrom('active' as const, 'close_only' as const, 'frozen' as const),
    maxOpenPositions: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
    maxTotalLots: fc.option(fc.double({ min: 0.01, max: 1, noNaN: true }), { nil: null }),
    maxTradesPerHour: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
    maxSignalAgeSec: fc.integer({ min: 1, max: 120 }),
    maxSlippagePoints: fc.option(fc.integer({ min: 0, max: 10 }), { nil: null }),
    symbolFilter: fc.constantFrom({}, { exclude: ['*'] }),
    magicFilter: fc.constantFrom({}, { include: ['12345'] }),
    allowedSides: fc.constantFrom(['buy'] as const, ['sell'] as const),
    reverse: fc.boolean(),
  }),
  ctx: fc.record({
    activeStopOut: fc.option(
      fc.record({
        period: fc.constant('day' as const),
        metric: fc.constant('equity_drawdown' as const),
        action: fc.constantFrom('halt_opens' as const, 'close_all' as const),
        at: fc.constant(T0),
      }),
      { nil: null },
    ),
    openPositions: fc.integer({ min: 0, max: 50 }),
    openLots: fc.double({ min: 0, max: 50, noNaN: true }),
    recentOpenTimes: fc.array(fc.integer({ min: T0 - 3_600_000, max: T0 }), { maxLength: 10 }),
    quote: fc.option(
      fc.record({
        bid: fc.double({ min: 1, max: 1.2, noNaN: true }),
        ask: fc.double({ min: 1, max: 1.2, noNaN: true }),
      }),
      { nil: null },
    ),
    follower: fc.constant(null),
  }),
});
const linkArb: fc.Arbitrary<LinkedPosition> = fc.record({
  ticket: fc.option(fc.constantFrom('1', '2'), { nil: null }),
  openVolume: fc.integer({ min: 1, max: 500 }).map((n) => n / 100),
  symbol: fc.constant('EURUSD'),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  masterVolume: fc.option(fc.double({ min: 0.01, max: 10, noNaN: true }), { nil: null }),
});
const exitArb = fc.record({
  type: fc.constantFrom(
    'position.modified' as const,
    'position.partially_closed' as const,
    'position.closed' as const,
  ),
  volume: fc.double({ min: 0.01, max: 5, noNaN: true }),
  remainingVolume: fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: null }),
  occurredAt: fc.integer({ min: T0 - 86_400_000, max: T0 }),
});

describe('property: exits are never blocked', () => {
  it('modifications and closes of a linked position decide the same under any mode, guard or stop-out', () => {
    fc.assert(
      fc.property(hostileArb, linkArb, exitArb, fc.boolean(), ({ settings, ctx }, link, exit, copySl) => {
        const signal: MasterSignal = openSignal({ ...exit, side: link.side });
        const hostile = planCopy(signal, followerContext({ ...settings, copySl }, { ...ctx, link }));
        const permissive = planCopy(signal, followerContext({ copySl }, { link }));
        expect(hostile).toEqual(permissive);
        if (exit.type === 'position.closed') expect(hostile.action).toBe('close');
        if (exit.type === 'position.modified') expect(hostile.action).toBe('modify');
        if (hostile.action === 'skip') expect(['link']).toContain(reasonCatalogue[hostile.reason].category);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: reverse', () => {
  it('applied twice is the identity', () => {
    const level = fc.option(fc.double({ min: 0.0001, max: 1e5, noNaN: true }), { nil: null });
    fc.assert(
      fc.property(
        fc.record({ side: fc.constantFrom('buy' as const, 'sell' as const), sl: level, tp: level }),
        (d) => {
          expect(reverseDirection(reverseDirection(d))).toEqual(d);
        },
      ),
    );
  });
});

describe('property: every emitted reason is catalogued', () => {
  it('for any open plan', () => {
    fc.assert(
      fc.property(
        hostileArb,
        sizingArb,
        fc.option(linkArb, { nil: null }),
        ({ settings, ctx }, sizing, link) => {
          const d = planCopy(openSignal(), followerContext({ ...settings, sizing }, { ...ctx, link }));
          if (d.action === 'skip') expect(isReasonCode(d.reason)).toBe(true);
          else expect(d.action).toBe('open');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("for any reconciliation, which also never touches an untagged position or another group's", () => {
    const ids = fc.constantFrom('m1', 'm2', 'm3');
    const tickets = fc.constantFrom('t1', 't2', 't3', 't4');
    const expectedArb: fc.Arbitrary<ExpectedPosition> = fc.record({
      masterPositionId: ids,
      symbol: fc.constantFrom('EURUSD', 'XAUUSD'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      volume: fc.integer({ min: 1, max: 100 }).map((n) => n / 100),
      ticket: fc.option(tickets, { nil: null }),
      signalAt: fc.integer({ min: T0 - 200_000, max: T0 }),
      masterPrice: fc.constant(1.1),
      detached: fc.boolean(),
      closing: fc.boolean(),
      linkedAt: fc.option(fc.integer({ min: T0 - 200_000, max: T0 }), { nil: null }),
    });
    const reportedArb: fc.Arbitrary<ReportedPosition> = fc.record({
      ticket: tickets,
      symbol: fc.constantFrom('EURUSD', 'XAUUSD'),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      volume: fc.integer({ min: 1, max: 100 }).map((n) => n / 100),
      openPrice: fc.constant(1.1),
      // This group's tag, another group's with the same ids, or a legacy one naming no group.
      comment: fc.option(
        fc.oneof(
          ids.map(positionTag),
          ids.map((id) => groupTag('g2', id)),
          ids.map((id) => `kopitra:${id}`),
        ),
        { nil: null },
      ),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(expectedArb, { selector: (e) => e.masterPositionId, maxLength: 3 }),
        fc.uniqueArray(reportedArb, { selector: (r) => r.ticket, maxLength: 4 }),
        fc.constantFrom('active' as const, 'close_only' as const, 'frozen' as const),
        fc.constantFrom('detach' as const, 'reopen' as const),
        fc.array(
          fc.record({
            masterPositionId: ids,
            ticket: fc.option(tickets, { nil: null }),
            closed: fc.boolean(),
          }),
          {
            maxLength: 3,
          },
        ),
        fc.boolean(),
        (expected, reported, mode, manualClosePolicy, otherLinks, netting) => {
          // A ticket is one broker position: no two groups link the same one.
          const otherGroups = otherLinks.filter((o) => !expected.some((e) => e.ticket === o.ticket));
          const failedOrders = expected.map((e) => ({
            masterPositionId: e.masterPositionId,
            kind: 'open' as const,
            status: 'failed' as const,
            at: T0,
          }));
          const cs = reconcile({
            groupId: 'g1',
            expected,
            reported,
            otherGroups,
            netting,
            failedOrders,
            snapshotAt: T0 - 1_000,
            now: T0,
            settings: withDefaults({ mode, manualClosePolicy }),
            symbols: { EURUSD: eurusd },
          });
          const linkedTickets = new Set(expected.map((e) => e.ticket));
          const othersTickets = new Set<string | null>(otherGroups.map((o) => o.ticket));
          const untouchable = new Set(
            reported
              .filter(
                (r) =>
                  (!linkedTickets.has(r.ticket) &&
                    (!r.comment || r.comment.startsWith(groupTag('g2', '')))) ||
                  othersTickets.has(r.ticket),
              )
              .map((r) => r.ticket),
          );
          for (const c of cs) {
            if (c.kind === 'alert') expect(isReasonCode(c.reason)).toBe(true);
            if ('ticket' in c && c.ticket !== null && c.ticket !== undefined)
              expect(untouchable.has(c.ticket)).toBe(false);
            if (mode === 'frozen') expect(['alert', 'detach', 'update_link']).toContain(c.kind);
            if (c.kind === 'reopen')
              expect(expected.find((e) => e.masterPositionId === c.masterPositionId)?.detached).not.toBe(
                true,
              );
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
