import { useQuery } from '@tanstack/react-query';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import type { AdminSnapshot, ReplicationAnalytics } from '@kopitra/contracts';

export function useSnapshot() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.snapshot],
    queryFn: () => api.get<AdminSnapshot>('/api/admin/snapshot'),
    refetchInterval: 30_000,
  });
}

export function useReplication() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.analytics, 'replication'],
    queryFn: () => api.get<ReplicationAnalytics>('/api/admin/analytics/replication'),
    refetchInterval: 60_000,
  });
}
