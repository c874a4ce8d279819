import { describe, expect, it } from 'vitest';
import { settingsProblems, subscriptionDefaults, unsupportedSettings, withDefaults } from './subscription.js';

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

describe('new settings keep the old behaviour by default', () => {
  it('resolves symbols by name only, filters no master volume and joins nothing', () => {
    expect(withDefaults({}).symbolRules).toEqual({
      auto: false,
      masterPrefix: '',
      masterSuffix: '',
      followerPrefix: '',
      followerSuffix: '',
    });
    expect(withDefaults({}).masterVolume).toEqual({ min: null, max: null });
    expect(withDefaults({}).onJoin).toEqual({ mode: 'none', maxDistancePoints: null, expiryMinutes: null });
  });

  it('fills the parts of a nested setting that are not given', () => {
    expect(withDefaults({ symbolRules: { followerSuffix: '.m' } }).symbolRules).toMatchObject({
      auto: false,
      followerSuffix: '.m',
    });
    expect(withDefaults({ masterVolume: { max: 2 } }).masterVolume).toEqual({ min: null, max: 2 });
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
    expect(
      settingsProblems(
        withDefaults({ masterVolume: { min: 2, max: 1 }, onJoin: { mode: 'market', expiryMinutes: 0 } }),
      ),
    ).toEqual([
      'masterVolume.min must not exceed masterVolume.max',
      'onJoin.expiryMinutes must be > 0',
      'onJoin.maxDistancePoints is required for the market mode',
    ]);
  });

  it('tells a limit join apart: valid, but not possible before pending orders exist', () => {
    const limit = withDefaults({ onJoin: { mode: 'limit', expiryMinutes: 30 } });
    expect(settingsProblems(limit)).toEqual([]);
    expect(unsupportedSettings(limit)).toHaveLength(1);
    expect(unsupportedSettings(withDefaults({ onJoin: { mode: 'market', maxDistancePoints: 20 } }))).toEqual(
      [],
    );
  });
});
