/**
 * Anomaly detection on `trade-agent-events`: repeated rejects, a follower silent while its
 * group trades, and copy latency far above normal become operator alerts (raised once until
 * acknowledged). Drawdown pauses are raised by the gateway when a risk limit trips.
 */
import { topics, type AlertRaised, type CopyOrderUpdated, type SignalAccepted } from '@kopitra/contracts';
import { raiseAlert } from '../store/copy.js';
import type { Db } from '../store/schema.js';
import type { ManagementDeps } from './management-deps.js';

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
    occurredAt: new Date(now).toISOString(),
  };
  await deps.bus.publish(topics.tradeAgentEvents, raised, { db });
}

export async function onOrderUpdated(deps: ManagementDeps, db: Db, e: CopyOrderUpdated): Promise<void> {
  const now = deps.clock.now();
  if (e.status === 'rejected' || e.status === 'failed') {
    const recent = await db
      .selectFrom('copy_orders')
      .select('order_id')
      .where('follower_account_id', '=', e.followerAccountId)
      .where('status', 'in', ['rejected', 'failed'])
      .where('updated_at', '>=', now - REJECTS_WINDOW_MS)
      .execute();
    if (recent.length >= REJECTS_THRESHOLD) {
      await alert(deps, db, {
        accountId: e.followerAccountId,
        groupId: e.groupId,
        code: 'repeated_rejects',
        message: `${recent.length} copy orders of ${e.followerAccountId} were rejected or failed in the last 10 minutes; check the terminal (AutoTrading, margin, symbol settings).`,
        dedupe: `repeated_rejects:${e.followerAccountId}`,
      });
    }
  }
  if (e.status === 'filled') {
    const order = await db
      .selectFrom('copy_orders')
      .select(['signal_received_at', 'reported_at'])
      .where('order_id', '=', e.orderId)
      .executeTakeFirst();
    if (!order?.signal_received_at || !order.reported_at) return;
    const latency = order.reported_at - order.signal_received_at;
    if (latency < LATENCY_FLOOR_MS) return;
    const sample = await db
      .selectFrom('copy_orders')
      .select(['signal_received_at', 'reported_at'])
      .where('status', '=', 'filled')
      .where('reported_at', 'is not', null)
      .orderBy('reported_at', 'desc')
      .limit(200)
      .execute();
    const latencies = sample
      .filter((s) => s.signal_received_at !== null)
      .map((s) => s.reported_at! - s.signal_received_at!)
      .sort((a, b) => a - b);
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

export async function onSignalAccepted(deps: ManagementDeps, db: Db, e: SignalAccepted): Promise<void> {
  if (e.copies === 0) return;
  const now = deps.clock.now();
  const followers = await db
    .selectFrom('subscriptions as s')
    .innerJoin('copy_groups as g', 'g.group_id', 's.group_id')
    .leftJoin('account_telemetry as t', 't.account_id', 's.follower_account_id')
    .select(['s.follower_account_id', 's.group_id', 't.last_heartbeat_at'])
    .where('g.master_account_id', '=', e.masterAccountId)
    .where('g.status', '=', 'active')
    .execute();
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
