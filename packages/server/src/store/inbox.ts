import type { SymbolSpec, TelemetryEvent } from '@kopitra/contracts';
import { sql } from 'kysely';
import type { Dialect } from './database.js';
import type { AccountTelemetryTable, Db } from './schema.js';
import { newId } from './ids.js';

/** Stores one telemetry event and folds it into the account's latest state. */
export async function storeTelemetry(
  db: Db,
  t: { accountId: string; sessionId: string; event: TelemetryEvent },
  now: number,
): Promise<{ inboxEventId: string; occurredAt: number; serverUtcOffsetSec: number | null }> {
  const inboxEventId = newId('inb');
  let serverUtcOffsetSec: number | null = null;
  const occurredAt = t.event.occurredAt ? Date.parse(t.event.occurredAt) : now;
  await db
    .insertInto('inbox_events')
    .values({
      inbox_event_id: inboxEventId,
      account_id: t.accountId,
      session_id: t.sessionId,
      event_type: t.event.eventType,
      occurred_at: occurredAt,
      received_at: now,
      payload: JSON.stringify(t.event.payload),
    })
    .execute();

  const e = t.event;
  switch (e.eventType) {
    case 'ea.heartbeat':
      serverUtcOffsetSec = await upsertTelemetry(
        db,
        t.accountId,
        {
          balance: e.payload.balance,
          equity: e.payload.equity,
          margin: e.payload.margin,
          free_margin: e.payload.freeMargin ?? null,
          open_positions: e.payload.openPositions,
          latency_ms: e.payload.latencyMs ?? null,
          last_heartbeat_at: now,
          // An EA that does not tell it keeps the offset last told (or none: UTC).
          ...(e.payload.serverUtcOffsetSec !== undefined
            ? { server_utc_offset_sec: e.payload.serverUtcOffsetSec }
            : {}),
        },
        now,
      );
      break;
    case 'ea.init':
      await upsertTelemetry(db, t.accountId, { last_init: JSON.stringify(e.payload) }, now);
      break;
    case 'ea.status_summary':
      await upsertTelemetry(db, t.accountId, { last_status_summary: JSON.stringify(e.payload) }, now);
      break;
    case 'ea.autotrade_status':
      await upsertTelemetry(db, t.accountId, { autotrade_enabled: e.payload.enabled ? 1 : 0 }, now);
      break;
    case 'ea.sync_snapshot':
      await upsertTelemetry(db, t.accountId, { last_sync_snapshot_at: now }, now);
      break;
    case 'ea.symbol_catalog':
      await replaceSymbolCatalog(db, t.accountId, e.payload.symbols, now);
      break;
    default:
      break;
  }
  return { inboxEventId, occurredAt, serverUtcOffsetSec };
}

type TelemetryPatch = Partial<Omit<AccountTelemetryTable, 'account_id' | 'updated_at'>>;

/** Returns the account's broker clock offset as stored after the patch. */
async function upsertTelemetry(
  db: Db,
  accountId: string,
  patch: TelemetryPatch,
  now: number,
): Promise<number | null> {
  const row = await db
    .insertInto('account_telemetry')
    .values({ account_id: accountId, ...patch, updated_at: now })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ ...patch, updated_at: now }))
    .returning('server_utc_offset_sec')
    .executeTakeFirstOrThrow();
  return row.server_utc_offset_sec;
}

/** A catalog is the terminal's whole Market Watch: it replaces the previous one. */
async function replaceSymbolCatalog(
  db: Db,
  accountId: string,
  symbols: SymbolSpec[],
  now: number,
): Promise<void> {
  await db.deleteFrom('account_symbols').where('account_id', '=', accountId).execute();
  const unique = new Map(symbols.map((s) => [s.symbol, s]));
  const rows = [...unique.values()].map((s) => ({
    account_id: accountId,
    symbol: s.symbol,
    spec: JSON.stringify(s),
    updated_at: now,
  }));
  // Chunked: SQLite limits bound parameters per statement.
  for (let i = 0; i < rows.length; i += 200)
    await db
      .insertInto('account_symbols')
      .values(rows.slice(i, i + 200))
      .execute();
}

export async function getTelemetry(db: Db, accountId: string): Promise<AccountTelemetryTable | undefined> {
  return db
    .selectFrom('account_telemetry')
    .selectAll()
    .where('account_id', '=', accountId)
    .executeTakeFirst();
}

export async function getSymbolCatalog(db: Db, accountId: string): Promise<Map<string, SymbolSpec>> {
  const rows = await db
    .selectFrom('account_symbols')
    .select(['symbol', 'spec'])
    .where('account_id', '=', accountId)
    .execute();
  return new Map(rows.map((r) => [r.symbol, JSON.parse(r.spec) as SymbolSpec]));
}

/**
 * The latest event of a type, by when it was captured: a snapshot retried after a lost answer
 * must not count as newer than the trade reports that overtook it. `capturedAt` is the EA's
 * time, never later than arrival (an EA clock running ahead falls back to arrival).
 */
