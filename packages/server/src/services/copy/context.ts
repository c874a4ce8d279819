/**
 * Loads, in a handful of batched queries, what the copy engine needs to decide for every
 * follower of a master at once: settings, symbol specs, balances, links and exposure.
 */
import {
  activeStopOut,
  defaultSymbolSynonyms,
  resolveSymbol,
  symbolSearchTerms,
  withDefaults,
  type FollowerContext,
  type LinkedPosition,
  type SynonymGroups,
  type ActiveStopOut,
  type AccountMetrics,
  type SubscriptionInput,
  type SubscriptionSettings,
  type SymbolSpec,
} from '@kopitra/engine';
import type { Db } from '../../store/schema.js';
import { activeStopOutsOf, toStored } from '../../store/risk.js';
import {
  accountsWithCatalog,
  nettingFromInit,
  symbolSpecsOf,
  symbolsMatching,
  telemetryOf,
} from '../../store/inbox.js';
import { storedSymbolSynonyms } from '../../store/symbol-synonyms.js';
import {
  linksForMasterPosition,
  openExposure,
  queuedOrdersOfCopies,
  recentOpenTimes,
  subscriptionsOfMaster,
  type CopyOrderRow,
  type LinkRow,
} from '../../store/copy.js';
import type { SubscriptionCursor } from '../../store/fanouts.js';

export interface FollowerSlice {
  groupId: string;
  followerAccountId: string;
  settings: SubscriptionSettings;
  symbols: Map<string, SymbolSpec>;
  metrics: AccountMetrics | null;
  link: LinkRow | null;
  /**
   * On a close: this copy's orders still undelivered (locked for withdrawal on PostgreSQL)
   * when its open has not been filled; otherwise empty.
   */
  undelivered: CopyOrderRow[];
  exposure: { positions: number; lots: number };
  recentOpens: number[];
  netting: boolean;
  activeStopOut: ActiveStopOut | null;
}

export interface MasterSlice {
  metrics: AccountMetrics | null;
  symbol: SymbolSpec | null;
}

/** What the engine is told about one follower of the fan-out, with its copy's link as the engine sees it. */
export const followerContextOf = (
  f: FollowerSlice,
  fanout: { master: MasterSlice; synonyms: SynonymGroups },
  link: LinkedPosition | null,
  now: number,
): FollowerContext => ({
  groupId: f.groupId,
  settings: f.settings,
  symbols: f.symbols,
  masterSymbol: fanout.master.symbol,
  follower: f.metrics,
  master: fanout.master.metrics,
  link,
  openPositions: f.exposure.positions,
  openLots: f.exposure.lots,
  recentOpenTimes: f.recentOpens,
  activeStopOut: f.activeStopOut,
  now,
  netting: f.netting,
  synonyms: fanout.synonyms,
});

// Stands in for "this follower has a catalog, just not this symbol" so the engine can tell
// symbol_unknown from symbol_catalog_missing without loading whole catalogs.
const CATALOG_PRESENT = '\u0000catalog-present';

