import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultSymbolSynonyms,
  resolveSymbol,
  symbolCore,
  symbolSearchTerms,
  type SynonymGroups,
} from './symbol-resolution.js';
import { withDefaults, type SubscriptionInput } from './subscription.js';

const settings = (s: SubscriptionInput = {}) => withDefaults({ symbolRules: { auto: true }, ...s });
const resolve = (master: string, catalog: string[], s: SubscriptionInput = {}, synonyms?: SynonymGroups) =>
  resolveSymbol(master, settings(s), catalog, synonyms);

describe('resolveSymbol', () => {
  const broker = ['EURUSD.m', 'GBPUSD.m', 'GOLD', 'SILVER', 'US30.cash', 'US500.cash', 'USDJPY.m'];

  it('finds what a broker with its own names calls the master symbols', () => {
    expect(resolve('EURUSD', broker)).toMatchObject({ symbol: 'EURUSD.m', via: 'affix' });
    expect(resolve('XAUUSD', broker)).toMatchObject({ symbol: 'GOLD', via: 'synonym' });
    expect(resolve('DJ30', broker)).toMatchObject({ symbol: 'US30.cash', via: 'synonym' });
    expect(resolve('SPX500', broker)).toMatchObject({ symbol: 'US500.cash', via: 'synonym' });
    expect(resolve('AUDCAD', broker)).toMatchObject({ symbol: null, via: 'none' });
  });

  it('lets the explicit map win over everything, listed or not', () => {
    expect(resolve('EURUSD', broker, { symbolMap: { EURUSD: 'EURUSD.x' } })).toMatchObject({
      symbol: 'EURUSD.x',
      via: 'map',
    });
  });

  it('prefers the same name, then the base, then synonyms', () => {
    expect(resolve('EURUSD', ['EURUSD', 'EURUSD.m'])).toMatchObject({ symbol: 'EURUSD', via: 'same' });
    expect(resolve('eurusd', ['EURUSD'])).toMatchObject({ symbol: 'EURUSD', via: 'same' });
    expect(resolve('XAUUSD', ['XAUUSD.m', 'GOLD'])).toMatchObject({ symbol: 'XAUUSD.m', via: 'affix' });
  });

  it("strips the master's own decoration before searching", () => {
    expect(symbolCore('EURUSD.r')).toBe('EURUSD');
    expect(symbolCore('mEURUSD')).toBe('EURUSD');
    expect(symbolCore('XAUUSDpro')).toBe('XAUUSD');
    expect(symbolCore('#US30')).toBe('US30');
    expect(symbolCore('Ger40')).toBe('Ger40');
    expect(resolve('EURUSD.r', ['EURUSD.m'])).toMatchObject({ symbol: 'EURUSD.m', via: 'affix' });
    expect(resolve('GOLD.r', ['XAUUSDm'])).toMatchObject({ symbol: 'XAUUSDm', via: 'synonym' });
  });

  it('never takes a longer name for a decoration of a shorter one', () => {
    expect(resolve('US30', ['US300', 'US30X'])).toMatchObject({ symbol: null });
    expect(resolve('EURUSD', ['EURUSDX', 'XEURUSD'])).toMatchObject({ symbol: null });
  });

  it('refuses to guess between two listed symbols', () => {
    const r = resolve('EURUSD', ['EURUSD.m', 'EURUSD.pro']);
    expect(r).toMatchObject({ symbol: null, via: 'none', candidates: ['EURUSD.m', 'EURUSD.pro'] });
    // The follower's affix rule settles it.
    expect(
      resolve('EURUSD', ['EURUSD.m', 'EURUSD.pro'], { symbolRules: { auto: true, followerSuffix: '.pro' } }),
    ).toMatchObject({
      symbol: 'EURUSD.pro',
      via: 'rules',
    });
  });

  it('applies affix rules without a catalog when automatic resolution is off', () => {
    const rules = { masterSuffix: '.r', followerPrefix: 'x', followerSuffix: '.m' };
    expect(resolveSymbol('EURUSD.r', withDefaults({ symbolRules: rules }), [])).toMatchObject({
      symbol: 'xEURUSD.m',
      via: 'rules',
    });
    // Off and without rules: today's behaviour, the master's name as it is.
    expect(resolveSymbol('XAUUSD', withDefaults(), ['GOLD'])).toMatchObject({
      symbol: 'XAUUSD',
      via: 'same',
    });
  });

  it("uses the deployment's synonym groups", () => {
    expect(resolve('XAUUSD', ['GOLD'], {}, [['XAGUSD', 'SILVER']])).toMatchObject({ symbol: null });
    expect(resolve('DE40', ['DAX.i'], {}, [['DE40', 'dax']])).toMatchObject({ symbol: 'DAX.i' });
  });

  it('builds the built-in groups with no name in two groups', () => {
    const names = defaultSymbolSynonyms.flat().map((n) => n.toUpperCase());
    expect(new Set(names).size).toBe(names.length);
  });
});

