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
  await sql`create unique index sessions_one_live_per_account on sessions (account_id) where status in ('pending', 'authenticated')`.execute(
    db,
  );
  await db.schema
    .createIndex('sessions_by_status_lease')
    .on('sessions')
    .columns(['status', 'lease_expires_at'])
    .execute();

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
  await sql`create index outbox_events_unacked on outbox_events (account_id, sequence) where acked_at is null`.execute(
    db,
  );

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
  await db.schema
    .createIndex('inbox_events_by_account_type')
    .on('inbox_events')
    .columns(['account_id', 'event_type', 'received_at'])
    .execute();

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
  await db.schema
    .createIndex('bus_messages_by_topic')
    .on('bus_messages')
    .columns(['topic', 'position'])
    .execute();

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

const copyEngine: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('copy_groups')
    .addColumn('group_id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('master_account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('copy_groups_by_master')
    .on('copy_groups')
    .column('master_account_id')
    .execute();

  await db.schema
    .createTable('subscriptions')
    .addColumn('group_id', 'text', (c) => c.notNull().references('copy_groups.group_id'))
    .addColumn('follower_account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('subscriptions_pk', ['group_id', 'follower_account_id'])
    .execute();
  await db.schema
    .createIndex('subscriptions_by_follower')
    .on('subscriptions')
    .column('follower_account_id')
    .execute();

  await db.schema
    .createTable('signals')
    .addColumn('signal_id', 'text', (c) => c.primaryKey())
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('client_signal_id', 'text')
    .addColumn('deal_ticket', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('master_position_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('volume', 'double precision', (c) => c.notNull())
    .addColumn('remaining_volume', 'double precision')
    .addColumn('price', 'double precision', (c) => c.notNull())
    .addColumn('sl', 'double precision')
    .addColumn('tp', 'double precision')
    .addColumn('magic', 'bigint')
    .addColumn('comment', 'text')
    .addColumn('occurred_at', ms, (c) => c.notNull())
    .addColumn('received_at', ms, (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .execute();
  await sql`create unique index signals_client_id on signals (master_account_id, client_signal_id) where client_signal_id is not null`.execute(
    db,
  );
  await sql`create unique index signals_deal_ticket on signals (master_account_id, deal_ticket) where deal_ticket is not null`.execute(
    db,
  );
  await db.schema
    .createIndex('signals_by_position')
    .on('signals')
    .columns(['master_account_id', 'master_position_id'])
    .execute();

  await db.schema
    .createTable('copy_orders')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .addColumn('signal_id', 'text')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('follower_account_id', 'text', (c) => c.notNull())
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('master_position_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('detail', 'text')
    .addColumn('symbol', 'text')
    .addColumn('side', 'text')
    .addColumn('volume', 'double precision')
    .addColumn('sl', 'double precision')
    .addColumn('tp', 'double precision')
    .addColumn('master_price', 'double precision')
    .addColumn('ticket', 'text')
    .addColumn('fill_price', 'double precision')
    .addColumn('filled_volume', 'double precision')
    .addColumn('slippage_points', 'double precision')
    .addColumn('slippage_amount', 'double precision')
    .addColumn('profit', 'double precision')
    .addColumn('error_code', 'text')
    .addColumn('message', 'text')
    .addColumn('outbox_event_id', 'text')
    .addColumn('master_deal_at', ms)
    .addColumn('signal_received_at', ms)
    .addColumn('written_at', ms, (c) => c.notNull())
    .addColumn('delivered_at', ms)
    .addColumn('acknowledged_at', ms)
    .addColumn('executed_at', ms)
    .addColumn('reported_at', ms)
    .addColumn('expires_at', ms)
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  // A repeated signal can never create a second copy order for the same subscription.
  await sql`create unique index copy_orders_one_per_signal on copy_orders (signal_id, group_id, follower_account_id) where signal_id is not null`.execute(
    db,
  );
  await db.schema
    .createIndex('copy_orders_by_outbox_event')
    .on('copy_orders')
    .column('outbox_event_id')
    .execute();
  await db.schema
    .createIndex('copy_orders_by_follower')
    .on('copy_orders')
    .columns(['follower_account_id', 'written_at'])
    .execute();
  await db.schema
    .createIndex('copy_orders_by_position')
    .on('copy_orders')
    .columns(['group_id', 'follower_account_id', 'master_position_id'])
    .execute();

  await db.schema
    .createTable('position_links')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('follower_account_id', 'text', (c) => c.notNull())
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('master_position_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('ticket', 'text')
    .addColumn('open_volume', 'double precision', (c) => c.notNull())
    .addColumn('master_volume', 'double precision')
    .addColumn('sl', 'double precision')
    .addColumn('tp', 'double precision')
    .addColumn('master_price', 'double precision', (c) => c.notNull())
    .addColumn('signal_at', ms, (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('open_order_id', 'text', (c) => c.notNull())
    .addColumn('linked_at', ms)
    .addColumn('opened_at', ms, (c) => c.notNull())
    .addColumn('closed_at', ms)
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('position_links_pk', ['group_id', 'follower_account_id', 'master_position_id'])
    .execute();
  await db.schema
    .createIndex('position_links_by_master_position')
    .on('position_links')
    .columns(['master_account_id', 'master_position_id'])
    .execute();
  await db.schema
    .createIndex('position_links_by_follower')
    .on('position_links')
    .columns(['follower_account_id', 'status'])
    .execute();

  await db.schema
    .createTable('alerts')
    .addColumn('alert_id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text')
    .addColumn('group_id', 'text')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('dedupe_key', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('acked_at', ms)
    .addColumn('acked_by', 'text')
    .execute();
  await sql`create unique index alerts_open_dedupe on alerts (dedupe_key) where acked_at is null`.execute(db);
};

const riskLimits: Step = async (db) => {
  const ms = 'bigint' as const;
  // Minute buckets of balance and equity: enough to find a period's start value and peak
  // without keeping every heartbeat.
  await db.schema
    .createTable('account_metric_minutes')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('minute', ms, (c) => c.notNull())
    .addColumn('balance', 'double precision', (c) => c.notNull())
    .addColumn('equity', 'double precision', (c) => c.notNull())
    .addColumn('peak_balance', 'double precision', (c) => c.notNull())
    .addColumn('peak_equity', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('account_metric_minutes_pk', ['account_id', 'minute'])
    .execute();
  await db.schema
    .createTable('stop_outs')
    .addColumn('stop_out_id', 'text', (c) => c.primaryKey())
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('follower_account_id', 'text', (c) => c.notNull())
    .addColumn('limit_key', 'text', (c) => c.notNull())
    .addColumn('period', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('reset_at', ms)
    .addColumn('reset_by', 'text')
    .execute();
  await db.schema
    .createIndex('stop_outs_by_subscription')
    .on('stop_outs')
    .columns(['follower_account_id', 'group_id'])
    .execute();
};

const management: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('users')
    .addColumn('user_id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('last_login_at', ms)
    .execute();
  await db.schema
    .createTable('operator_tokens')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', ms, (c) => c.notNull())
    .addColumn('expires_at', ms, (c) => c.notNull())
    .addColumn('revoked_at', ms)
    .execute();
  await db.schema
    .createTable('audit_log')
    .addColumn('audit_id', 'text', (c) => c.primaryKey())
    .addColumn('at', ms, (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .addColumn('message_id', 'text', (c) => c.unique())
    .execute();
  await db.schema.createIndex('audit_log_by_time').on('audit_log').columns(['at', 'audit_id']).execute();
  await db.schema
    .createTable('task_runs')
    .addColumn('run_id', 'text', (c) => c.primaryKey())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('progress', 'double precision', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('correlation_id', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('started_at', ms)
    .addColumn('finished_at', ms)
    .execute();
};

const webhooks: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('webhooks')
    .addColumn('webhook_id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('event_types', 'text', (c) => c.notNull())
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('delivery_id', 'text', (c) => c.primaryKey())
    .addColumn('webhook_id', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', ms, (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('delivered_at', ms)
    .addUniqueConstraint('webhook_deliveries_once', ['webhook_id', 'message_id'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
};

const staleOpensIndex: Step = async (db) => {
  // Every poll looks for opens that expired undelivered; only those rows belong in the index.
  await sql`create index copy_orders_waiting_opens on copy_orders (follower_account_id, expires_at) where kind = 'open' and status in ('queued', 'delivered')`.execute(
    db,
  );
};

const reversalDeals: Step = async (db) => {
  // One netting reversal deal is both a close and an open: a deal ticket repeats only across types.
  await sql`drop index signals_deal_ticket`.execute(db);
  await sql`create unique index signals_deal_ticket_type on signals (master_account_id, deal_ticket, type) where deal_ticket is not null`.execute(
    db,
  );
};

const magicText: Step = async (db) => {
  // MT5 magic numbers are unsigned 64-bit: neither a signed bigint nor SQLite's integer holds them all.
  await sql`alter table signals add column magic_text text`.execute(db);
  await sql`update signals set magic_text = cast(magic as text) where magic is not null`.execute(db);
  await sql`alter table signals drop column magic`.execute(db);
  await sql`alter table signals rename column magic_text to magic`.execute(db);
};

const jobs: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('jobs')
    .addColumn('job_id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    // Several NULLs are allowed on both dialects; a key given twice is one unit.
    .addColumn('unique_key', 'text', (c) => c.unique())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_at', ms, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('lease_expires_at', ms)
    .addColumn('last_error', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addColumn('finished_at', ms)
    .execute();
  // A claim looks for queued units that are due and running units whose lease has lapsed.
  await sql`create index jobs_due on jobs (run_at) where state = 'queued'`.execute(db);
  await sql`create index jobs_leases on jobs (lease_expires_at) where state = 'running'`.execute(db);
  await sql`create index jobs_finished on jobs (finished_at) where state in ('done', 'dead')`.execute(db);
};

const idempotencyRequestHash: Step = async (db) => {
  // The same key with a different body is refused (422), so the body's hash is kept with the key.
  await db.schema.alterTable('idempotency_keys').addColumn('request_hash', 'text').execute();
};

const busCommitOrder: Step = async (db, dialect) => {
  // Positions come from a sequence and can commit out of order on PostgreSQL: a reader that
  // trusts them skips the late committer. Each message records the id of the transaction that
  // wrote it; readers order by (tx, position) and read only transactions older than every one
  // still running, so nothing can commit behind them. SQLite has one writer at a time and
  // leaves tx at 0, where position order is commit order.
  await db.schema
    .alterTable('bus_messages')
    .addColumn('tx', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  if (dialect === 'postgres')
    await sql`alter table bus_messages alter column tx set default txid_current()`.execute(db);
  await db.schema
    .alterTable('bus_subscriptions')
    .addColumn('last_tx', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('bus_messages_by_topic_tx')
    .on('bus_messages')
    .columns(['topic', 'tx', 'position'])
    .execute();
  await db.schema.dropIndex('bus_messages_by_topic').execute();
};

const webhookStatus: Step = async (db) => {
  // Operators pause a webhook without losing its secret: a disabled one gets no new deliveries.
  await db.schema
    .alterTable('webhooks')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
    .execute();
};

/**
 * Copy orders carry the master EA's own signal id and deal ticket, so an operator can find
 * the copies of a trade by what the master's terminal shows; existing rows take them from
 * their signal.
 */
const copyOrderMasterRefs: Step = async (db) => {
  await db.schema.alterTable('copy_orders').addColumn('master_signal_id', 'text').execute();
  await db.schema.alterTable('copy_orders').addColumn('master_deal_ticket', 'text').execute();
  await sql`update copy_orders set
      master_signal_id = (select s.client_signal_id from signals s where s.signal_id = copy_orders.signal_id),
      master_deal_ticket = (select s.deal_ticket from signals s where s.signal_id = copy_orders.signal_id)
    where signal_id is not null`.execute(db);
  await sql`create index copy_orders_by_master_signal on copy_orders (master_signal_id) where master_signal_id is not null`.execute(
    db,
  );
  await sql`create index copy_orders_by_master_deal on copy_orders (master_deal_ticket) where master_deal_ticket is not null`.execute(
    db,
  );
};

const taskRunReports: Step = async (db) => {
  // A finished export is a file in the report store, not inline JSON on the run.
  await db.schema.alterTable('task_runs').addColumn('report_name', 'text').execute();
  await db.schema.alterTable('task_runs').addColumn('report_size', 'integer').execute();
  await db.schema.alterTable('task_runs').addColumn('report_content_type', 'text').execute();
  await sql`create index task_runs_reports on task_runs (finished_at) where report_name is not null`.execute(
    db,
  );
};

/**
 * Traces: a copy order and its outbox event keep the trace context of the signal's fan-out, so
 * the follower's poll, acknowledgement and execution report — later, on any replica — continue
 * that trace; a bus message keeps its publisher's context for the consumer.
 */
const traceContext: Step = async (db) => {
  await db.schema.alterTable('outbox_events').addColumn('trace_context', 'text').execute();
  await db.schema.alterTable('copy_orders').addColumn('trace_context', 'text').execute();
  await db.schema.alterTable('bus_messages').addColumn('headers', 'text').execute();
};

/**
 * Stream tickets: the console opens its live stream with a short-lived, single-use ticket
 * instead of its token in the URL. Only a hash is kept; the row is bound to the operator token
 * it was issued under, so revoking the token ends the ticket too.
 */
const streamTickets: Step = async (db) => {
  await db.schema
    .createTable('stream_tickets')
    .addColumn('ticket_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('stream_tickets_by_expiry').on('stream_tickets').column('expires_at').execute();
};

/**
 * Keys a terminal registered by itself remember the address (an IPv6 address's /64) they came
 * from, so pending registrations can be capped per address; existing ones count as unknown.
 */
const pendingRegistrations: Step = async (db) => {
  await db.schema.alterTable('account_keys').addColumn('registered_from', 'text').execute();
  await sql`create index account_keys_pending_by_address on account_keys (registered_from) where status = 'pending'`.execute(
    db,
  );
};

/**
 * A copy order's `reason` is a code of the reason catalogue, never free text: the texts
 * earlier versions wrote (a close's note, an orphan) become their codes; a text with
 * specifics in it moves to `detail`.
 */
const codedReasons: Step = async (db) => {
  const renamed = [
    ['orphan', 'orphan_position'],
    ['operator close', 'operator_close'],
    ['risk limit close_all', 'risk_limit_close_all'],
    ['master closed all of its position', 'master_closed_all'],
  ] as const;
  for (const [text, code] of renamed)
    await sql`update copy_orders set reason = ${code} where reason = ${text}`.execute(db);
  await sql`update copy_orders set detail = coalesce(detail, reason), reason = 'rest_below_minimum'
    where reason like 'the rest (%'`.execute(db);
};

/**
 * The master's book as its signals tell it: one row per position it holds, kept in the
 * transaction that accepts each signal. A follower joining late is offered these positions.
 * Existing positions are taken from the signals already stored (volume after partial closes,
 * levels of the latest modification).
 */
const masterPositions: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('master_positions')
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('master_position_id', 'text', (c) => c.notNull())
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('volume', 'double precision', (c) => c.notNull())
    .addColumn('open_price', 'double precision', (c) => c.notNull())
    .addColumn('sl', 'double precision')
    .addColumn('tp', 'double precision')
    .addColumn('magic', 'text')
    .addColumn('opened_at', ms, (c) => c.notNull())
    .addColumn('received_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('master_positions_pk', ['master_account_id', 'master_position_id'])
    .execute();
  const later = (type: string, column: string) =>
    `(select x.${column} from signals x where x.master_account_id = o.master_account_id
        and x.master_position_id = o.master_position_id and x.type = '${type}'
        and x.${column} is not null order by x.occurred_at desc, x.received_at desc limit 1)`;
  await sql
    .raw(
      `insert into master_positions (master_account_id, master_position_id, symbol, side, volume,
         open_price, sl, tp, magic, opened_at, received_at, updated_at)
       select o.master_account_id, o.master_position_id, o.symbol, o.side,
         coalesce(${later('position.partially_closed', 'remaining_volume')},
           o.volume - coalesce((select sum(p.volume) from signals p where p.master_account_id = o.master_account_id
             and p.master_position_id = o.master_position_id and p.type = 'position.partially_closed'), 0)),
         o.price, coalesce(${later('position.modified', 'sl')}, o.sl), coalesce(${later('position.modified', 'tp')}, o.tp),
         o.magic, o.occurred_at, o.received_at, o.received_at
       from signals o
       where o.type = 'position.opened'
         and not exists (select 1 from signals c where c.master_account_id = o.master_account_id
           and c.master_position_id = o.master_position_id and c.type = 'position.closed')
       on conflict (master_account_id, master_position_id) do nothing`,
    )
    .execute(db);
};

/**
 * External signal sources: an account whose signals arrive on `POST /api/signals/{accountId}`
 * (a "virtual master", e.g. TradingView alerts) has a secret, sealed under the instance secret
 * because HMAC signatures need it in the clear to verify.
 */
const signalSources: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('signal_sources')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.account_id'))
    .addColumn('secret_enc', 'text', (c) => c.notNull())
    .addColumn('rotated_by', 'text', (c) => c.notNull())
    .addColumn('rotated_at', ms, (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .execute();
};

/**
 * Fan-outs written in more than one transaction: one row per signal whose copy orders are not
 * all written yet (deleted with its last batch). `seq` orders a master's fan-outs (a later
 * signal waits for the earlier ones, so no follower sees them overtake each other); the
 * cursor is the last subscription written, in the order fan-out reads them.
 */
const fanouts: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('fanouts')
    .addColumn('signal_id', 'text', (c) => c.primaryKey())
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('after_group_id', 'text')
    .addColumn('after_follower_id', 'text')
    .addColumn('batches', 'integer', (c) => c.notNull())
    .addColumn('orders', 'integer', (c) => c.notNull())
    .addColumn('trace_context', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('fanouts_by_master')
    .on('fanouts')
    .columns(['master_account_id', 'seq'])
    .unique()
    .execute();
};

/**
 * The follower's copies of the master's pending orders: one row per subscription and master
 * order, kept with the copy orders that place, move and cancel it. A filled copy moves on to
 * a position link (`filled`, with the position's ticket).
 */
const orderLinks: Step = async (db) => {
  const ms = 'bigint' as const;
  await db.schema
    .createTable('order_links')
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('follower_account_id', 'text', (c) => c.notNull())
    .addColumn('master_account_id', 'text', (c) => c.notNull())
    .addColumn('master_order_id', 'text', (c) => c.notNull())
    .addColumn('master_position_id', 'text')
    .addColumn('symbol', 'text', (c) => c.notNull())
    .addColumn('side', 'text', (c) => c.notNull())
    .addColumn('order_type', 'text', (c) => c.notNull())
    .addColumn('volume', 'double precision', (c) => c.notNull())
    .addColumn('master_volume', 'double precision', (c) => c.notNull())
    .addColumn('price', 'double precision', (c) => c.notNull())
    .addColumn('stop_limit_price', 'double precision')
    .addColumn('sl', 'double precision')
    .addColumn('tp', 'double precision')
    .addColumn('order_expires_at', ms)
    .addColumn('ticket', 'text')
    .addColumn('position_ticket', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('place_order_id', 'text', (c) => c.notNull())
    .addColumn('signal_at', ms, (c) => c.notNull())
    .addColumn('linked_at', ms)
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('order_links_pk', ['group_id', 'follower_account_id', 'master_order_id'])
    .execute();
  await db.schema
    .createIndex('order_links_by_master_order')
    .on('order_links')
    .columns(['master_account_id', 'master_order_id'])
    .execute();
  await db.schema
    .createIndex('order_links_by_follower')
    .on('order_links')
    .columns(['follower_account_id', 'status'])
    .execute();
};

/**
 * How many follower positions a link spans: a hedging follower copying a netting master's
 * adds holds one position per add, all carrying the link's tag (`position.increased`).
 */
const linkPositionCount: Step = async (db) => {
  await db.schema
    .alterTable('position_links')
    .addColumn('position_count', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
};

/** The trade server's clock offset from UTC, as the terminal last reported it (risk-limit periods). */
const brokerTime: Step = async (db) => {
  await db.schema.alterTable('account_telemetry').addColumn('server_utc_offset_sec', 'integer').execute();
};

const waitingAddsIndex: Step = async (db) => {
  // Adds expire undelivered as opens do (staleOpens): only those rows belong in the index.
  await sql`create index copy_orders_waiting_adds on copy_orders (follower_account_id, expires_at) where kind = 'increase' and status in ('queued', 'delivered')`.execute(
    db,
  );
};

const steps: Record<string, Step> = {
  '0001_initial': initial,
  '0002_copy_engine': copyEngine,
  '0003_risk_limits': riskLimits,
  '0004_management': management,
  '0005_webhooks': webhooks,
  '0006_waiting_opens_index': staleOpensIndex,
  '0007_reversal_deals': reversalDeals,
  '0008_magic_text': magicText,
  '0009_jobs': jobs,
  '0010_idempotency_request_hash': idempotencyRequestHash,
  '0011_bus_commit_order': busCommitOrder,
  '0012_webhook_status': webhookStatus,
  '0013_copy_order_master_refs': copyOrderMasterRefs,
  '0014_task_run_reports': taskRunReports,
  '0015_trace_context': traceContext,
  '0016_stream_tickets': streamTickets,
  '0017_pending_registrations': pendingRegistrations,
  '0018_coded_reasons': codedReasons,
  '0019_master_positions': masterPositions,
  '0020_signal_sources': signalSources,
  '0021_fanouts': fanouts,
  '0022_order_links': orderLinks,
  '0023_link_position_count': linkPositionCount,
  '0024_broker_time': brokerTime,
  '0025_waiting_adds_index': waitingAddsIndex,
};

export class KopitraMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(steps).map(([name, step]) => [
        name,
        { up: (db: Kysely<unknown>) => step(db, this.dialect) },
      ]),
    );
  }
}
