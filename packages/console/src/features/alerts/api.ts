import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';
import type { Alert, Page, StopOut } from '@kopitra/contracts';

export const useAlerts = (open: string) =>
  useCursorList<Alert>(resources.alerts, '/api/admin/alerts', { open });

export function useStopOuts() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.stopouts],
    queryFn: () => api.get<Page<StopOut>>('/api/admin/stopouts', { limit: 200 }),
  });
}

export function useAckAlert() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (alertId: string) => api.post<Alert>(`/api/admin/alerts/${encodeURIComponent(alertId)}/ack`),
    onSuccess: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: [resources.alerts] }),
        client.invalidateQueries({ queryKey: [resources.snapshot] }),
      ]),
  });
}

export function useResetStopOut() {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (stopOutId: string) =>
      api.post<StopOut>(`/api/admin/stopouts/${encodeURIComponent(stopOutId)}/reset`),
    onSuccess: () => client.invalidateQueries({ queryKey: [resources.stopouts] }),
  });
}
