import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { AccountPatchRequest, AccountRequest } from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';

export interface Account {
  accountId: string;
  displayName: string | null;
  platform: 'MT4' | 'MT5';
  broker: string | null;
  server: string | null;
  currency: string | null;
  status: 'active' | 'disabled';
  sessionPolicy: 'reject' | 'takeover';
  registeredBy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AccountKey {
  fingerprint: string;
  status: string;
  origin: string;
  expiresAt: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionReason: string | null;
  createdAt: string;
}

export interface Telemetry {
  balance: number | null;
  equity: number | null;
  margin: number | null;
  freeMargin: number | null;
  openPositions: number | null;
  latencyMs: number | null;
  autotradeEnabled: boolean | null;
  lastHeartbeatAt: string | null;
}

export interface AccountDetail extends Account {
  telemetry: Telemetry | null;
  keys: AccountKey[];
  latestSession: {
    sessionId: string;
    status: string;
    statusReason: string | null;
    role: string;
    createdAt: string;
    leaseExpiresAt: string | null;
    endedAt: string | null;
  } | null;
}

export interface IssuedKey {
  key: string;
  fingerprint: string;
  expiresAt: string | null;
}

export interface AccountAnalytics {
  copiedTrades: number;
  copyOrders: number;
  successRate: number | null;
  latencyMs: Record<string, { p50: number | null; p90: number | null }>;
  slippagePoints: { p50: number | null };
  profit: number;
}

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
      api.get<AccountAnalytics>(`/api/admin/analytics/accounts/${encodeURIComponent(accountId)}`),
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
