import { setMaxListeners } from 'node:events';
/**
 * The composition root: opens every resource in order, wires the gateway, listens, and
 * closes everything in reverse on `stop()` (in-flight requests finish, long polls answer).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { topics } from '@kopitra/contracts';
import { defaultFailureWindow } from '@kopitra/engine';
import { buildApp } from './app.js';
import { createMetrics, type Metrics } from './metrics.js';
import { defaultConsoleDir } from './console.js';
import type { Bus, Subscription } from './bus/bus.js';
import { openBus } from './bus/select.js';
import { raiseAlert } from './store/copy.js';
import { systemClock, type Clock } from './clock.js';
import type { BusSetting, Config } from './config.js';
import type { GatewayDeps } from './services/deps.js';
import { FailureLimiter } from './services/failure-limiter.js';
import { applyAuthDecision, sweepExpiredSessions } from './services/sessions.js';
import { takeCarriedRows, watchParked } from './services/outbox.js';
import { reconcileAll, type ReconcileSummary } from './services/copy/reconciler.js';
import { fanoutJob } from './services/copy/fanout-resume.js';
import { createLogger } from './logger.js';
import { tokenKeyFrom } from './services/operators.js';
import { ensureFirstAdmin, type FirstAdmin } from './services/first-admin.js';
import { tradeAgentEventHandler } from './services/trade-agent-events.js';
import { anomalyCheckJob } from './services/anomalies.js';
import type { ManagementDeps } from './services/management-deps.js';
import { webhookDeliveryJob, webhookFanout } from './services/webhooks.js';
import { WriteFailures } from './http/write-failures.js';
import { webhookSender, type Resolve } from './services/webhook-target.js';
import { intervalTicker, StreamGuard, type Ticker } from './services/stream-access.js';
import { taskRunJob, TASK_EVENTS } from './services/tasks.js';
import { JobWorker, type JobDefinition, type PeriodicJob } from './services/job-worker.js';
import { applyRetention, RETENTION_JOB } from './services/retention.js';
import { OutboxHandoff } from './notify/handoff.js';
import { InProcessNotifier, type Notifier } from './notify/notifier.js';
import { PostgresNotifier } from './notify/postgres-notifier.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from './store/database.js';
import { instanceSecret } from './store/kv.js';
import type { ReportStore } from './reports/report-store.js';
import { openReportStore } from './reports/select.js';
import { openTracing } from './telemetry/select.js';
import type { Tracing } from './telemetry/tracing.js';
import { traceBus, type BusSystem } from './telemetry/traced-bus.js';

/** How long `stop()` lets in-flight requests finish before closing the remaining sockets. */
const SHUTDOWN_GRACE_MS = 3000;

export interface PlatformOptions {
  clock?: Clock;
  logger?: Logger;
  /** Overrides the database target (tests use a private PostgreSQL schema). */
  databaseTarget?: DatabaseTarget;
  /** Do not listen on a port (tests use `app.inject`). */
  listen?: boolean;
  /**
   * Enqueue the periodic jobs — lease sweep, reconciliation, retention (default). Tests turn it
   * off and call `sweep()` / `reconcile()` with a manual clock.
   */
  sweeper?: boolean;
  /** Which services this process runs (default both: all-in-one). */
  serve?: { gateway: boolean; management: boolean };
  /** Serve the built console at `/` (default: when running the management API and it is built). */
  consoleDir?: string | null;
  /**
   * Consume the bus and run the job worker in the background (default). Hosts with their own
   * triggers (Azure Functions) turn it off and call `jobs.runOnce()` from a timer.
   */
  consumers?: boolean;
  /** Name resolution for webhook deliveries (tests stub it to play a rebinding resolver). */
  resolve?: Resolve;
  /**
   * Tracing opened by the caller (tests export to memory), left open on `stop()`. Default: as
   * `config.traces` says, shut down (flushed) last on `stop()`.
   */
  tracing?: Tracing;
  /** Paces the re-check of open live streams' tokens (tests tick it by hand). */
  ticker?: Ticker;
  /** See `GatewayDeps.afterFanoutBatch` (tests stop a fan-out half-way with it). */
  afterFanoutBatch?: GatewayDeps['afterFanoutBatch'];
}

