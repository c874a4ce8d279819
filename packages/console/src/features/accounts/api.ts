import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  Account,
  AccountDetail,
  AccountKey,
  AccountPatchRequest,
  AccountRequest,
  IssuedKey,
  ReplicationAnalytics,
  SignalSecretIssued,
} from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';

const detailKey = (accountId: string) => [resources.accounts, 'detail', accountId];
const path = (accountId: string) => `/api/admin/accounts/${encodeURIComponent(accountId)}`;

export const useAccounts = () => useCursorList<Account>(resources.accounts, '/api/admin/accounts', {}, 100);

export function useAccount(accountId: string) {
  const api = useApi();
  return useQuery({ queryKey: detailKey(accountId), queryFn: () => api.get<AccountDetail>(path(accountId)) });
}

export function useAccountAnalytics(accountId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.analytics, 'account', accountId],
    queryFn: () =>
      api.get<ReplicationAnalytics>(`/api/admin/analytics/accounts/${encodeURIComponent(accountId)}`),
  });
}

function useInvalidateAccounts() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: [resources.accounts] });
}

export function useCreateAccount() {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: (body: AccountRequest) => api.post<Account>('/api/admin/accounts', body),
    onSuccess: invalidate,
  });
}

export function usePatchAccount(accountId: string) {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: (body: AccountPatchRequest) => api.patch<Account>(path(accountId), body),
    onSuccess: invalidate,
  });
}

export function useIssueKey(accountId: string) {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: (expiresAt: string | null) =>
      api.post<IssuedKey>(`${path(accountId)}/keys`, expiresAt ? { expiresAt } : {}),
    onSuccess: invalidate,
  });
}

export function useRevokeKey(accountId: string) {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: (fingerprint: string) =>
      api.delete<AccountKey>(`${path(accountId)}/keys/${encodeURIComponent(fingerprint)}`),
    onSuccess: invalidate,
  });
}

export function useRotateSignalSecret(accountId: string) {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: () => api.post<SignalSecretIssued>(`${path(accountId)}/signal-secret`, {}),
    onSuccess: invalidate,
  });
}

export function useRevokeSignalSecret(accountId: string) {
  const api = useApi();
  const invalidate = useInvalidateAccounts();
  return useMutation({
    mutationFn: () => api.delete<{ accountId: string; revoked: true }>(`${path(accountId)}/signal-secret`),
    onSuccess: invalidate,
  });
}