export async function loadFanoutContext(
  db: Db,
  masterAccountId: string,
  signal: { type: string; symbol: string; masterPositionId: string },
  now: number,
  lock = false,
  /**
   * One batch of a fan-out: at most `limit` subscriptions after `after`; `more` tells whether
   * any are left beyond them. Without it, every subscription.
   */
  page?: { after: SubscriptionCursor | null; limit: number },
): Promise<{ followers: FollowerSlice[]; master: MasterSlice; synonyms: SynonymGroups; more: boolean }> {
  const read = await subscriptionsOfMaster(
    db,
    masterAccountId,
    page && { after: page.after, limit: page.limit + 1 },
  );
  const more = page !== undefined && read.length > page.limit;
  const subs = more ? read.slice(0, page.limit) : read;
  // A whole fan-out in one batch reads the position's links at once; a part reads its own.
  const partial = more || page?.after != null;
  const followerIds = [...new Set(subs.map((s) => s.follower_account_id))];
  const settingsOf = new Map(
    subs.map((s) => [
      `${s.group_id}\n${s.follower_account_id}`,
      withDefaults(JSON.parse(s.settings) as SubscriptionInput),
    ]),
  );
  // Without automatic resolution a subscription names its symbol by rule (map, affixes, or the
  // master's name); with it, the follower's catalog is searched for what could fit.
  const wantedSymbols = [
    ...new Set([
      signal.symbol,
      ...[...settingsOf.values()].map((s) => resolveSymbol(signal.symbol, s, []).symbol ?? signal.symbol),
    ]),
  ];
  const accountIds = [...followerIds, masterAccountId];
  // Exposure and trade-rate guards apply to opens and adds only, and only where a subscription sets them.
  const isOpen = signal.type === 'position.opened';
  const addsExposure = isOpen || signal.type === 'position.increased';
  const autoSettings = isOpen
    ? subs.filter((s) => settingsOf.get(`${s.group_id}\n${s.follower_account_id}`)!.symbolRules.auto)
    : [];
  const synonyms: SynonymGroups =
    autoSettings.length > 0
      ? ((await storedSymbolSynonyms(db)) ?? defaultSymbolSynonyms)
      : defaultSymbolSynonyms;
  const searchTerms = [
    ...new Set(
      autoSettings.flatMap((s) =>
        symbolSearchTerms(
          signal.symbol,
          settingsOf.get(`${s.group_id}\n${s.follower_account_id}`)!,
          synonyms,
        ),
      ),
    ),
  ];
  const guarded = (pick: (s: ReturnType<typeof withDefaults>) => boolean) =>
    addsExposure
      ? [
          ...new Set(
            subs
              .filter((s) => pick(settingsOf.get(`${s.group_id}\n${s.follower_account_id}`)!))
              .map((s) => s.follower_account_id),
          ),
        ]
      : [];
  const exposureIds = guarded((s) => s.maxOpenPositions !== null || s.maxTotalLots !== null);
  const rateIds = guarded((s) => s.maxTradesPerHour !== null);

  const [telemetry, specsOf, matching, withCatalog, links, exposure, recent, stopOuts] = await Promise.all([
    telemetryOf(db, accountIds),
    symbolSpecsOf(db, accountIds, wantedSymbols),
    symbolsMatching(db, [...new Set(autoSettings.map((s) => s.follower_account_id))], searchTerms),
    accountsWithCatalog(db, followerIds),
    linksForMasterPosition(
      db,
      masterAccountId,
      signal.masterPositionId,
      lock,
      partial ? followerIds : undefined,
    ),
    openExposure(db, exposureIds),
    recentOpenTimes(db, rateIds, now - 3_600_000),
    addsExposure ? activeStopOutsOf(db, followerIds) : Promise.resolve([]),
  ]);
  const metricsOf = new Map(
    telemetry.map((t) => [
      t.account_id,
      t.balance === null && t.equity === null ? null : { balance: t.balance, equity: t.equity },
    ]),
  );
  const nettingOf = new Map(telemetry.map((t) => [t.account_id, nettingFromInit(t.last_init)]));
  const linkOf = new Map(links.map((l) => [`${l.group_id}\n${l.follower_account_id}`, l]));
  const merge = (extra: typeof specsOf) => {
    for (const [accountId, found] of extra) {
      const specs = specsOf.get(accountId);
      if (!specs) specsOf.set(accountId, found);
      else for (const [symbol, spec] of found) specs.set(symbol, spec);
    }
  };
  merge(matching);
  // An exit sizes against its link's symbol, which a rule or a resolution since changed may
  // not have named above: fetch the few that are missing.
  const missing = links.filter(
    (l) => l.status !== 'closed' && !specsOf.get(l.follower_account_id)?.has(l.symbol),
  );
  if (missing.length) {
    const extra = await symbolSpecsOf(
      db,
      [...new Set(missing.map((l) => l.follower_account_id))],
      [...new Set(missing.map((l) => l.symbol))],
    );
    merge(extra);
  }
  // A close may find copies whose open never reached the follower: those can be withdrawn.
  const unfilled =
    signal.type === 'position.closed' ? links.filter((l) => l.status === 'open' && l.ticket === null) : [];
  const undelivered = await queuedOrdersOfCopies(db, unfilled, signal.masterPositionId, lock);

  const followers = subs.map((s): FollowerSlice => {
    const key = `${s.group_id}\n${s.follower_account_id}`;
    const symbols = new Map<string, SymbolSpec>(specsOf.get(s.follower_account_id) ?? []);
    if (symbols.size === 0 && withCatalog.has(s.follower_account_id)) {
      symbols.set(CATALOG_PRESENT, {
        digits: 0,
        point: 1,
        tickSize: 1,
        tickValue: 0,
        contractSize: 1,
        volumeMin: 1,
        volumeMax: 1,
        volumeStep: 1,
        tradeMode: 'disabled',
      });
    }
    return {
      groupId: s.group_id,
      followerAccountId: s.follower_account_id,
      settings: settingsOf.get(key)!,
      symbols,
      metrics: metricsOf.get(s.follower_account_id) ?? null,
      link: linkOf.get(key) ?? null,
      undelivered: undelivered.filter(
        (o) => o.group_id === s.group_id && o.follower_account_id === s.follower_account_id,
      ),
      exposure: exposure.get(key) ?? { positions: 0, lots: 0 },
      recentOpens: recent.get(key) ?? [],
      netting: nettingOf.get(s.follower_account_id) ?? false,
      activeStopOut: activeStopOut(
        stopOuts
          .filter((o) => o.group_id === s.group_id && o.follower_account_id === s.follower_account_id)
          .map(toStored),
      ),
    };
  });
  return {
    followers,
    synonyms,
    more,
    master: {
      metrics: metricsOf.get(masterAccountId) ?? null,
      symbol: specsOf.get(masterAccountId)?.get(signal.symbol) ?? null,
    },
  };
}