export interface Platform {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly database: Database;
  readonly bus: Bus;
  readonly notifier: Notifier;
  readonly gateway: GatewayDeps;
  readonly management: ManagementDeps;
  readonly logger: Logger;
  /** The claimed-work worker of this process (webhook deliveries, task runs, periodic work). */
  readonly jobs: JobWorker;
  /** The admin to sign in as (with a just-generated password); null without the management API. */
  readonly firstAdmin: FirstAdmin | null;
  /** Spans of this process (off unless configured). */
  readonly tracing: Tracing;
  sweep(): Promise<number>;
  /** One reconciliation pass over every follower (also a periodic job unless disabled). */
  reconcile(): Promise<ReconcileSummary[]>;
  stop(): Promise<void>;
}

const BUS_SYSTEM: Record<'embedded' | 'nats' | 'service-bus', BusSystem> = {
  embedded: 'kopitra-embedded',
  nats: 'nats',
  'service-bus': 'servicebus',
};

/** `service.name` of the spans (`OTEL_SERVICE_NAME` overrides it). */
const serviceNameFor = (serve: { gateway: boolean; management: boolean }): string =>
  serve.gateway && serve.management ? 'kopitra' : serve.gateway ? 'kopitra-gateway' : 'kopitra-management';

export function databaseTargetFor(config: Config): DatabaseTarget {
  return config.database.dialect === 'sqlite'
    ? { dialect: 'sqlite', file: config.database.file }
    : { dialect: 'postgres', url: config.database.url, poolSize: config.pgPoolSize };
}

/**
 * Cross-replica wake-ups: over NATS core subjects when the bus is NATS, else PostgreSQL
 * LISTEN/NOTIFY, else (SQLite) in process.
 */
export async function openNotifier(
  database: Database,
  logger: Logger = createLogger('silent'),
  bus: BusSetting = { kind: 'embedded' },
): Promise<Notifier> {
  if (bus.kind === 'nats') {
    const { NatsNotifier } = await import('./notify/nats-notifier.js');
    return NatsNotifier.connect(bus.target, logger);
  }
  return database.connectListener
    ? PostgresNotifier.connect(database.connectListener, logger)
    : new InProcessNotifier();
}

/** What the services need, over resources already open: the servers and the CLI wire them alike. */
export function serviceDeps(
  config: Config,
  r: {
    database: Database;
    bus: Bus;
    notifier: Notifier;
    clock: Clock;
    logger: Logger;
    secret: string;
    shutdownSignal: AbortSignal;
    reports: ReportStore;
    metrics?: Metrics;
    resolve?: Resolve | undefined;
    tracing?: Tracing;
    ticker?: Ticker | undefined;
    afterFanoutBatch?: GatewayDeps['afterFanoutBatch'];
  },
): { gateway: GatewayDeps; management: ManagementDeps } {
  const limiter = () =>
    new FailureLimiter(
      {
        ...defaultFailureWindow,
        limit: config.authFailureLimit,
        windowMs: config.authFailureWindowSec * 1000,
      },
      r.clock,
    );
  const gateway: GatewayDeps = {
    db: r.database.db,
    dialect: r.database.dialect,
    bus: r.bus,
    notifier: r.notifier,
    handoff: new OutboxHandoff(),
    clock: r.clock,
    logger: r.logger.child({ component: 'gateway' }),
    secret: r.secret,
    heartbeatIntervalSec: config.heartbeatIntervalSec,
    fanoutBatch: config.fanoutBatch,
    afterFanoutBatch: r.afterFanoutBatch,
    failures: limiter(),
    pendingLimits: config.pending,
    shutdownSignal: r.shutdownSignal,
    metrics: r.metrics,
    tracing: r.tracing,
  };
  const management: ManagementDeps = {
    db: r.database.db,
    dialect: r.database.dialect,
    bus: r.bus,
    notifier: r.notifier,
    clock: r.clock,
    logger: r.logger.child({ component: 'management' }),
    tokenKey: tokenKeyFrom(r.secret),
    tokenTtlSec: config.tokenTtlSec,
    loginFailures: limiter(),
    gateway,
    shutdownSignal: r.shutdownSignal,
    streams: new StreamGuard(
      { db: r.database.db, notifier: r.notifier, clock: r.clock, logger: r.logger },
      r.ticker ?? intervalTicker,
    ),
    webhookTargets: {
      allowPrivate: config.webhookAllowPrivate,
      ...(r.resolve ? { resolve: r.resolve } : {}),
    },
    reports: r.reports,
    reportLinkTtlSec: config.reportLinkTtlSec,
  };
  return { gateway, management };
}

