/**
 * Symbol resolution as operators see and tune it: the deployment's synonym groups (built in
 * until replaced), and per subscription how each master symbol resolves to the follower's —
 * by the same engine function the copy engine uses, so the view is what copying will do.
 */
import {
  AppError,
  type SymbolResolution,
  type SymbolResolutionItem,
  type SymbolSynonyms,
  type SymbolSynonymsRequest,
} from '@kopitra/contracts';
import { defaultSymbolSynonyms, resolveSymbol, withDefaults, type SubscriptionInput } from '@kopitra/engine';
import { getGroup, getSubscriptionSettings } from '../store/copy.js';
import { getSymbolCatalog } from '../store/inbox.js';
import { masterSymbolsSince } from '../store/master-positions.js';
import { putSymbolSynonyms, storedSymbolSynonyms } from '../store/symbol-synonyms.js';
import { inTransaction } from '../store/transaction.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';

type Deps = Pick<ManagementDeps, 'db' | 'clock'>;

/** How far back the master's traded symbols are listed (besides its catalog and what it holds). */
const TRADED_WINDOW_MS = 30 * 24 * 3_600_000;

export async function symbolSynonyms(deps: Pick<ManagementDeps, 'db'>): Promise<SymbolSynonyms> {
  const stored = await storedSymbolSynonyms(deps.db);
  return stored
    ? { groups: stored, builtIn: false }
    : { groups: defaultSymbolSynonyms.map((g) => [...g]), builtIn: true };
}

/** Replaces the synonym groups; a name may stand in one group only. */
export async function setSymbolSynonyms(
  deps: Deps,
  actor: string,
  req: SymbolSynonymsRequest,
): Promise<SymbolSynonyms> {
  const seen = new Map<string, number>();
  const issues: Array<{ path: string; message: string; code: string }> = [];
  req.groups.forEach((group, i) => {
    group.forEach((name, j) => {
      const key = name.toUpperCase();
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else
        issues.push({
          path: `body.groups.${i}.${j}`,
          message: first === i ? `${name} is twice in this group` : `${name} is already in group ${first}`,
          code: 'custom',
        });
    });
  });
  if (issues.length)
    throw new AppError('invalid_request', 'A symbol may stand in one synonym group only.', { issues });
  return inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const before = await symbolSynonyms({ db: trx });
    await putSymbolSynonyms(trx, req.groups);
    await appendAudit(
      trx,
      {
        actor,
        action: 'symbol_synonyms.update',
        targetType: 'symbol_synonyms',
        targetId: 'deployment',
        before,
        after: req.groups,
      },
      now,
    );
    return { groups: req.groups, builtIn: false };
  });
}

/** Back to the built-in groups. */
export async function resetSymbolSynonyms(deps: Deps, actor: string): Promise<SymbolSynonyms> {
  return inTransaction(deps.db, async ({ trx }) => {
    const before = await symbolSynonyms({ db: trx });
    await putSymbolSynonyms(trx, null);
    await appendAudit(
      trx,
      {
        actor,
        action: 'symbol_synonyms.reset',
        targetType: 'symbol_synonyms',
        targetId: 'deployment',
        before,
      },
      deps.clock.now(),
    );
    return symbolSynonyms({ db: trx });
  });
}

/** How every master symbol resolves for one subscription; unresolved ones are those not `listed`. */
export async function symbolResolution(
  deps: Pick<ManagementDeps, 'db' | 'clock'>,
  groupId: string,
  accountId: string,
): Promise<SymbolResolution> {
  const group = await getGroup(deps.db, groupId);
  if (!group) throw new AppError('group_not_found');
  const raw = await getSubscriptionSettings(deps.db, groupId, accountId);
  if (!raw) throw new AppError('not_found', 'This account does not follow this group.');
  const settings = withDefaults(JSON.parse(raw) as SubscriptionInput);
  const [followerCatalog, masterCatalog, traded, synonyms] = await Promise.all([
    getSymbolCatalog(deps.db, accountId),
    getSymbolCatalog(deps.db, group.master_account_id),
    masterSymbolsSince(deps.db, group.master_account_id, deps.clock.now() - TRADED_WINDOW_MS),
    symbolSynonyms(deps),
  ]);
  const tradedSet = new Set(traded);
  const masterSymbols = [...new Set([...traded, ...masterCatalog.keys()])].sort(
    (a, b) => Number(tradedSet.has(b)) - Number(tradedSet.has(a)) || a.localeCompare(b),
  );
  const items: SymbolResolutionItem[] = masterSymbols.map((masterSymbol) => {
    const r = resolveSymbol(masterSymbol, settings, followerCatalog, synonyms.groups);
    return {
      masterSymbol,
      traded: tradedSet.has(masterSymbol),
      followerSymbol: r.symbol,
      via: r.via,
      listed: r.symbol !== null && followerCatalog.has(r.symbol),
      detail: r.detail,
      candidates: [...r.candidates],
    };
  });
  return {
    groupId,
    accountId,
    masterAccountId: group.master_account_id,
    automatic: settings.symbolRules.auto,
    followerCatalogSize: followerCatalog.size,
    masterCatalogSize: masterCatalog.size,
    builtInSynonyms: synonyms.builtIn,
    unresolved: items.filter((i) => !i.listed).length,
    items,
  };
}
