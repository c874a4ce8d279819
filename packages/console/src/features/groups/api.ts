import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  Group,
  GroupPatchRequest,
  GroupRequest,
  ManagementResponses,
  Page,
  ReplicationAnalytics,
  SubscriptionPut,
  SymbolResolution,
  SymbolSynonyms,
} from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';

const path = (groupId: string) => `/api/admin/groups/${encodeURIComponent(groupId)}`;

export function useGroups() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.groups, 'list'],
    queryFn: () => api.get<Page<Group>>('/api/admin/groups'),
  });
}

export function useGroup(groupId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.groups, 'detail', groupId],
    queryFn: () => api.get<Group>(path(groupId)),
  });
}

export function useGroupAnalytics(groupId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.analytics, 'group', groupId],
    queryFn: () =>
      api.get<ReplicationAnalytics>(`/api/admin/analytics/groups/${encodeURIComponent(groupId)}`),
  });
}

function useGroupMutation<V, R>(fn: (v: V) => Promise<R>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: () => client.invalidateQueries({ queryKey: [resources.groups] }),
  });
}

export function useCreateGroup() {
  const api = useApi();
  return useGroupMutation((body: GroupRequest) => api.post<Group>('/api/admin/groups', body));
}

export function usePatchGroup(groupId: string) {
  const api = useApi();
  return useGroupMutation((body: GroupPatchRequest) => api.patch<Group>(path(groupId), body));
}

export function useDeleteGroup(groupId: string) {
  const api = useApi();
  return useGroupMutation(() =>
    api.delete<ManagementResponses['DELETE /api/admin/groups/{groupId}']>(path(groupId)),
  );
}

/** Subscribes a follower or replaces all its settings (unset fields take their defaults). */
export function usePutFollower(groupId: string) {
  const api = useApi();
  return useGroupMutation((v: { accountId: string; settings: Record<string, unknown> }) =>
    api.put<SubscriptionPut>(`${path(groupId)}/followers/${encodeURIComponent(v.accountId)}`, v.settings),
  );
}

export function useRemoveFollower(groupId: string) {
  const api = useApi();
  return useGroupMutation((accountId: string) =>
    api.delete<ManagementResponses['DELETE /api/admin/groups/{groupId}/followers/{accountId}']>(
      `${path(groupId)}/followers/${encodeURIComponent(accountId)}`,
    ),
  );
}

/** How each master symbol resolves for one follower, by the engine's own rules. */
export function useSymbolResolution(groupId: string, accountId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.groups, 'symbols', groupId, accountId],
    queryFn: () =>
      api.get<SymbolResolution>(`${path(groupId)}/followers/${encodeURIComponent(accountId)}/symbols`),
  });
}

const SYNONYMS = '/api/admin/symbol-synonyms';

export function useSymbolSynonyms() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.groups, 'synonyms'],
    queryFn: () => api.get<SymbolSynonyms>(SYNONYMS),
  });
}

export function usePutSymbolSynonyms() {
  const api = useApi();
  return useGroupMutation((groups: string[][]) => api.put<SymbolSynonyms>(SYNONYMS, { groups }));
}

export function useResetSymbolSynonyms() {
  const api = useApi();
  return useGroupMutation(() => api.delete<SymbolSynonyms>(SYNONYMS));
}
