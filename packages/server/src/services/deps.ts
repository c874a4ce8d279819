import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import type { OutboxHandoff } from '../notify/handoff.js';
import type { Notifier } from '../notify/notifier.js';
import type { Database, Dialect } from '../store/database.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { Metrics } from '../metrics.js';
import type { Tracing } from '../telemetry/tracing.js';
import type { PendingLimits } from './pending-limits.js';

/** Everything the gateway's use cases need, passed explicitly. */
export interface GatewayDeps {
  readonly db: Database['db'];
  readonly dialect: Dialect;
  readonly bus: Bus;
  readonly notifier: Notifier;
  /** This process's parked polls and streams, which a fan-out answers from memory. */
  readonly handoff: OutboxHandoff;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly secret: string;
  readonly heartbeatIntervalSec: number;
  /** Subscriptions per fan-out transaction (see copy/fanout-resume.ts). */
  readonly fanoutBatch: number;
  /**
   * Called after each further batch of a fan-out commits. Tests throw from it to stop a
   * fan-out half-way, as a crash between two batches would.
   */
  readonly afterFanoutBatch?: ((signalId: string, batch: number) => void) | undefined;
  readonly failures: FailureLimiter;
  /** Caps on registrations waiting for approval and on what their sessions store. */
  readonly pendingLimits: PendingLimits;
  /** Aborted when the process shuts down, so held long polls answer at once. */
  readonly shutdownSignal: AbortSignal;
  readonly metrics?: Metrics | undefined;
  /** Spans of the copy path; absent or off, nothing is traced. */
  readonly tracing?: Tracing | undefined;
}
