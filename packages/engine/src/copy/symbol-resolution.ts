/**
 * Which follower symbol a master symbol becomes, without hand-work where the follower's broker
 * only spells it differently. In order, the first that applies wins:
 *
 * 1. the subscription's explicit `symbolMap`;
 * 2. the affix rules: strip the master's prefix/suffix, add the follower's
 *    (`EURUSD.r` → `EURUSD` → `EURUSD.m`);
 * 3. with `symbolRules.auto`, the follower's reported catalog:
 *    a. the same name (`EURUSD`), ignoring case;
 *    b. the same base with the follower's own affixes (`EURUSD` → `EURUSD.m`, `mEURUSD`,
 *       `EURUSDpro`), the base being the master's symbol without its own affixes;
 *    c. a synonym of the base (`XAUUSD` → `GOLD`, `DJ30` → `US30.cash`), from the
 *       deployment's synonym groups.
 *
 * Without `auto`, steps 1–2 name a symbol whether or not the follower lists it (the copy is
 * then skipped as `symbol_unknown`, as it always was). With `auto`, a step that would need a
 * guess between two listed symbols resolves to nothing (`symbol_ambiguous`) rather than pick
 * one: trading the wrong instrument is worse than not trading.
 */
import type { SymbolCatalog } from './symbol-spec.js';
import type { SubscriptionSettings, SymbolRules } from './subscription.js';
import { mapSymbol } from './symbols.js';

/** Groups of names brokers use for one instrument; matched ignoring case. */
export type SynonymGroups = readonly (readonly string[])[];

/** The built-in groups; a deployment may replace them (`/api/admin/symbol-synonyms`). */
export const defaultSymbolSynonyms: SynonymGroups = Object.freeze(
  [
    ['XAUUSD', 'GOLD'],
    ['XAGUSD', 'SILVER'],
    ['US30', 'DJ30', 'WS30', 'DJI30', 'DOW30', 'USA30'],
    ['US500', 'SPX500', 'SP500', 'USA500', 'SPX'],
    ['NAS100', 'US100', 'USTEC', 'NDX100', 'USA100', 'NQ100'],
    ['GER40', 'DE40', 'DAX40', 'GER30', 'DE30', 'DAX'],
    ['UK100', 'FTSE100', 'GB100'],
    ['FRA40', 'FR40', 'CAC40', 'F40'],
    ['JPN225', 'JP225', 'NIK225', 'NI225'],
    ['AUS200', 'AU200', 'ASX200'],
    ['EU50', 'EUSTX50', 'STOXX50', 'SX5E'],
    ['HK50', 'HSI50', 'HKG50'],
    ['USOIL', 'WTI', 'XTIUSD', 'USCRUDE'],
    ['UKOIL', 'BRENT', 'XBRUSD', 'UKBRENT'],
    ['XNGUSD', 'NATGAS', 'NGAS'],
    ['BTCUSD', 'BITCOIN', 'XBTUSD'],
    ['ETHUSD', 'ETHEREUM'],
  ].map((g) => Object.freeze(g)),
);

export type ResolutionVia = 'map' | 'rules' | 'same' | 'affix' | 'synonym' | 'none';

export interface SymbolResolution {
  readonly masterSymbol: string;
  /** The follower's symbol; `null` when nothing resolves. */
  readonly symbol: string | null;
  readonly via: ResolutionVia;
  /** Listed symbols that fit equally well, when the choice was refused as ambiguous. */
  readonly candidates: readonly string[];
  /** One line for operators: how it resolved, or why it did not. */
  readonly detail: string;
}

type Settings = Pick<SubscriptionSettings, 'symbolMap' | 'symbolRules'>;

