/**
 * The one migration history, written with Kysely's schema builder so the same steps run on
 * SQLite and PostgreSQL. Never edit a shipped migration; add a new one.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './database.js';

type Step = (db: Kysely<unknown>, dialect: Dialect) => Promise<void>;

const initial: Step = async (db, dialect) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('accounts')
    .addColumn('account_id', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text')
    .addColumn('platform', 'text')
    .addColumn('broker', 'text')
    .addColumn('server', 'text')
    .addColumn('currency', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('session_policy', 'text', (c) => c.notNull())
    .addColumn('registered_by', 'text', (c) => c.notNull())
    .addColumn('last_sequence', ms, (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('account_keys')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('expires_at', ms)
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', ms)
    .addColumn('decision_reason', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('account_keys_pk', ['account_id', 'fingerprint'])
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('session_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
    .addColumn('key_fingerprint', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('platform', 'text', (c) => c.notNull())
    .addColumn('ea_version', 'text', (c) => c.notNull())
    .addColumn('terminal_build', 'integer', (c) => c.notNull())
    .addColumn('broker', 'text')
    .addColumn('server', 'text')
    .addColumn('client_ip', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_reason', 'text')
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('lease_expires_at', ms, (c) => c.notNull())
    .addColumn('lease_renewed_at', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('authenticated_at', ms)
    .addColumn('ended_at', ms)
    .execute();
  // The database itself guarantees one live session per account, across replicas.
  await sql`create unique index sessions_one_live_per_account on sessions (account_id) where status in ('pending', 'authenticated')`.execute(db);
  await db.schema.createIndex('sessions_by_status_lease').on('sessions').columns(['status', 'lease_expires_at']).execute();

  await db.schema
    .createTable('outbox_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
    .addColumn('sequence', ms, (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('target_session_id', 'text')
    .addColumn('occurred_at', ms, (c) => c.notNull())
    .addColumn('delivered_at', ms)
    .addColumn('acked_at', ms)
    .addColumn('acked_by_session', 'text')
    .addUniqueConstraint('outbox_events_account_sequence', ['account_id', 'sequence'])
    .execute();
  await sql`create index outbox_events_unacked on outbox_events (account_id, sequence) where acked_at is null`.execute(db);

  await db.schema
    .createTable('inbox_events')
    .addColumn('inbox_event_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('occurred_at', ms, (c) => c.notNull())
    .addColumn('received_at', ms, (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inbox_events_by_account_type').on('inbox_events').columns(['account_id', 'event_type', 'received_at']).execute();

  await db.schema
    .createTable('account_telemetry')
    .addColumn('account_id', 'text', (c) => c.primaryKey())
    .addColumn('balance', 'double precision')
    .addColumn('equity', 'double precision')
    .addColumn('margin', 'double precision')
    .addColumn('free_margin', 'double precision')
    .addColumn('open_positions', 'integer')
    .addColumn('latency_ms', 'double precision')
    .addColumn('autotrade_enabled', 'integer')
    .addColumn('last_heartbeat_at', ms)
    .addColumn('last_init', 'text')
    .addColumn('last_status_summary', 'text')
    .addColumn('last_sync_snapshot_at', ms)
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('account_symbols')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('account_symbols_pk', ['account_id', 'symbol'])
    .execute();

  await db.schema
    .createTable('idempotency_keys')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('route', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['account_id', 'idempotency_key'])
    .execute();

  await db.schema
    .createTable('bus_messages')
    .addColumn('position', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('published_at', ms, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('bus_messages_by_topic').on('bus_messages').columns(['topic', 'position']).execute();

  await db.schema
    .createTable('bus_subscriptions')
    .addColumn('subscription', 'text', (c) => c.notNull())
    .addColumn('topic', 'text', (c) => c.notNull())
    .addColumn('last_position', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('bus_subscriptions_pk', ['subscription', 'topic'])
    .execute();

  await db.schema
    .createTable('kv')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
};

const steps: Record<string, Step> = {
  '0001_initial': initial,
};

export const migrationNames = Object.keys(steps);

export class KopitraMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(steps).map(([name, step]) => [name, { up: (db: Kysely<unknown>) => step(db, this.dialect) }]),
    );
  }
}
