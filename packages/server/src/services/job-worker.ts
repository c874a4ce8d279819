/**
 * The job worker: claims due units from the jobs table (store/jobs.ts) and runs them with
 * bounded concurrency. Every process that runs work runs one; the table decides who does
 * what, so each unit is done once across replicas and a dead replica's units are taken over
 * when their leases lapse.
 *
 * - Wake-ups: `enqueueJob` notifies `JOBS_CHANNEL` in the writing transaction (pg_notify on
 *   PostgreSQL, delivered on commit to every replica; in-process on SQLite). A poll timer
 *   catches back-offs that end, periodic units and lapsed leases.
 * - Periodic work is a unit per period: `<kind>@<floor(now / everyMs)>` as its unique key, so
 *   however many replicas enqueue it, one unit exists and one claimer runs it. A periodic unit
 *   is not claimed while another of its kind runs: passes do not overlap.
 * - A failed attempt is queued again after the one back-off (`backoffMs` of the engine); once
 *   `maxAttempts` are spent the unit is dead and an operator alert (`job_dead`) is raised.
 * - `stop()` stops claiming, signals running handlers, waits for them and gives back units
 *   that did not finish (queued again at once, the attempt not counted).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { topics, type AlertRaised, isoTime } from '@kopitra/contracts';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import type { Notifier } from '../notify/notifier.js';
import { raiseAlert } from '../store/copy.js';
import type { Database, Dialect } from '../store/database.js';
import {
  buryJob,
  claimDueJobs,
  completeJob,
  holdsJob,
  insertJob,
  lockLapsedLastAttempts,
  releaseJob,
  renewLease,
  retryJob,
  type Claim,
  type Job,
  type NewJob,
} from '../store/jobs.js';
import type { Db } from '../store/schema.js';
import { inTransaction, type Tx } from '../store/transaction.js';

export const JOBS_CHANNEL = 'jobs';

/** Retries start 5 s after a failure and double up to an hour. */
export const DEFAULT_JOB_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 5_000, maxMs: 3_600_000 });
export const DEFAULT_LEASE_MS = 60_000;

/** Adds a job in `db`'s transaction and wakes the workers once it commits; null when its unique key exists. */
export async function enqueueJob(
  db: Db,
  notifier: Notifier,
  job: NewJob,
  now: number,
): Promise<string | null> {
  const id = await insertJob(db, job, now);
  if (id) await notifier.notify(db, JOBS_CHANNEL);
  return id;
}

export interface JobContext {
  readonly job: Job;
  /** Aborted when the lease is lost or the worker stops. */
  readonly signal: AbortSignal;
  /**
   * Runs `fn` in a transaction that also marks the unit done, only while this claim still
   * holds it: the unit's effects and its completion commit together, exactly once.
   */
  complete<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

export interface JobDefinition {
  readonly kind: string;
  /** Claims that may fail before the unit is dead (default 10). */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  /** Returning normally completes the unit (unless it called `ctx.complete`); throwing retries it. */
  run(payload: unknown, ctx: JobContext): Promise<void>;
  /** Runs in the transaction that marks the unit dead. */
  onDead?(tx: Tx, job: Job, error: string): Promise<void>;
}

export interface PeriodicJob {
  readonly kind: string;
  readonly everyMs: number;
  readonly maxAttempts?: number;
}

export interface JobWorkerOptions {
  readonly db: Database['db'];
  readonly dialect: Dialect;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Publishes `alert.raised` for dead units when given. */
  readonly bus?: Bus;
  /** Names this process in `locked_by` (default host, pid and a random suffix). */
  readonly workerId?: string;
  /** Units run at once by this worker (default 4). */
  readonly concurrency?: number;
  /** How often due work is looked for without a wake-up (default 1000 ms). */
  readonly pollMs?: number;
  /** How long a claim holds a unit without renewal (default 60 s; renewed every third of it). */
  readonly leaseMs?: number;
}

class LostLease extends Error {
  constructor(jobId: string) {
    super(`job ${jobId} was taken over after its lease lapsed`);
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err)).slice(0, 2000);

export class JobWorker {
  readonly workerId: string;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly periodic: PeriodicJob[];
  private readonly lastPeriod = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private timer: NodeJS.Timeout | undefined;
  private offWake: (() => void) | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(
    private readonly opts: JobWorkerOptions,
    definitions: readonly JobDefinition[],
    periodic: readonly PeriodicJob[] = [],
  ) {
    for (const d of definitions) {
      if (this.definitions.has(d.kind)) throw new Error(`job kind ${d.kind} is defined twice`);
      this.definitions.set(d.kind, d);
    }
    for (const p of periodic) {
      if (!this.definitions.has(p.kind)) throw new Error(`periodic job ${p.kind} has no definition`);
      if (!(p.everyMs > 0)) throw new Error(`periodic job ${p.kind} needs a positive period`);
    }
    this.periodic = [...periodic];
    this.workerId =
      opts.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 120);
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Runs in the background until `stop()`: on wake-ups, on the poll timer and as slots free up. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.offWake = this.opts.notifier.on(JOBS_CHANNEL, () => this.kick());
    this.timer = setInterval(() => this.kick(), this.opts.pollMs ?? 1000);
    this.timer.unref();
    this.kick();
  }

