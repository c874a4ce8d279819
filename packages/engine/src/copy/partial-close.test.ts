import { describe, expect, it } from 'vitest';
import { closedFraction, planPartialClose, type PartialCloseInput } from './partial-close.js';

const spec = { volumeMin: 0.01, volumeStep: 0.01 };
const plan = (over: Partial<PartialCloseInput>) =>
  planPartialClose({ openVolume: 1, closedVolume: 0.5, remainingVolume: 0.5, spec, ...over });

describe('closed fraction', () => {
  it('prefers remainingVolume, else the master volume before the close, else unknown', () => {
    expect(closedFraction({ closedVolume: 0.3, remainingVolume: 0.7 })).toBeCloseTo(0.3);
    expect(closedFraction({ closedVolume: 0.3, remainingVolume: 0 })).toBe(1);
    expect(closedFraction({ closedVolume: 0.3, masterVolumeBefore: 1.2 })).toBeCloseTo(0.25);
    expect(closedFraction({ closedVolume: 2, masterVolumeBefore: 1 })).toBe(1);
    expect(closedFraction({ closedVolume: 0.3 })).toBeNull();
  });
});

describe('planPartialClose', () => {
  it('closes the same fraction of the follower position, to the nearest step', () => {
    expect(plan({ openVolume: 0.5, closedVolume: 1, remainingVolume: 2 })).toMatchObject({
      kind: 'partial',
      volume: 0.17,
      remaining: 0.33,
    }); // share 0.1667
    expect(plan({ openVolume: 0.5, closedVolume: 1, remainingVolume: 4 })).toMatchObject({
      kind: 'partial',
      volume: 0.1,
      remaining: 0.4,
    });
    expect(plan({ openVolume: 0.7, closedVolume: 0.7, remainingVolume: 0.3 })).toMatchObject({
      kind: 'partial',
      volume: 0.49,
      remaining: 0.21,
    }); // 0.7 × 0.7 = 0.48999999999999994 in floats
    expect(plan({ openVolume: 0.3, closedVolume: 0.1, remainingVolume: 0.2 })).toMatchObject({
      kind: 'partial',
      volume: 0.1,
      remaining: 0.2,
    });
  });

  it('closes half of 0.03 as 0.02, not 0.01: a share half-way between steps closes the larger', () => {
    expect(plan({ openVolume: 0.03, closedVolume: 0.5, remainingVolume: 0.5 })).toMatchObject({
      kind: 'partial',
      volume: 0.02,
      remaining: 0.01,
    });
  });

  it('closes everything when the rest would fall under the minimum', () => {
    expect(
      plan({
        openVolume: 0.1,
        closedVolume: 0.95,
        remainingVolume: 0.05,
        spec: { volumeMin: 0.05, volumeStep: 0.01 },
      }),
    ).toMatchObject({ kind: 'full', volume: 0.1 });
  });

  it('closes everything when the master closed everything', () => {
    expect(plan({ remainingVolume: 0 })).toMatchObject({ kind: 'full', volume: 1 });
  });

  it('closes the minimum when the share is nearer to it than to nothing, else skips', () => {
    expect(plan({ openVolume: 0.03, closedVolume: 0.2, remainingVolume: 0.8 })).toMatchObject({
      kind: 'partial',
      volume: 0.01,
      remaining: 0.02,
    }); // share 0.006
    expect(plan({ openVolume: 0.03, closedVolume: 0.1, remainingVolume: 0.9 })).toMatchObject({
      kind: 'skip',
      reason: 'partial_close_too_small',
    }); // share 0.003
  });

  it('a position at the minimum closes whole once the master closes half or more', () => {
    expect(plan({ openVolume: 0.01, closedVolume: 0.5, remainingVolume: 0.5 })).toMatchObject({
      kind: 'full',
      volume: 0.01,
    });
    expect(plan({ openVolume: 0.01, closedVolume: 0.4, remainingVolume: 0.6 })).toMatchObject({
      kind: 'skip',
      reason: 'partial_close_too_small',
    });
  });

  it('skips when the fraction or the open volume is unknown', () => {
    expect(plan({ remainingVolume: null })).toMatchObject({
      kind: 'skip',
      reason: 'partial_close_fraction_unknown',
    });
    expect(plan({ remainingVolume: null, masterVolumeBefore: 2 })).toMatchObject({
      kind: 'partial',
      volume: 0.25,
    });
    expect(plan({ openVolume: 0 })).toMatchObject({ kind: 'skip', reason: 'no_open_volume' });
  });
});
