import { useQuery } from '@tanstack/react-query';
import { useApi } from './api-context';
import { resources } from './query-keys';
import type { Page } from '@kopitra/contracts';

/** Account ids for pickers (groups, tasks); accounts are few, the first 500 are plenty. */
export function useAccountIds() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.accounts, 'ids'],
    queryFn: async () =>
      (await api.get<Page<{ accountId: string }>>('/api/admin/accounts', { limit: 500 })).items.map(
        (a) => a.accountId,
      ),
  });
}
