/**
 * Anomaly detection on `trade-agent-events`: repeated rejects, a follower silent while its
 * group trades, and copy latency far above normal become operator alerts (raised once until
 * acknowledged). Drawdown pauses are raised by the gateway when a risk limit trips.
 *
 * Each check is claimed work: the `management-audit` consumer enqueues one `anomaly.check`
 * unit per message that can raise an alert, in the transaction that advances its cursor
 * (keyed by the message id, so a redelivered message adds nothing), and one job worker of any
 * management replica runs it. The alert, its `alert.raised` message and the unit's completion
 * commit together, so a check is done once even when its first claimer dies.
 */
import {
  CopyOrderUpdated,
  SignalAccepted,
  topics,
  type AlertRaised,
  type TradeAgentEvent,
  isoTime,
} from '@kopitra/contracts';
import { z } from 'zod';
import { getOrder, raiseAlert } from '../store/copy.js';
import { failedOrderCount, followersWithHeartbeat, recentFillLatencies } from '../store/copy-records.js';
import type { Db } from '../store/schema.js';
import { enqueueJob, type JobDefinition } from './job-worker.js';
import type { ManagementDeps } from './management-deps.js';

export const ANOMALY_CHECK_JOB = 'anomaly.check';
/** A check reads and writes a few rows; three tries cover a database that blinked. */
const ANOMALY_CHECK_ATTEMPTS = 3;
const CheckedEvent = z.discriminatedUnion('type', [CopyOrderUpdated, SignalAccepted]);
type CheckedEvent = z.infer<typeof CheckedEvent>;

/** The events a check can raise an alert on: failed, rejected or filled copies, and copied signals. */
const needsCheck = (e: TradeAgentEvent): e is CheckedEvent =>
  (e.type === 'copy_order.updated' && ['rejected', 'failed', 'filled'].includes(e.status)) ||
  (e.type === 'signal.accepted' && e.copies > 0);

/** Enqueues the check of one bus message in `db` (the consumer's transaction); nothing for other events. */
export async function enqueueAnomalyCheck(
  deps: Pick<ManagementDeps, 'notifier' | 'clock'>,
  db: Db,
  messageId: string,
  e: TradeAgentEvent,
): Promise<void> {
  if (!needsCheck(e)) return;
  await enqueueJob(
    db,
    deps.notifier,
    {
      kind: ANOMALY_CHECK_JOB,
      payload: e,
      uniqueKey: `${ANOMALY_CHECK_JOB}:${messageId}`,
      maxAttempts: ANOMALY_CHECK_ATTEMPTS,
    },
    deps.clock.now(),
  );
}

/** The `anomaly.check` job: runs the check of one event; its alerts commit with the unit's completion. */
export function anomalyCheckJob(deps: ManagementDeps): JobDefinition {
  return {
    kind: ANOMALY_CHECK_JOB,
    maxAttempts: ANOMALY_CHECK_ATTEMPTS,
    run: async (payload, ctx) => {
      const e = CheckedEvent.parse(payload);
      await ctx.complete(({ trx }) =>
        e.type === 'signal.accepted' ? onSignalAccepted(deps, trx, e) : onOrderUpdated(deps, trx, e),
      );
    },
  };
}

export const REJECTS_WINDOW_MS = 10 * 60_000;
export const REJECTS_THRESHOLD = 3;
export const SILENT_AFTER_MS = 60_000;
export const LATENCY_FLOOR_MS = 5_000;

async function alert(
  deps: ManagementDeps,
  db: Db,
  a: { accountId: string; groupId: string | null; code: string; message: string; dedupe: string },
): Promise<void> {
  const now = deps.clock.now();
  const row = await raiseAlert(
    db,
    {
      accountId: a.accountId,
      groupId: a.groupId,
      code: a.code,
      severity: 'warning',
      message: a.message,
      dedupeKey: a.dedupe,
      details: {},
    },
    now,
  );
  if (!row) return;
  const raised: AlertRaised = {
    type: 'alert.raised',
    alertId: row.alert_id,
    accountId: a.accountId,
    groupId: a.groupId,
    code: a.code,
    severity: 'warning',
    message: a.message,
    occurredAt: isoTime(now),
  };
  await deps.bus.publish(topics.tradeAgentEvents, raised, { db });
}

async function onOrderUpdated(deps: ManagementDeps, db: Db, e: CopyOrderUpdated): Promise<void> {
  const now = deps.clock.now();
  if (e.status === 'rejected' || e.status === 'failed') {
    const recent = await failedOrderCount(db, e.followerAccountId, now - REJECTS_WINDOW_MS);
    if (recent >= REJECTS_THRESHOLD) {
      await alert(deps, db, {
        accountId: e.followerAccountId,
        groupId: e.groupId,
        code: 'repeated_rejects',
        message: `${recent} copy orders of ${e.followerAccountId} were rejected or failed in the last 10 minutes; check the terminal (AutoTrading, margin, symbol settings).`,
        dedupe: `repeated_rejects:${e.followerAccountId}`,
      });
    }
  }
  if (e.status === 'filled') {
    const order = await getOrder(db, e.orderId);
    if (!order?.signal_received_at || !order.reported_at) return;
    const latency = order.reported_at - order.signal_received_at;
    if (latency < LATENCY_FLOOR_MS) return;
    const latencies = await recentFillLatencies(db, 200);
    const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
    if (latency > Math.max(LATENCY_FLOOR_MS, median * 10)) {
      await alert(deps, db, {
        accountId: e.followerAccountId,
        groupId: e.groupId,
        code: 'latency_high',
        message: `Copy to ${e.followerAccountId} took ${(latency / 1000).toFixed(1)} s (median ${median} ms).`,
        dedupe: `latency_high:${e.followerAccountId}`,
      });
    }
  }
}

async function onSignalAccepted(deps: ManagementDeps, db: Db, e: SignalAccepted): Promise<void> {
  if (e.copies === 0) return;
  const now = deps.clock.now();
  const followers = await followersWithHeartbeat(db, e.masterAccountId);
  for (const f of followers) {
    if (f.last_heartbeat_at !== null && now - f.last_heartbeat_at <= SILENT_AFTER_MS) continue;
    await alert(deps, db, {
      accountId: f.follower_account_id,
      groupId: f.group_id,
      code: 'follower_silent',
      message: `${f.follower_account_id} has sent no heartbeat ${f.last_heartbeat_at === null ? 'yet' : `for ${Math.round((now - f.last_heartbeat_at) / 1000)} s`} while its group trades; its copies wait in its outbox.`,
      dedupe: `follower_silent:${f.follower_account_id}`,
    });
  }
}