export async function latestInbox(
  db: Db,
  accountId: string,
  eventType: string,
): Promise<{ payload: unknown; receivedAt: number; capturedAt: number } | undefined> {
  const row = await db
    .selectFrom('inbox_events')
    .select(['payload', 'received_at', 'occurred_at'])
    .where('account_id', '=', accountId)
    .where('event_type', '=', eventType)
    .orderBy('occurred_at', 'desc')
    .orderBy('received_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row
    ? {
        payload: JSON.parse(row.payload),
        receivedAt: Number(row.received_at),
        capturedAt: Math.min(Number(row.received_at), Number(row.occurred_at)),
      }
    : undefined;
}

/** One symbol's specification in an account's catalog. */
export async function getSymbolSpec(
  db: Db,
  accountId: string,
  symbol: string,
): Promise<SymbolSpec | undefined> {
  const row = await db
    .selectFrom('account_symbols')
    .select('spec')
    .where('account_id', '=', accountId)
    .where('symbol', '=', symbol)
    .executeTakeFirst();
  return row ? (JSON.parse(row.spec) as SymbolSpec) : undefined;
}

/** Catalog rows grouped by account: symbol → specification. */
function specsByAccount(
  rows: ReadonlyArray<{ account_id: string; symbol: string; spec: string }>,
): Map<string, Map<string, SymbolSpec>> {
  const out = new Map<string, Map<string, SymbolSpec>>();
  for (const row of rows) {
    const m = out.get(row.account_id) ?? new Map<string, SymbolSpec>();
    m.set(row.symbol, JSON.parse(row.spec) as SymbolSpec);
    out.set(row.account_id, m);
  }
  return out;
}

/** The specifications of `symbols` in the catalogs of `accountIds`, per account. */
export async function symbolSpecsOf(
  db: Db,
  accountIds: string[],
  symbols: string[],
): Promise<Map<string, Map<string, SymbolSpec>>> {
  if (accountIds.length === 0 || symbols.length === 0) return new Map();
  const rows = await db
    .selectFrom('account_symbols')
    .select(['account_id', 'symbol', 'spec'])
    .where('account_id', 'in', accountIds)
    .where('symbol', 'in', symbols)
    .execute();
  return specsByAccount(rows);
}

const likeEscape = (term: string) => term.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The symbols of the accounts' catalogs whose names contain one of `terms` (ignoring case),
 * with their specifications: the candidates automatic symbol resolution picks from, without
 * loading whole catalogs on every signal.
 */
export async function symbolsMatching(
  db: Db,
  accountIds: string[],
  terms: string[],
): Promise<Map<string, Map<string, SymbolSpec>>> {
  if (accountIds.length === 0 || terms.length === 0) return new Map();
  const rows = await db
    .selectFrom('account_symbols')
    .select(['account_id', 'symbol', 'spec'])
    .where('account_id', 'in', accountIds)
    .where((eb) =>
      eb.or(
        terms.map((t) =>
          eb(sql`upper(symbol)`, 'like', sql<string>`${`%${likeEscape(t.toUpperCase())}%`} escape '\\'`),
        ),
      ),
    )
    .execute();
  return specsByAccount(rows);
}

/** Which of `accountIds` have sent a symbol catalog. */
export async function accountsWithCatalog(db: Db, accountIds: string[]): Promise<Set<string>> {
  if (accountIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('account_symbols')
    .select('account_id')
    .distinct()
    .where('account_id', 'in', accountIds)
    .execute();
  return new Set(rows.map((r) => r.account_id));
}

/** Latest balance, equity and init payload of each of `accountIds`. */
export async function telemetryOf(
  db: Db,
  accountIds: string[],
): Promise<Array<Pick<AccountTelemetryTable, 'account_id' | 'balance' | 'equity' | 'last_init'>>> {
  if (accountIds.length === 0) return [];
  return db
    .selectFrom('account_telemetry')
    .select(['account_id', 'balance', 'equity', 'last_init'])
    .where('account_id', 'in', accountIds)
    .execute();
}

/** Whether a terminal's last `ea.init` said its account nets positions (MT5 netting). */
export const nettingFromInit = (lastInit: string | null | undefined): boolean =>
  lastInit ? (JSON.parse(lastInit) as { marginMode?: string }).marginMode === 'netting' : false;

/** Execution notices the accounts' terminals reported since `since` (outcomes of manual orders). */
export const executionNoticesSince = (db: Db, accountIds: string[], since: number) =>
  db
    .selectFrom('inbox_events')
    .select(['payload', 'received_at'])
    .where('event_type', '=', 'ea.execution_notice')
    .where('account_id', 'in', accountIds)
    .where('received_at', '>=', since)
    .execute();

/**
 * Bytes of telemetry payload an account stored through sessions that were never approved
 * (what a pending terminal has taken so far).
 */
export async function unapprovedTelemetryBytes(db: Db, dialect: Dialect, accountId: string): Promise<number> {
  const size =
    dialect === 'postgres'
      ? sql<number>`octet_length(e.payload)`
      : sql<number>`length(cast(e.payload as blob))`;
  const row = await db
    .selectFrom('inbox_events as e')
    .innerJoin('sessions as s', 's.session_id', 'e.session_id')
    .select((eb) => eb.fn.sum<number | string | null>(size).as('bytes'))
    .where('e.account_id', '=', accountId)
    .where('s.authenticated_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.bytes ?? 0);
}

/** Serialises a pending account's telemetry writes for the rest of the transaction (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already does). */
export async function lockAccountTelemetry(db: Db, dialect: Dialect, accountId: string): Promise<void> {
  if (dialect === 'postgres')
    await sql`select pg_advisory_xact_lock(7346023, hashtext(${accountId}))`.execute(db);
}