  /**
   * One pass: enqueues the periodic units now due, claims what fits in the free slots and
   * starts it; resolves when every unit this worker holds has finished. Tests drive the worker
   * with this and an injected clock; returns how many units were claimed.
   */
  async runOnce(): Promise<number> {
    const claimed = await this.claimAndStart();
    await this.drain();
    return claimed;
  }

  /** Resolves when no unit of this worker is running. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    this.offWake?.();
    await this.ticking;
    await this.drain();
  }

  private kick(): void {
    if (!this.started || this.stopping.signal.aborted) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        // Every claim on a turn of the event loop of its own: on SQLite no query waits for I/O,
        // so claiming the next unit straight from the end of the last one (which kicks) would
        // never give the loop back while work keeps coming due — a periodic pass that outlasts
        // its period — and the process would answer no request meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.claimAndStart().catch((err: unknown) =>
          this.opts.logger.error({ err }, 'claiming jobs failed'),
        );
      } while (this.again && !this.stopping.signal.aborted);
    })().finally(() => (this.ticking = undefined));
  }

  private async enqueuePeriodic(now: number): Promise<void> {
    for (const p of this.periodic) {
      const period = Math.floor(now / p.everyMs);
      if (this.lastPeriod.get(p.kind) === period) continue;
      await enqueueJob(
        this.opts.db,
        this.opts.notifier,
        {
          kind: p.kind,
          uniqueKey: `${p.kind}@${period}`,
          runAt: period * p.everyMs,
          ...(p.maxAttempts ? { maxAttempts: p.maxAttempts } : {}),
        },
        now,
      );
      this.lastPeriod.set(p.kind, period);
    }
  }

  private async claimAndStart(): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    await this.enqueuePeriodic(this.opts.clock.now());
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return 0;
    const kinds = [...this.definitions.keys()];
    const now = this.opts.clock.now();
    const claimed = await inTransaction(this.opts.db, async (tx) => {
      for (const job of await lockLapsedLastAttempts(tx.trx, this.opts.dialect, kinds, now, free)) {
        const error = `${job.lastError ? `${job.lastError}; ` : ''}its claimer ${job.lockedBy ?? '?'} stopped before finishing attempt ${job.attempts}`;
        await buryJob(tx.trx, { jobId: job.jobId }, error, now);
        await this.onDead(tx, job, error);
      }
      return claimDueJobs(
        tx.trx,
        this.opts.dialect,
        {
          kinds,
          workerId: this.workerId,
          limit: free,
          leaseMs: this.leaseMs,
          exclusiveKinds: this.periodic.map((p) => p.kind),
        },
        now,
      );
    });
    for (const job of claimed) {
      const run = this.execute(job).finally(() => {
        this.inFlight.delete(run);
        this.kick();
      });
      this.inFlight.add(run);
    }
    return claimed.length;
  }

  private async execute(job: Job): Promise<void> {
    const def = this.definitions.get(job.kind)!;
    const claim: Claim = { jobId: job.jobId, lockedBy: this.workerId, attempts: job.attempts };
    const lease = new AbortController();
    const signal = AbortSignal.any([lease.signal, this.stopping.signal]);
    const log = this.opts.logger.child({ jobId: job.jobId, kind: job.kind, attempt: job.attempts });
    const renew = setInterval(
      () => {
        const now = this.opts.clock.now();
        renewLease(this.opts.db, claim, now + this.leaseMs, now)
          .then((held) => {
            if (!held) lease.abort(new LostLease(job.jobId));
          })
          .catch((err: unknown) => log.warn({ err }, 'renewing a job lease failed'));
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    renew.unref();
    let completed = false;
    const ctx: JobContext = {
      job,
      signal,
      complete: (fn) =>
        inTransaction(this.opts.db, async (tx) => {
          if (!(await holdsJob(tx.trx, this.opts.dialect, claim))) throw new LostLease(job.jobId);
          const result = await fn(tx);
          await completeJob(tx.trx, claim, this.opts.clock.now());
          completed = true;
          return result;
        }),
    };
    try {
      await def.run(job.payload, ctx);
      if (!completed && !(await completeJob(this.opts.db, claim, this.opts.clock.now())))
        log.warn('job finished after its lease was taken over; the other claimer owns it');
    } catch (err) {
      await this.failed(def, job, claim, err, log).catch((e: unknown) =>
        log.error({ err: e }, 'recording a job failure failed; its lease will lapse'),
      );
    } finally {
      clearInterval(renew);
    }
  }

  private async failed(def: JobDefinition, job: Job, claim: Claim, err: unknown, log: Logger): Promise<void> {
    const now = this.opts.clock.now();
    if (err instanceof LostLease) {
      log.warn('job lost its lease to another claimer');
      return;
    }
    if (this.stopping.signal.aborted) {
      await releaseJob(this.opts.db, claim, now);
      log.info('job given back at shutdown');
      return;
    }
    const error = describe(err);
    if (job.attempts < job.maxAttempts) {
      const runAt = now + backoffMs(def.backoff ?? DEFAULT_JOB_BACKOFF, job.attempts);
      await retryJob(this.opts.db, claim, error, runAt, now);
      log.warn({ err, retryAt: isoTime(runAt) }, 'job failed; will retry');
      return;
    }
    await inTransaction(this.opts.db, async (tx) => {
      if (await buryJob(tx.trx, claim, error, now)) await this.onDead(tx, job, error);
    });
    log.error({ err }, 'job failed on its last attempt; it is dead');
  }

  private async onDead(tx: Tx, job: Job, error: string): Promise<void> {
    const now = this.opts.clock.now();
    await this.definitions.get(job.kind)?.onDead?.(tx, job, error);
    const message = `${job.kind} job ${job.jobId} gave up after ${job.attempts} attempts: ${error}`;
    const row = await raiseAlert(
      tx.trx,
      {
        accountId: null,
        groupId: null,
        code: 'job_dead',
        severity: 'critical',
        message,
        dedupeKey: `job_dead:${job.jobId}`,
        details: { jobId: job.jobId, kind: job.kind, attempts: job.attempts, error },
      },
      now,
    );
    if (row && this.opts.bus) {
      const raised: AlertRaised = {
        type: 'alert.raised',
        alertId: row.alert_id,
        accountId: null,
        groupId: null,
        code: 'job_dead',
        severity: 'critical',
        message,
        occurredAt: isoTime(now),
      };
      await this.opts.bus.publish(topics.tradeAgentEvents, raised, { db: tx.trx });
    }
  }
}
