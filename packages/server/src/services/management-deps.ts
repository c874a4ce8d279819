import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import type { GatewayDeps } from './deps.js';
import type { FailureLimiter } from './failure-limiter.js';
import type { Notifier } from '../notify/notifier.js';
import type { ReportStore } from '../reports/report-store.js';
import type { Database, Dialect } from '../store/database.js';
import type { StreamGuard } from './stream-access.js';
import type { WebhookTargetPolicy } from './webhook-target.js';

/** Everything the management API needs, passed explicitly. */
export interface ManagementDeps {
  readonly db: Database['db'];
  readonly dialect: Dialect;
  readonly bus: Bus;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Signs operator tokens; derived from the instance secret. */
  readonly tokenKey: Uint8Array;
  readonly tokenTtlSec: number;
  readonly loginFailures: FailureLimiter;
  /** The gateway's use cases, for tasks that reconcile or close (same database and bus). */
  readonly gateway: GatewayDeps;
  readonly shutdownSignal: AbortSignal;
  /** This process's open live streams, closed when their operator's access shrinks. */
  readonly streams: StreamGuard;
  /** Which addresses webhooks may reach. */
  readonly webhookTargets: WebhookTargetPolicy;
  /** Where task reports (audit exports) are written and read. */
  readonly reports: ReportStore;
  /** How long a report's download link is valid. */
  readonly reportLinkTtlSec: number;
}