const cores = [
  'EURUSD',
  'GBPUSD',
  'USDJPY',
  'AUDCAD',
  'XAUUSD',
  'XAGUSD',
  'US30',
  'GER40',
  'NAS100',
  'BTCUSD',
];
const affixes = fc.record({
  prefix: fc.constantFrom('', '', 'm', '#', 'x.'),
  suffix: fc.constantFrom('', '.m', 'm', '_i', '.cash', 'pro', '-ecn', '.r'),
});
const catalogArb = fc.uniqueArray(
  fc.record({ core: fc.constantFrom(...cores, 'GOLD', 'SILVER', 'DJ30', 'WS30', 'DE40'), a: affixes }),
  { maxLength: 12, selector: (x) => x.core },
);
const decorate = (core: string, a: { prefix: string; suffix: string }) => `${a.prefix}${core}${a.suffix}`;

describe('property: symbol resolution', () => {
  it('names only symbols the follower lists, with any catalog and rules', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cores),
        affixes,
        catalogArb,
        fc.record({
          followerSuffix: fc.constantFrom('', '.m'),
          masterSuffix: fc.constantFrom('', '.r'),
        }),
        (core, masterAffix, listed, rules) => {
          const catalog = listed.map((x) => decorate(x.core, x.a));
          const r = resolveSymbol(
            decorate(core, masterAffix),
            settings({ symbolRules: { auto: true, ...rules } }),
            catalog,
          );
          if (r.symbol !== null) expect(catalog).toContain(r.symbol);
          else expect(r.via).toBe('none');
          // Whatever it picks contains a term a store can search for.
          const terms = symbolSearchTerms(
            decorate(core, masterAffix),
            settings({ symbolRules: rules }),
            defaultSymbolSynonyms,
          );
          if (r.symbol !== null) expect(terms.some((t) => r.symbol!.toUpperCase().includes(t))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("finds the master's instrument under any broker decoration, whatever else is listed", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...cores),
        affixes,
        affixes,
        catalogArb,
        (core, masterAffix, followerAffix, others) => {
          const target = decorate(core, followerAffix);
          const catalog = [
            ...others
              .filter(
                (o) =>
                  o.core !== core &&
                  !defaultSymbolSynonyms.some((g) => g.includes(o.core) && g.includes(core)),
              )
              .map((o) => decorate(o.core, o.a)),
            target,
          ];
          const shuffled = [...catalog].reverse();
          const r = resolveSymbol(decorate(core, masterAffix), settings(), catalog);
          expect(r.symbol).toBe(target);
          // The catalog's order does not matter.
          expect(resolveSymbol(decorate(core, masterAffix), settings(), shuffled).symbol).toBe(target);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('lets the explicit map win whatever the catalog lists', () => {
    fc.assert(
      fc.property(fc.constantFrom(...cores), catalogArb, fc.boolean(), (core, listed, auto) => {
        const r = resolveSymbol(
          core,
          settings({ symbolMap: { [core]: 'MAPPED' }, symbolRules: { auto, followerSuffix: '.m' } }),
          listed.map((x) => decorate(x.core, x.a)),
        );
        expect(r).toMatchObject({ symbol: 'MAPPED', via: 'map' });
      }),
    );
  });
});
