import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { spreadClose, spreadTake } from './spread.js';

const grid = { volumeMin: 0.01, volumeStep: 0.01 };
const at = (ticket: string, volume: number, openedAt: number) => ({ ticket, volume, openedAt });

describe('spreadTake: the same rule as the MQL EAs', () => {
  // The vectors Logic.mqh's KpSpreadTake is checked against (ea/test/decisions.json).
  const vectors = (
    JSON.parse(readFileSync(new URL('../../../../ea/test/decisions.json', import.meta.url), 'utf8')) as {
      vectors: Array<{ name: string; call: string[]; expect: string }>;
    }
  ).vectors.filter((v) => v.call[0] === 'spreadTake');

  it('has vectors to agree on', () => expect(vectors.length).toBeGreaterThan(4));
  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const [, remaining, volume, volumeMin, volumeStep] = v.call.map(Number);
    expect(spreadTake(remaining!, volume!, { volumeMin: volumeMin!, volumeStep: volumeStep! })).toBe(
      Number(v.expect),
    );
  });
});

describe('spreadClose', () => {
  const first = at('1', 2, 100);
  const adds = [at('2', 1, 200), at('3', 1, 300)];

  it('closes the adds whole, newest first, and takes the rest from the first position', () => {
    expect(spreadClose(first, adds, 1.6, grid)).toEqual([
      { ticket: '3', volume: 1 },
      { ticket: '1', volume: 0.6 },
    ]);
    expect(spreadClose(first, adds, 2, grid)).toEqual([
      { ticket: '3', volume: 1 },
      { ticket: '2', volume: 1 },
    ]);
  });

  it('takes from the adds what the first position cannot give, and never more than held', () => {
    // No add fits whole; the first gives all it has, the newest add the rest.
    expect(spreadClose(at('1', 0.1, 100), adds, 0.5, { volumeMin: 0.1, volumeStep: 0.1 })).toEqual([
      { ticket: '1', volume: 0.1 },
      { ticket: '3', volume: 0.4 },
    ]);
    expect(spreadClose(first, adds, 9, grid)).toEqual([
      { ticket: '3', volume: 1 },
      { ticket: '2', volume: 1 },
      { ticket: '1', volume: 2 },
    ]);
  });

  it('leaves every position at least the minimum and closes nothing under it', () => {
    const min = { volumeMin: 0.1, volumeStep: 0.01 };
    // 0.95 of the first's 1.0 would leave 0.05: it keeps 0.1, and the 0.05 left is under the
    // minimum, so the add gives nothing: 0.05 stays for reconciliation to judge.
    expect(spreadClose(at('1', 1, 100), [at('2', 1, 200)], 0.95, min)).toEqual([
      { ticket: '1', volume: 0.9 },
    ]);
    expect(spreadClose(at('1', 1, 100), [at('2', 0.5, 200)], 0.05, min)).toEqual([]);
  });
});
