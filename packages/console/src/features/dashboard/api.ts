import { useQuery } from '@tanstack/react-query';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import type { User } from '../../shared/api/types';

export interface Snapshot {
  user: User;
  counts: {
    accounts: number;
    sessionsOnline: number;
    pendingApprovals: number;
    openAlerts: number;
    groups: number;
    copyOrders24h: number;
    failedOrders24h: number;
  };
}

export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface HourlyPoint {
  hour: string;
  copied: number;
  failed: number;
  latencyMs: Percentiles;
}

export interface Replication {
  windowHours: number;
  copyOrders: number;
  byStatus: Record<string, number>;
  copiedTrades: number;
  successRate: number | null;
  latencyMs: Record<string, Percentiles>;
  slippagePoints: Percentiles;
  slippageAmount: number;
  profit: number;
  hourly: HourlyPoint[];
}

export function useSnapshot() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.snapshot],
    queryFn: () => api.get<Snapshot>('/api/admin/snapshot'),
    refetchInterval: 30_000,
  });
}

export function useReplication() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.analytics, 'replication'],
    queryFn: () => api.get<Replication>('/api/admin/analytics/replication'),
    refetchInterval: 60_000,
  });
}
