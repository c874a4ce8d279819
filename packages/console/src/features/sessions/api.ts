import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { Session } from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';

export const SESSION_STATUSES = [
  'pending',
  'authenticated',
  'expired',
  'terminated',
  'rejected',
  'retired',
] as const satisfies readonly Session['status'][];

export const useSessions = (filters: { status?: string; accountId?: string }) =>
  useCursorList<Session>(resources.sessions, '/api/admin/sessions', filters);

type Decision =
  { action: 'approve'; expiresAt: string | null } | { action: 'reject' | 'terminate'; reason: string };

/** Approve, reject or terminate; the session's new state arrives on the live stream. */
export function useSessionDecision(sessionId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (d: Decision) =>
      api.post(
        `/api/admin/sessions/${encodeURIComponent(sessionId)}/${d.action}`,
        d.action === 'approve' ? (d.expiresAt ? { expiresAt: d.expiresAt } : {}) : { reason: d.reason },
      ),
    onSettled: () => client.invalidateQueries({ queryKey: [resources.sessions] }),
  });
}
