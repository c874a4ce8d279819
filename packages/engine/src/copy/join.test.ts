import { positionTag } from '@kopitra/contracts';
import { describe, expect, it } from 'vitest';
import { followerContext, T0 } from './fixtures.js';
import { planJoin, type MasterPosition } from './join.js';

const held = (over: Partial<MasterPosition> = {}): MasterPosition => ({
  masterPositionId: 'p1',
  symbol: 'EURUSD',
  side: 'buy',
  volume: 0.4,
  openPrice: 1.1,
  sl: 1.09,
  tp: 1.12,
  magic: '0',
  openedAt: T0 - 86_400_000,
  ...over,
});
const market = { onJoin: { mode: 'market' as const, maxDistancePoints: 30 } };

describe('planJoin', () => {
  it('decides nothing under the default policy', () => {
    expect(planJoin(held(), followerContext())).toBeNull();
  });

  it("opens at market with the master's entry as the price and the distance as the slippage limit", () => {
    const d = planJoin(held(), followerContext({ ...market, sizing: { mode: 'multiplier', multiplier: 2 } }));
    expect(d).toMatchObject({
      action: 'open',
      masterPositionId: 'p1',
      symbol: 'EURUSD',
      side: 'buy',
      volume: 0.8,
      masterPrice: 1.1,
      maxSlippagePoints: 30,
      sl: 1.09,
      tp: 1.12,
      comment: positionTag('g1', 'p1'),
      // The master opened a day ago; the join is fresh.
      expiresAt: T0 + 60_000,
    });
  });

  it('skips when the known price is further from the entry than the distance', () => {
    const near = { bid: 1.1001, ask: 1.1002 };
    const far = { bid: 1.1049, ask: 1.105 };
    expect(planJoin(held(), followerContext(market, { quote: near }))?.action).toBe('open');
    expect(planJoin(held(), followerContext(market, { quote: far }))).toMatchObject({
      action: 'skip',
      reason: 'join_price_too_far',
    });
  });

  it('applies the filters, guards and sizing of any open', () => {
    expect(
      planJoin(held({ volume: 3 }), followerContext({ ...market, masterVolume: { max: 1 } })),
    ).toMatchObject({
      action: 'skip',
      reason: 'master_volume_above_maximum',
    });
    expect(planJoin(held(), followerContext({ ...market, mode: 'close_only' }))).toMatchObject({
      reason: 'mode_close_only',
    });
    expect(
      planJoin(held(), followerContext({ ...market, maxOpenPositions: 2 }, { openPositions: 2 })),
    ).toMatchObject({
      reason: 'max_open_positions',
    });
    expect(planJoin(held({ symbol: 'AUDNZD' }), followerContext(market))).toMatchObject({
      reason: 'symbol_unknown',
    });
  });

  it('refuses the limit policy until pending orders exist', () => {
    expect(planJoin(held(), followerContext({ onJoin: { mode: 'limit', expiryMinutes: 30 } }))).toMatchObject(
      {
        action: 'skip',
        reason: 'join_limit_unsupported',
      },
    );
  });
});
