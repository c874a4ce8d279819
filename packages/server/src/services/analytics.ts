/**
 * Replication analytics computed from copy orders: counts, success rate, latency
 * percentiles per segment, slippage and PnL, over the last 24 hours and per hour.
 */
import { ordersWrittenSince } from '../store/copy-records.js';
import type { ManagementDeps } from './management-deps.js';

const percentile = (sorted: number[], p: number): number | null =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
const stats = (values: number[]) => {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99) };
};

export async function replicationAnalytics(
  deps: ManagementDeps,
  scope: { followerAccountId?: string; groupId?: string },
  windowMs = 86_400_000,
) {
  const now = deps.clock.now();
  const rows = await ordersWrittenSince(deps.db, now - windowMs, scope);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const finished = rows.filter((r) => ['filled', 'rejected', 'failed', 'expired'].includes(r.status));
  const filled = rows.filter((r) => r.status === 'filled');
  const seg = (a: keyof (typeof rows)[number], b: keyof (typeof rows)[number]) =>
    stats(rows.filter((r) => r[a] !== null && r[b] !== null).map((r) => Number(r[b]) - Number(r[a])));
  const hours = new Map<number, { hour: number; copied: number; failed: number; latencies: number[] }>();
  for (const r of rows) {
    const hour = r.written_at - (r.written_at % 3_600_000);
    const h = hours.get(hour) ?? { hour, copied: 0, failed: 0, latencies: [] };
    if (r.status === 'filled') h.copied++;
    if (['rejected', 'failed', 'expired'].includes(r.status)) h.failed++;
    if (r.signal_received_at !== null && r.reported_at !== null)
      h.latencies.push(r.reported_at - r.signal_received_at);
    hours.set(hour, h);
  }
  return {
    scope,
    windowHours: windowMs / 3_600_000,
    copyOrders: rows.length,
    byStatus,
    copiedTrades: filled.filter((r) => r.kind === 'open').length,
    successRate: finished.length ? filled.length / finished.length : null,
    latencyMs: {
      signalToWritten: seg('signal_received_at', 'written_at'),
      writtenToDelivered: seg('written_at', 'delivered_at'),
      deliveredToAcknowledged: seg('delivered_at', 'acknowledged_at'),
      signalToExecuted: seg('signal_received_at', 'reported_at'),
      masterDealToExecuted: seg('master_deal_at', 'executed_at'),
    },
    slippagePoints: stats(
      filled.filter((r) => r.slippage_points !== null).map((r) => Number(r.slippage_points)),
    ),
    slippageAmount: filled.reduce((sum, r) => sum + (r.slippage_amount ?? 0), 0),
    profit: filled.reduce((sum, r) => sum + (r.profit ?? 0), 0),
    hourly: [...hours.values()]
      .sort((a, b) => a.hour - b.hour)
      .map((h) => ({
        hour: new Date(h.hour).toISOString(),
        copied: h.copied,
        failed: h.failed,
        latencyMs: stats(h.latencies),
      })),
  };
}
