import { describe, expect, it } from 'vitest';
import { settingsProblems, subscriptionDefaults, withDefaults } from './subscription.js';

describe('withDefaults', () => {
  it('fills every field with the documented defaults', () => {
    expect(withDefaults({})).toEqual(subscriptionDefaults);
    expect(subscriptionDefaults).toMatchObject({
      mode: 'active',
      sizing: { mode: 'mirror' },
      maxSignalAgeSec: 60,
      forceMinimumMaxRiskFactor: 2,
      manualClosePolicy: 'detach',
      copySl: true,
      copyTp: true,
    });
  });

  it('keeps given fields and reads null as "use the default"', () => {
    const s = withDefaults({ mode: 'close_only', maxVolume: 2, reverse: null, maxSignalAgeSec: 5 });
    expect(s).toMatchObject({ mode: 'close_only', maxVolume: 2, reverse: false, maxSignalAgeSec: 5 });
  });

  it('freezes the defaults so no caller can change them for everyone', () => {
    expect(Object.isFrozen(subscriptionDefaults)).toBe(true);
    expect(Object.isFrozen(subscriptionDefaults.allowedSides)).toBe(true);
  });
});

describe('settingsProblems', () => {
  it('has none for the defaults', () => {
    expect(settingsProblems(withDefaults())).toEqual([]);
  });

  it('lists every combination a field-by-field schema cannot see', () => {
    const problems = settingsProblems(
      withDefaults({
        sizing: { mode: 'risk_percent', percent: 0 },
        minVolume: 2,
        maxVolume: 1,
        allowedSides: [],
        symbolMap: { EURUSD: ' ' },
        riskLimits: [{ period: 'day', metric: 'equity_drawdown', action: 'halt_opens' }],
      }),
    );
    expect(problems).toEqual([
      'sizing.percent must be in (0, 100]',
      'minVolume must not exceed maxVolume',
      'allowedSides must name at least one side',
      'symbolMap.EURUSD must name a follower symbol',
      'riskLimits[0] needs maxPercent or maxAmount',
    ]);
  });
});
