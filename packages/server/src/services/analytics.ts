/**
 * Replication analytics computed from copy orders: counts, success rate, latency
 * percentiles per segment, slippage and PnL, over a window (24 hours by default), per hour,
 * and as a series of fixed buckets (hourly up to 48 hours, daily beyond) for charts.
 */
import { AppError, isoTime } from '@kopitra/contracts';
import { getAccount } from '../store/accounts.js';
import { getGroup } from '../store/copy.js';
import { ordersWrittenSince } from '../store/copy-records.js';
import type { ManagementDeps } from './management-deps.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The hops of a copy, in order: signal → delivery → acknowledgement → execution reported. */
const LATENCY_HOPS = {
  signalToDelivered: ['signal_received_at', 'delivered_at'],
  deliveredToAcknowledged: ['delivered_at', 'acknowledged_at'],
  acknowledgedToExecuted: ['acknowledged_at', 'reported_at'],
} as const;

/** Fixed buckets ending with the current one: a chart's x axis does not depend on which buckets had orders. */
export function buckets(now: number, hours: number): { bucketMs: number; starts: number[] } {
  const bucketMs = hours <= 48 ? HOUR : DAY;
  const count = Math.max(1, Math.ceil((hours * HOUR) / bucketMs));
  const last = now - (now % bucketMs);
  return { bucketMs, starts: Array.from({ length: count }, (_, i) => last - (count - 1 - i) * bucketMs) };
}

const percentile = (sorted: number[], p: number): number | null =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
const stats = (values: number[]) => {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99) };
};

export async function replicationAnalytics(
  deps: ManagementDeps,
  scope: { followerAccountId?: string; groupId?: string },
  hours = 24,
) {
  const now = deps.clock.now();
  if (scope.followerAccountId && !(await getAccount(deps.db, scope.followerAccountId)))
    throw new AppError('account_not_found', undefined, { accountId: scope.followerAccountId });
  if (scope.groupId && !(await getGroup(deps.db, scope.groupId)))
    throw new AppError('group_not_found', undefined, { groupId: scope.groupId });
  const { bucketMs, starts } = buckets(now, hours);
  const windowMs = hours * HOUR;
  // The window reaches back to the first bucket's start, so the first bucket is whole.
  const since = Math.min(now - windowMs, starts[0]!);
  const rows = await ordersWrittenSince(deps.db, since, scope);
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  const finished = rows.filter((r) => ['filled', 'rejected', 'failed', 'expired'].includes(r.status));
  const filled = rows.filter((r) => r.status === 'filled');
  const seg = (a: keyof (typeof rows)[number], b: keyof (typeof rows)[number]) =>
    stats(rows.filter((r) => r[a] !== null && r[b] !== null).map((r) => Number(r[b]) - Number(r[a])));
  const perHour = new Map<number, { hour: number; copied: number; failed: number; latencies: number[] }>();
  for (const r of rows) {
    const hour = r.written_at - (r.written_at % 3_600_000);
    const h = perHour.get(hour) ?? { hour, copied: 0, failed: 0, latencies: [] };
    if (r.status === 'filled') h.copied++;
    if (['rejected', 'failed', 'expired'].includes(r.status)) h.failed++;
    if (r.signal_received_at !== null && r.reported_at !== null)
      h.latencies.push(r.reported_at - r.signal_received_at);
    perHour.set(hour, h);
  }
  const series = starts.map((start) => ({
    start,
    copied: 0,
    failed: 0,
    hops: Object.fromEntries(Object.keys(LATENCY_HOPS).map((k) => [k, [] as number[]])),
    total: [] as number[],
    slippage: [] as number[],
    profit: 0,
  }));
  for (const r of rows) {
    const b = series[Math.floor((r.written_at - starts[0]!) / bucketMs)];
    if (!b) continue;
    if (r.status === 'filled') b.copied++;
    if (['rejected', 'failed', 'expired'].includes(r.status)) b.failed++;
    for (const [hop, [a, z]] of Object.entries(LATENCY_HOPS))
      if (r[a] !== null && r[z] !== null) b.hops[hop]!.push(Number(r[z]) - Number(r[a]));
    if (r.signal_received_at !== null && r.reported_at !== null)
      b.total.push(r.reported_at - r.signal_received_at);
    if (r.status === 'filled') {
      if (r.slippage_points !== null) b.slippage.push(Number(r.slippage_points));
      b.profit += r.profit ?? 0;
    }
  }
  let cumulative = 0;
  return {
    scope,
    windowHours: hours,
    bucketMinutes: bucketMs / 60_000,
    copyOrders: rows.length,
    byStatus,
    copiedTrades: filled.filter((r) => r.kind === 'open').length,
    successRate: finished.length ? filled.length / finished.length : null,
    latencyMs: {
      signalToWritten: seg('signal_received_at', 'written_at'),
      writtenToDelivered: seg('written_at', 'delivered_at'),
      deliveredToAcknowledged: seg('delivered_at', 'acknowledged_at'),
      signalToDelivered: seg('signal_received_at', 'delivered_at'),
      acknowledgedToExecuted: seg('acknowledged_at', 'reported_at'),
      signalToExecuted: seg('signal_received_at', 'reported_at'),
      masterDealToExecuted: seg('master_deal_at', 'executed_at'),
    },
    slippagePoints: stats(
      filled.filter((r) => r.slippage_points !== null).map((r) => Number(r.slippage_points)),
    ),
    slippageAmount: filled.reduce((sum, r) => sum + (r.slippage_amount ?? 0), 0),
    profit: filled.reduce((sum, r) => sum + (r.profit ?? 0), 0),
    hourly: [...perHour.values()]
      .sort((a, b) => a.hour - b.hour)
      .map((h) => ({
        hour: isoTime(h.hour),
        copied: h.copied,
        failed: h.failed,
        latencyMs: stats(h.latencies),
      })),
    /**
     * One point per bucket, empty buckets included: the median of each hop and of the whole
     * copy, mean slippage of fills, realised PnL of the bucket and its running total.
     */
    series: series.map((b) => {
      cumulative += b.profit;
      return {
        at: isoTime(b.start),
        copied: b.copied,
        failed: b.failed,
        latencyMs: {
          ...(Object.fromEntries(
            Object.entries(b.hops).map(([hop, values]) => [hop, stats(values).p50]),
          ) as Record<keyof typeof LATENCY_HOPS, number | null>),
          signalToExecuted: stats(b.total).p50,
        },
        slippagePoints: b.slippage.length
          ? b.slippage.reduce((sum, v) => sum + v, 0) / b.slippage.length
          : null,
        profit: b.profit,
        cumulativeProfit: cumulative,
      };
    }),
  };
}
