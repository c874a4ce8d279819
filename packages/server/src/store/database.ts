/**
 * Opens the database chosen by configuration — SQLite (embedded default) or PostgreSQL —
 * as one Kysely instance, and runs the migration history.
 */
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  sql,
  type DatabaseConnection,
  type Dialect as KyselyDialect,
  type SqliteDialectConfig,
} from 'kysely';
import type { DB } from './schema.js';
import { KopitraMigrations } from './migrations.js';
import { enableGroupCommit } from './transaction.js';

export type Dialect = 'sqlite' | 'postgres';

export type DatabaseTarget =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; url: string; schema?: string; poolSize?: number };

/** Told about a PostgreSQL connection that broke (a restart, a failover, an idle kill). */
export type ConnectionErrorHandler = (err: Error) => void;

export interface Database {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  readonly target: DatabaseTarget;
  /** A fresh pg client for LISTEN (PostgreSQL only). */
  connectListener?: () => Promise<pg.Client>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * SQLite's default `BEGIN` takes the write lock lazily, and a reader upgrading to a writer
 * fails at once with SQLITE_BUSY when another process (the `kopitra` CLI) writes.
 * `BEGIN IMMEDIATE` takes it up front, so the busy timeout applies instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  // SQLITE_FULL and some I/O errors roll the transaction back by themselves: a second rollback
  // would fail and hide the error that matters (the disk is full) behind "no transaction".
  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } catch (err) {
      if (!/no transaction is active/.test((err as Error).message)) throw err;
    }
  }
}

class ImmediateSqliteDialect implements KyselyDialect {
  constructor(private readonly config: SqliteDialectConfig) {}
  createDriver() {
    return new ImmediateSqliteDriver(this.config);
  }
  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }
  createAdapter() {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}

// BIGINT (epoch ms, sequences) fits a JS number for the next 285,000 years.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Kysely prepares every query anew; preparing is a third of an idle poll's cost. The hot
 * queries are few and their SQL text is stable, so prepared statements are reused.
 */
function cachingStatements(native: BetterSqlite3.Database): SqliteDialectConfig['database'] {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => native.close(),
    prepare: (text: string) => {
      let statement = cache.get(text);
      if (!statement) {
        statement = native.prepare(text);
        // Bulk inserts produce many distinct texts; keep the cache bounded.
        if (cache.size >= 500) cache.delete(cache.keys().next().value as string);
        cache.set(text, statement);
      }
      return statement;
    },
  } as SqliteDialectConfig['database'];
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const native = new BetterSqlite3(file);
  native.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a committed transaction survives the process being killed (it is in
  // the WAL, in the OS cache); only a power cut can lose the last commits.
  native.pragma('synchronous = NORMAL');
  native.pragma('busy_timeout = 5000');
  // A fan-out touches a few index pages per follower in each of copy_orders' and
  // outbox_events' indexes; SQLite's default 2 MB page cache is outgrown at ~100 followers and
  // every signal then re-reads pages through the OS. 64 MB keeps them (it is a ceiling, not
  // an allocation).
  native.pragma('cache_size = -65536');
  // A signal to 100 followers dirties some 700 index pages (each follower's spot in a handful
  // of per-follower indexes), and the same pages again on the next signal. The default
  // checkpoint every 1000 WAL pages copied them back into the database file after nearly
  // every signal; every 16,384 pages (64 MB) a checkpoint writes each hot page once for many
  // signals. The WAL file is truncated back to that size after a checkpoint.
  native.pragma('wal_autocheckpoint = 16384');
  native.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
  native.pragma('foreign_keys = ON');
  const db = new Kysely<DB>({ dialect: new ImmediateSqliteDialect({ database: cachingStatements(native) }) });
  enableGroupCommit(db);
  return {
    db,
    dialect: 'sqlite',
    target: { dialect: 'sqlite', file },
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

function pgConfig(target: Extract<DatabaseTarget, { dialect: 'postgres' }>): pg.ClientConfig {
  return {
    connectionString: target.url,
    ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
  };
}

async function openPostgres(
  target: Extract<DatabaseTarget, { dialect: 'postgres' }>,
  onConnectionError: ConnectionErrorHandler,
): Promise<Database> {
  if (target.schema) {
    if (!/^[a-z_][a-z0-9_]*$/.test(target.schema)) throw new Error(`invalid schema name ${target.schema}`);
    const admin = new pg.Client({ connectionString: target.url });
    await admin.connect();
    try {
      await admin.query(`create schema if not exists ${target.schema}`);
    } finally {
      await admin.end();
    }
  }
  const pool = new pg.Pool({ ...pgConfig(target), max: target.poolSize ?? 10 });
  // A broken connection is an event, not a crash: idle clients report through the pool,
  // checked-out ones on themselves (their query fails and the pool drops them on release).
  // New connections are made on demand, so the pool heals once PostgreSQL answers again.
  pool.on('error', onConnectionError);
  pool.on('connect', (client) => client.on('error', onConnectionError));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    target,
    connectListener: async () => {
      const client = new pg.Client(pgConfig(target));
      await client.connect();
      return client;
    },
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

export async function openDatabase(
  target: DatabaseTarget,
  onConnectionError: ConnectionErrorHandler = () => undefined,
): Promise<Database> {
  return target.dialect === 'sqlite' ? openSqlite(target.file) : openPostgres(target, onConnectionError);
}

/**
 * Applies pending migrations in order, each in its own transaction, under a lock so replicas
 * starting together migrate once. (Kysely's Migrator introspects every schema of the
 * database, which races with other schemas being dropped; this runner touches only its own.)
 */
export async function migrate(database: Database): Promise<string[]> {
  const db = database.db as unknown as Kysely<Record<string, { name: string; applied_at: number }>>;
  await sql`create table if not exists kopitra_migrations (name text primary key, applied_at bigint not null)`.execute(
    db,
  );
  const applied: string[] = [];
  await db.transaction().execute(async (trx) => {
    // Serialise concurrent migrators: SQLite's BEGIN IMMEDIATE already holds the write lock.
    if (database.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7346021)`.execute(trx);
    const done = new Set(
      (await sql<{ name: string }>`select name from kopitra_migrations`.execute(trx)).rows.map((r) => r.name),
    );
    const migrations = await new KopitraMigrations(database.dialect).getMigrations();
    for (const [name, migration] of Object.entries(migrations).sort(([a], [b]) => a.localeCompare(b))) {
      if (done.has(name)) continue;
      await migration.up(trx);
      await sql`insert into kopitra_migrations (name, applied_at) values (${name}, ${Date.now()})`.execute(
        trx,
      );
      applied.push(name);
    }
  });
  return applied;
}
