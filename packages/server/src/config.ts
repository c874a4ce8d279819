/**
 * Configuration, parsed once at boot from the environment into a frozen object. Every
 * problem is reported at once in one readable error.
 */
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { serviceBusTarget, type ServiceBusTarget } from './bus/service-bus/mapping.js';
import { natsTarget, type NatsTarget } from './bus/nats/target.js';
import type { BlobTarget } from './reports/blob-store.js';

const validRange = (text: string): boolean =>
  text.includes('/') ? ipaddr.isValidCIDR(text) : ipaddr.isValid(text);

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const EnvSchema = z.object({
  PORT: intFrom(0, 65535).default(8080),
  KOPITRA_HOST: z.string().min(1).default('0.0.0.0'),
  KOPITRA_DATA_DIR: z.string().min(1).default('./.kopitra'),
  DATABASE_URL: z.string().optional(),
  KOPITRA_HEARTBEAT_INTERVAL_SEC: intFrom(1, 300).default(10),
  KOPITRA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KOPITRA_LOG_REQUESTS: z.enum(['true', 'false', '1', '0']).default('false'),
  KOPITRA_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  KOPITRA_BODY_LIMIT_BYTES: intFrom(1024, 64 * 1024 * 1024).default(1024 * 1024),
  KOPITRA_AUTH_FAILURE_LIMIT: intFrom(1, 10_000).default(10),
  KOPITRA_AUTH_FAILURE_WINDOW_SEC: intFrom(1, 86_400).default(60),
  KOPITRA_BUS_POLL_MS: intFrom(10, 60_000).default(200),
  KOPITRA_PG_POOL_SIZE: intFrom(1, 200).default(10),
  KOPITRA_RECONCILE_INTERVAL_SEC: intFrom(1, 86_400).default(30),
  KOPITRA_ADMIN_EMAIL: z.string().trim().toLowerCase().email().optional(),
  KOPITRA_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  KOPITRA_TOKEN_TTL_SEC: intFrom(60, 30 * 86_400).default(12 * 3600),
  KOPITRA_PENDING_MAX_PER_ADDRESS: intFrom(1, 1_000_000).default(5),
  KOPITRA_PENDING_MAX_TOTAL: intFrom(1, 1_000_000).default(100),
  KOPITRA_PENDING_INBOX_BYTES: intFrom(1024, 64 * 1024 * 1024).default(1024 * 1024),
  KOPITRA_JOBS_POLL_MS: intFrom(10, 60_000).default(1000),
  KOPITRA_JOBS_CONCURRENCY: intFrom(1, 64).default(4),
  KOPITRA_FANOUT_BATCH: intFrom(1, 5000).default(500),
  KOPITRA_RETENTION_INBOX_DAYS: intFrom(1, 36_500).default(30),
  KOPITRA_RETENTION_WEBHOOK_DELIVERIES_DAYS: intFrom(1, 36_500).default(30),
  KOPITRA_RETENTION_JOBS_DAYS: intFrom(1, 36_500).default(7),
  KOPITRA_RETENTION_INTERVAL_SEC: intFrom(60, 7 * 86_400).default(3600),
  KOPITRA_TRUST_PROXY: z.enum(['true', 'false', '1', '0']).default('false'),
  KOPITRA_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KOPITRA_WEBHOOK_ALLOW_PRIVATE: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every(validRange), 'must be a comma-separated list of CIDR ranges'),
  KOPITRA_BUS_URL: z.string().optional(),
  KOPITRA_BUS_NAMESPACE: z.string().default('kopitra'),
  KOPITRA_REPORTS_URL: z.string().optional(),
  KOPITRA_REPORTS_CONTAINER: z
    .string()
    .regex(
      /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
      'must be a Blob Storage container name (3-63 of a-z, 0-9, -)',
    )
    .default('reports'),
  KOPITRA_REPORT_LINK_TTL_SEC: intFrom(10, 86_400).default(300),
  KOPITRA_RETENTION_REPORTS_DAYS: intFrom(1, 36_500).default(30),
  KOPITRA_TRACES: z.enum(['off', 'otlp', '']).optional(),
});