const SEPARATOR = /[._\-#+!~$@]/;
const upper = (s: string) => s.toUpperCase();

/** `prefix` + core + `suffix` looks like a broker's decoration of the core, not another name. */
function affixLike(prefix: string, suffix: string): boolean {
  const prefixOk =
    prefix === '' || (prefix.length <= 8 && SEPARATOR.test(prefix.at(-1)!)) || /^[a-z]{1,3}$/.test(prefix);
  const suffixOk =
    suffix === '' ||
    (suffix.length <= 12 && SEPARATOR.test(suffix[0]!)) ||
    /^[a-z]{1,6}$/.test(suffix) ||
    /^[A-Z][a-z]{2,5}$/.test(suffix);
  return prefixOk && suffixOk;
}

/**
 * The master's symbol without its broker decoration (`EURUSD.r` → `EURUSD`, `mEURUSD` →
 * `EURUSD`): the longest run of capitals and digits (3 or more) whose surroundings are
 * affix-like. A symbol with no such run is its own core.
 */
export function symbolCore(symbol: string): string {
  let best: string | null = null;
  for (const m of symbol.matchAll(/[A-Z0-9]{3,}/g)) {
    const start = m.index;
    const core = m[0];
    const end = start + core.length;
    const prefix = symbol.slice(0, start);
    const suffix = symbol.slice(end);
    const prefixOk =
      prefix === '' || (prefix.length <= 8 && SEPARATOR.test(prefix.at(-1)!)) || /^[a-z]{1,3}$/.test(prefix);
    const suffixOk = suffix === '' || SEPARATOR.test(suffix[0]!) || /^[a-z]{1,6}$/.test(suffix);
    if (prefixOk && suffixOk && (best === null || core.length > best.length)) best = core;
  }
  return best ?? symbol;
}

const strip = (symbol: string, prefix: string, suffix: string): string => {
  let s = symbol;
  if (prefix !== '' && upper(s).startsWith(upper(prefix)) && s.length > prefix.length)
    s = s.slice(prefix.length);
  if (suffix !== '' && upper(s).endsWith(upper(suffix)) && s.length > suffix.length)
    s = s.slice(0, s.length - suffix.length);
  return s;
};

const hasAffixRules = (r: SymbolRules): boolean =>
  r.masterPrefix !== '' || r.masterSuffix !== '' || r.followerPrefix !== '' || r.followerSuffix !== '';

/** The master symbol without the configured master affixes. */
export const symbolBase = (masterSymbol: string, rules: SymbolRules): string =>
  strip(masterSymbol, rules.masterPrefix, rules.masterSuffix);

export function catalogNames(catalog: SymbolCatalog | Iterable<string>): string[] {
  if (catalog instanceof Map) return [...catalog.keys()];
  if (typeof (catalog as Iterable<string>)[Symbol.iterator] === 'function')
    return [...(catalog as Iterable<string>)];
  return Object.keys(catalog);
}

/** Listed names that are `core` with affixes (the core itself, ignoring case, included). */
function decorated(core: string, names: readonly string[]): string[] {
  const c = upper(core);
  const out: string[] = [];
  for (const name of names) {
    const u = upper(name);
    for (let i = u.indexOf(c); i !== -1; i = u.indexOf(c, i + 1)) {
      if (affixLike(name.slice(0, i), name.slice(i + c.length))) {
        out.push(name);
        break;
      }
    }
  }
  return out;
}

/** Synonyms of `core` (other members of its group), in the group's order. */
export function synonymsOf(core: string, synonyms: SynonymGroups): string[] {
  const c = upper(core);
  return synonyms
    .filter((g) => g.some((n) => upper(n) === c))
    .flatMap((g) => g.filter((n) => upper(n) !== c));
}

/**
 * Terms a store can search the follower's catalog for (`LIKE %term%`): every listed symbol
 * `resolveSymbol` could pick contains one of them.
 */
export function symbolSearchTerms(
  masterSymbol: string,
  settings: Settings,
  synonyms: SynonymGroups,
): string[] {
  const r = settings.symbolRules;
  const base = symbolBase(masterSymbol, r);
  const cores = [...new Set([base, symbolCore(base)])];
  const terms = new Set<string>([masterSymbol, ...cores, ...cores.flatMap((c) => synonymsOf(c, synonyms))]);
  const mapped = mapSymbol(masterSymbol, settings.symbolMap);
  if (mapped.mapped) terms.add(mapped.symbol);
  if (hasAffixRules(r)) terms.add(`${r.followerPrefix}${base}${r.followerSuffix}`);
  return [...terms].map(upper);
}

const found = (
  masterSymbol: string,
  symbol: string,
  via: Exclude<ResolutionVia, 'none'>,
  detail: string,
): SymbolResolution => ({ masterSymbol, symbol, via, candidates: [], detail });

export function resolveSymbol(
  masterSymbol: string,
  settings: Settings,
  catalog: SymbolCatalog | Iterable<string>,
  synonyms: SynonymGroups = defaultSymbolSynonyms,
): SymbolResolution {
  const mapped = mapSymbol(masterSymbol, settings.symbolMap);
  if (mapped.mapped)
    return found(masterSymbol, mapped.symbol, 'map', `symbol map: ${masterSymbol} → ${mapped.symbol}`);
  const r = settings.symbolRules;
  const base = symbolBase(masterSymbol, r);
  const ruled = hasAffixRules(r) ? `${r.followerPrefix}${base}${r.followerSuffix}` : null;
  if (!r.auto) {
    return ruled === null
      ? found(masterSymbol, masterSymbol, 'same', 'same name (automatic resolution is off)')
      : found(masterSymbol, ruled, 'rules', `affix rules: ${masterSymbol} → ${ruled}`);
  }

  const names = catalogNames(catalog);
  const exact = (name: string): string | undefined =>
    names.find((n) => n === name) ?? names.find((n) => upper(n) === upper(name));
  if (ruled !== null) {
    const hit = exact(ruled);
    if (hit) return found(masterSymbol, hit, 'rules', `affix rules: ${masterSymbol} → ${hit}`);
  }
  const same = exact(masterSymbol);
  if (same) return found(masterSymbol, same, 'same', 'the follower lists the same name');

  const cores = [...new Set([base, symbolCore(base)])];
  const ambiguous = (candidates: string[], what: string): SymbolResolution => ({
    masterSymbol,
    symbol: null,
    via: 'none',
    candidates,
    detail: `${candidates.join(', ')} all fit ${what}; add a symbol map entry or follower affix rules`,
  });
  for (const core of cores) {
    const hit = exact(core);
    if (hit) return found(masterSymbol, hit, 'same', `the follower lists the base ${hit}`);
    const fits = decorated(core, names);
    if (fits.length === 1)
      return found(masterSymbol, fits[0]!, 'affix', `${core} with the follower's affixes`);
    if (fits.length > 1) return ambiguous(fits.sort(), core);
  }
  for (const core of cores) {
    for (const synonym of synonymsOf(core, synonyms)) {
      const hit = exact(synonym);
      if (hit) return found(masterSymbol, hit, 'synonym', `${core} is also called ${synonym}`);
      const fits = decorated(synonym, names);
      if (fits.length === 1)
        return found(
          masterSymbol,
          fits[0]!,
          'synonym',
          `${core} is also called ${synonym}, with the follower's affixes`,
        );
      if (fits.length > 1) return ambiguous(fits.sort(), `${core}'s synonym ${synonym}`);
    }
  }
  return {
    masterSymbol,
    symbol: null,
    via: 'none',
    candidates: [],
    detail: `the follower lists no ${cores.join(' or ')}, with or without affixes, nor a synonym`,
  };
}