/** The configured bus over this database; a message the broker gives up on raises an operator alert. */
function busFor(config: Config, database: Database, notifier: Notifier, clock: Clock, busLogger: Logger) {
  return openBus(config.bus, {
    db: database.db,
    dialect: database.dialect,
    notifier,
    clock,
    logger: busLogger,
    pollMs: config.busPollMs,
    topics: [...Object.values(topics), TASK_EVENTS],
    // A message the broker gave up on is work that did not happen: operators must see it.
    onDeadLetter: async (d) => {
      busLogger.error({ deadLetter: d }, 'bus message dead-lettered');
      await raiseAlert(
        database.db,
        {
          accountId: null,
          groupId: null,
          code: 'bus_dead_letter',
          severity: 'critical',
          message: `A ${d.subject ?? 'bus'} message on ${d.topic} (${d.subscription}) was dead-lettered after ${d.deliveryCount} deliveries: ${d.reason}`,
          dedupeKey: `bus_dead_letter:${d.topic}:${d.subscription}:${d.messageId}`,
          details: { ...d },
        },
        clock.now(),
      );
    },
  });
}

export interface Services {
  readonly gateway: GatewayDeps;
  readonly management: ManagementDeps;
  close(): Promise<void>;
}

/**
 * The services without the servers, for the CLI: the same database, bus and instance secret,
 * so a command does exactly what the API does, audit row and bus message included.
 */