export type BusSetting =
  | { kind: 'embedded' }
  | { kind: 'nats'; target: NatsTarget }
  | { kind: 'service-bus'; target: ServiceBusTarget };

/** Where task reports go: files (default `<data dir>/reports`) or a Blob Storage container. */
export type ReportsSetting = { kind: 'file'; dir: string } | { kind: 'blob'; target: BlobTarget };

/** OpenTelemetry traces: off (the SDK is not even loaded), or exported over OTLP. */
export type TracesSetting = { kind: 'off' } | { kind: 'otlp' };

export type DatabaseSetting = { dialect: 'sqlite'; file: string } | { dialect: 'postgres'; url: string };

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly database: DatabaseSetting;
  readonly bus: BusSetting;
  readonly reports: ReportsSetting;
  readonly traces: TracesSetting;
  /** How long a download link of a report stays valid. */
  readonly reportLinkTtlSec: number;
  readonly heartbeatIntervalSec: number;
  readonly logLevel: z.infer<typeof EnvSchema>['KOPITRA_LOG_LEVEL'];
  /** One info line per HTTP request; refusals and failures are logged either way. */
  readonly logRequests: boolean;
  /** When unset, a random secret is generated once and kept in the database. */
  readonly secret: string | undefined;
  readonly bodyLimitBytes: number;
  readonly authFailureLimit: number;
  readonly authFailureWindowSec: number;
  readonly busPollMs: number;
  readonly pgPoolSize: number;
  readonly trustProxy: boolean;
  /** Bearer token a scraper presents for /metrics; unset serves /metrics to loopback callers only. */
  readonly metricsToken: string | undefined;
  /** CIDR ranges webhooks may reach although they are private, loopback or link-local. */
  readonly webhookAllowPrivate: readonly string[];
  readonly reconcileIntervalSec: number;
  readonly adminEmail: string | undefined;
  readonly adminPassword: string | undefined;
  readonly tokenTtlSec: number;
  /**
   * What terminals nobody approved yet may take: keys waiting for approval per address (an
   * IPv6 address's /64) and in all, and telemetry bytes stored per account while pending.
   */
  readonly pending: {
    readonly maxPerAddress: number;
    readonly maxTotal: number;
    readonly inboxBytes: number;
  };
  /** How often each process looks for due jobs without a wake-up. */
  readonly jobsPollMs: number;
  /** Jobs one process runs at once. */
  readonly jobsConcurrency: number;
  /** Subscriptions one fan-out transaction writes copy orders for; more follow in further ones. */
  readonly fanoutBatch: number;
  /** How long growing tables keep rows (days), and how often the retention job runs. */
  readonly retention: {
    readonly inboxDays: number;
    readonly webhookDeliveriesDays: number;
    readonly jobsDays: number;
    readonly reportsDays: number;
    readonly intervalSec: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `DATABASE_URL`: nothing → SQLite under the data dir; a path or `sqlite:` URL → that file; `postgres://` → PostgreSQL. */
export function resolveDatabase(url: string | undefined, dataDir: string): DatabaseSetting {
  if (url === undefined || url.trim() === '')
    return { dialect: 'sqlite', file: path.resolve(dataDir, 'kopitra.db') };
  if (/^postgres(ql)?:\/\//.test(url)) return { dialect: 'postgres', url };
  if (url.startsWith('sqlite:'))
    return { dialect: 'sqlite', file: path.resolve(url.slice('sqlite:'.length).replace(/^\/\//, '')) };
  if (/^[a-z]+:\/\//i.test(url))
    throw new ConfigError([
      `DATABASE_URL: unsupported scheme in "${url.split(':')[0]}:" (use postgres:// or a file path)`,
    ]);
  return { dialect: 'sqlite', file: path.resolve(url) };
}

/**
 * `KOPITRA_BUS_URL`: nothing → the embedded bus in the database; `nats://host:port[,…]` →
 * NATS JetStream (streams named after `KOPITRA_BUS_NAMESPACE`); a Service Bus connection
 * string or `sb://` namespace → Service Bus.
 */
export function resolveBus(url: string | undefined, namespace = 'kopitra'): BusSetting {
  if (url === undefined || url.trim() === '') return { kind: 'embedded' };
  let target: ServiceBusTarget | null;
  try {
    const nats = natsTarget(url.trim(), namespace);
    if (nats) return { kind: 'nats', target: nats };
    target = serviceBusTarget(url);
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
  if (target) return { kind: 'service-bus', target };
  throw new ConfigError([
    `KOPITRA_BUS_URL: unsupported bus "${url.split(':')[0]}:" (leave unset for the embedded bus, or use nats://host:port, an Azure Service Bus connection string or sb://<namespace>)`,
  ]);
}

/**
 * `KOPITRA_REPORTS_URL`: nothing → files under `<data dir>/reports`; a path or `file:` URL →
 * files there; a storage connection string (`…AccountName=…` or `UseDevelopmentStorage=true`)
 * → Blob Storage with the account key; `https://<account>.blob.core.windows.net[/<container>]`
 * → Blob Storage with the managed identity. The container is the URL's path or
 * `KOPITRA_REPORTS_CONTAINER`.
 */
export function resolveReports(
  url: string | undefined,
  dataDir: string,
  container = 'reports',
): ReportsSetting {
  const value = url?.trim() ?? '';
  if (value === '') return { kind: 'file', dir: path.resolve(dataDir, 'reports') };
  if (/(^|;)\s*(AccountName|UseDevelopmentStorage|BlobEndpoint)=/i.test(value))
    return { kind: 'blob', target: { connectionString: value, container } };
  if (value.startsWith('file:'))
    return { kind: 'file', dir: path.resolve(value.slice(5).replace(/^\/\//, '')) };
  if (/^https?:\/\//i.test(value)) {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError([`KOPITRA_REPORTS_URL: "${value}" is not a URL`]);
    }
    if (parsed.search)
      throw new ConfigError(['KOPITRA_REPORTS_URL: give the account URL without a SAS token']);
    const [first] = parsed.pathname.split('/').filter(Boolean);
    return {
      kind: 'blob',
      target: { accountUrl: `${parsed.protocol}//${parsed.host}`, container: first ?? container },
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value))
    throw new ConfigError([
      `KOPITRA_REPORTS_URL: unsupported store "${value.split(':')[0]}:" (leave unset for files in the data directory, or use a path, a storage connection string or https://<account>.blob.core.windows.net/<container>)`,
    ]);
  return { kind: 'file', dir: path.resolve(value) };
}

/**
 * Traces, following OpenTelemetry's variables: `KOPITRA_TRACES=otlp|off` decides when set;
 * otherwise they are on when `OTEL_TRACES_EXPORTER=otlp` or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and off by
 * default, with `OTEL_SDK_DISABLED=true` or with `OTEL_TRACES_EXPORTER=none`. Spans are sent
 * over HTTP/protobuf; another OTLP protocol is refused rather than silently ignored.
 */
export function resolveTraces(env: Record<string, string | undefined>): TracesSetting {
  const value = (name: string) => env[name]?.trim() ?? '';
  const explicit = value('KOPITRA_TRACES');
  const exporters = value('OTEL_TRACES_EXPORTER')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  let on: boolean;
  if (explicit !== '') on = explicit === 'otlp';
  else if (value('OTEL_SDK_DISABLED').toLowerCase() === 'true') on = false;
  else if (exporters.length > 0) {
    const unsupported = exporters.filter((e) => e !== 'otlp' && e !== 'none');
    if (unsupported.length > 0)
      throw new ConfigError([
        `OTEL_TRACES_EXPORTER: "${unsupported.join(',')}" is not supported (use otlp, or none for no traces)`,
      ]);
    on = exporters.includes('otlp');
  } else
    on = value('OTEL_EXPORTER_OTLP_ENDPOINT') !== '' || value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== '';
  if (!on) return { kind: 'off' };
  const protocol = value('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') || value('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (protocol !== '' && protocol !== 'http/protobuf')
    throw new ConfigError([
      `OTEL_EXPORTER_OTLP_PROTOCOL: "${protocol}" is not supported; traces are sent over http/protobuf (point the endpoint at a collector's OTLP/HTTP port, 4318)`,
    ]);
  return { kind: 'otlp' };
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  if ((e.KOPITRA_ADMIN_EMAIL === undefined) !== (e.KOPITRA_ADMIN_PASSWORD === undefined)) {
    throw new ConfigError(['KOPITRA_ADMIN_EMAIL and KOPITRA_ADMIN_PASSWORD: set both or neither']);
  }
  const dataDir = overrides.dataDir ?? e.KOPITRA_DATA_DIR;
  return Object.freeze({
    port: e.PORT,
    host: e.KOPITRA_HOST,
    dataDir,
    database: resolveDatabase(e.DATABASE_URL, dataDir),
    bus: resolveBus(e.KOPITRA_BUS_URL, e.KOPITRA_BUS_NAMESPACE),
    reports: resolveReports(e.KOPITRA_REPORTS_URL, dataDir, e.KOPITRA_REPORTS_CONTAINER),
    traces: resolveTraces(env),
    reportLinkTtlSec: e.KOPITRA_REPORT_LINK_TTL_SEC,
    heartbeatIntervalSec: e.KOPITRA_HEARTBEAT_INTERVAL_SEC,
    logLevel: e.KOPITRA_LOG_LEVEL,
    logRequests: e.KOPITRA_LOG_REQUESTS === 'true' || e.KOPITRA_LOG_REQUESTS === '1',
    secret: e.KOPITRA_SECRET,
    bodyLimitBytes: e.KOPITRA_BODY_LIMIT_BYTES,
    authFailureLimit: e.KOPITRA_AUTH_FAILURE_LIMIT,
    authFailureWindowSec: e.KOPITRA_AUTH_FAILURE_WINDOW_SEC,
    busPollMs: e.KOPITRA_BUS_POLL_MS,
    pgPoolSize: e.KOPITRA_PG_POOL_SIZE,
    reconcileIntervalSec: e.KOPITRA_RECONCILE_INTERVAL_SEC,
    adminEmail: e.KOPITRA_ADMIN_EMAIL,
    adminPassword: e.KOPITRA_ADMIN_PASSWORD,
    tokenTtlSec: e.KOPITRA_TOKEN_TTL_SEC,
    pending: Object.freeze({
      maxPerAddress: e.KOPITRA_PENDING_MAX_PER_ADDRESS,
      maxTotal: e.KOPITRA_PENDING_MAX_TOTAL,
      inboxBytes: e.KOPITRA_PENDING_INBOX_BYTES,
    }),
    jobsPollMs: e.KOPITRA_JOBS_POLL_MS,
    jobsConcurrency: e.KOPITRA_JOBS_CONCURRENCY,
    fanoutBatch: e.KOPITRA_FANOUT_BATCH,
    retention: Object.freeze({
      inboxDays: e.KOPITRA_RETENTION_INBOX_DAYS,
      webhookDeliveriesDays: e.KOPITRA_RETENTION_WEBHOOK_DELIVERIES_DAYS,
      jobsDays: e.KOPITRA_RETENTION_JOBS_DAYS,
      reportsDays: e.KOPITRA_RETENTION_REPORTS_DAYS,
      intervalSec: e.KOPITRA_RETENTION_INTERVAL_SEC,
    }),
    trustProxy: e.KOPITRA_TRUST_PROXY === 'true' || e.KOPITRA_TRUST_PROXY === '1',
    metricsToken: e.KOPITRA_METRICS_TOKEN,
    webhookAllowPrivate: Object.freeze(e.KOPITRA_WEBHOOK_ALLOW_PRIVATE),
    ...overrides,
  });
}