export async function openServices(
  config: Config,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<Services> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger('warn');
  const database = await openDatabase(databaseTargetFor(config));
  try {
    await migrate(database);
    const secret = await instanceSecret(database.db, config.secret);
    const notifier = await openNotifier(database, logger.child({ component: 'notify' }), config.bus);
    const { bus } = await busFor(config, database, notifier, clock, logger.child({ component: 'bus' }));
    const reports = await openReportStore(config.reports, secret);
    const { gateway, management } = serviceDeps(config, {
      database,
      bus,
      notifier,
      clock,
      logger,
      secret,
      shutdownSignal: new AbortController().signal,
      reports,
    });
    return {
      gateway,
      management,
      close: async () => {
        await reports.close();
        await bus.close();
        await notifier.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}

export async function startPlatform(config: Config, opts: PlatformOptions = {}): Promise<Platform> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const cleanup: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of cleanup.reverse().splice(0)) {
      await fn().catch((err: unknown) => logger.error({ err }, 'shutdown step failed'));
    }
  };
  try {
    const serve = opts.serve ?? { gateway: true, management: true };
    // Opened first so it closes last: spans of the shutdown itself are exported too.
    let tracing = opts.tracing;
    if (!tracing) {
      const opened = await openTracing(config.traces, serviceNameFor(serve));
      cleanup.push(() => opened.shutdown());
      tracing = opened;
    }
    // A broken connection is logged and replaced; requests meanwhile fail and `/health` says 503.
    const database = await openDatabase(opts.databaseTarget ?? databaseTargetFor(config), (err) =>
      logger.warn({ err: err.message }, 'database connection lost; a new one is made on next use'),
    );
    cleanup.push(() => database.close());
    const applied = await migrate(database);
    if (applied.length > 0) logger.info({ applied, dialect: database.dialect }, 'database migrated');
    const secret = await instanceSecret(database.db, config.secret);

    const notifier = await openNotifier(database, logger.child({ component: 'notify' }), config.bus);
    cleanup.push(() => notifier.close());
    const busLogger = logger.child({ component: 'bus' });
    const opened = await busFor(config, database, notifier, clock, busLogger);
    const busAdapter = opened.adapter;
    const bus = tracing.enabled ? traceBus(opened.bus, tracing, BUS_SYSTEM[busAdapter]) : opened.bus;
    busLogger.info({ adapter: busAdapter }, 'bus ready');
    cleanup.push(() => bus.close());
    const reports = await openReportStore(config.reports, secret);
    cleanup.push(() => reports.close());

    const metrics = createMetrics();
    const shutdown = new AbortController();
    // Every held long poll listens for shutdown; there is no leak to warn about.
    setMaxListeners(0, shutdown.signal);
    cleanup.push(async () => shutdown.abort());
    const { gateway, management } = serviceDeps(config, {
      database,
      bus,
      notifier,
      clock,
      logger,
      secret,
      shutdownSignal: shutdown.signal,
      reports,
      metrics,
      resolve: opts.resolve,
      tracing,
      ticker: opts.ticker,
      afterFanoutBatch: opts.afterFanoutBatch,
    });

    if (serve.gateway) {
      // Followers parked here take the rows other replicas carry in their wake-ups, and are
      // re-checked against the outbox now and then in case a wake-up was lost.
      notifier.receiveRows((rowsOf) => takeCarriedRows(gateway, rowsOf));
      cleanup.push(watchParked(gateway, opts.ticker ?? intervalTicker));
    }

    const subscriptions: Subscription[] = [];
    const consume = opts.consumers !== false;
    if (serve.gateway && consume)
      subscriptions.push(
        bus.subscribe(topics.authApprovals, 'gateway', (m, ctx) => applyAuthDecision(gateway, m, ctx)),
      );
    if (serve.management && consume) {
      subscriptions.push(
        bus.subscribe(topics.tradeAgentEvents, 'management-audit', tradeAgentEventHandler(management)),
      );
      subscriptions.push(
        bus.subscribe(topics.tradeAgentEvents, 'management-webhooks', webhookFanout(management)),
      );
    }
    cleanup.push(async () => {
      await Promise.all(subscriptions.map((s) => s.close()));
    });

    const sweep = () => sweepExpiredSessions(gateway);
    const reconcile = () => reconcileAll(gateway);
    // Every deferred or periodic unit is a claimed job: with several replicas, one does each.
    const definitions: JobDefinition[] = [];
    const periodic: PeriodicJob[] = [];
    const every = (kind: string, everyMs: number, run: () => Promise<unknown>) => {
      definitions.push({ kind, maxAttempts: 3, run: async () => void (await run()) });
      periodic.push({ kind, everyMs, maxAttempts: 3 });
    };
    if (serve.gateway) {
      every('sessions.sweep', config.heartbeatIntervalSec * 1000, sweep);
      every('copy.reconcile', config.reconcileIntervalSec * 1000, reconcile);
      definitions.push(fanoutJob(gateway));
    }
    if (serve.management) {
      const sender = webhookSender(management.webhookTargets);
      cleanup.push(() => sender.close());
      definitions.push(
        webhookDeliveryJob(management, sender),
        taskRunJob(management),
        anomalyCheckJob(management),
      );
      every(RETENTION_JOB, config.retention.intervalSec * 1000, async () => {
        const removed = await applyRetention(management, config.retention);
        const total = Object.values(removed).reduce((sum, n) => sum + n, 0);
        logger[total > 0 ? 'info' : 'debug']({ removed }, 'retention pass');
      });
    }
    const jobs = new JobWorker(
      {
        db: database.db,
        dialect: database.dialect,
        notifier,
        clock,
        logger: logger.child({ component: 'jobs' }),
        bus,
        concurrency: config.jobsConcurrency,
        pollMs: config.jobsPollMs,
      },
      definitions,
      opts.sweeper === false ? [] : periodic,
    );
    cleanup.push(() => jobs.stop());
    if (consume) jobs.start();

    const writeFailures = new WriteFailures(clock);
    const app = await buildApp({
      logger,
      logRequests: config.logRequests,
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      metrics,
      metricsToken: config.metricsToken,
      tracing,
      ...(serve.gateway ? { gateway } : {}),
      ...(serve.management ? { management } : {}),
      consoleDir: opts.consoleDir === null ? undefined : (opts.consoleDir ?? defaultConsoleDir()),
      writeFailures,
      checks: [
        { name: 'database', check: () => database.ping() },
        { name: 'storage', check: () => writeFailures.check() },
        { name: 'notifications', check: () => notifier.ping() },
        { name: 'bus', adapter: busAdapter, check: () => bus.ping() },
      ],
    });
    // Registered last so it runs first: stop taking requests, answer held polls, then close the rest.
    cleanup.push(async () => {
      shutdown.abort();
      // Node waits for every socket, including ones a client opened and never sent a request
      // on (undici re-opens one after an aborted request; browsers pre-connect), which are not
      // "idle" to it: in-flight requests get a grace period, then what is left is closed.
      const force = setTimeout(() => app.server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      try {
        await app.close();
      } finally {
        clearTimeout(force);
      }
    });
    let url = '';
    // The port is bound before anything is created: a start that cannot listen leaves no
    // admin behind whose one-time password nobody saw.
    if (opts.listen !== false) url = await app.listen({ port: config.port, host: config.host });
    else await app.ready();
    const firstAdmin = serve.management ? await ensureFirstAdmin(management, config) : null;
    if (url) logger.info({ url, dialect: database.dialect }, 'kopitra listening');
    return {
      app,
      url,
      database,
      bus,
      notifier,
      gateway,
      management,
      logger,
      jobs,
      firstAdmin,
      tracing,
      sweep,
      reconcile,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
