import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  CreatedUser,
  OneTimePassword,
  Page,
  User,
  UserCreateRequest,
  UserPatchRequest,
} from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';

export function useOperators() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.users],
    queryFn: () => api.get<Page<User>>('/api/admin/users').then((r) => r.items),
  });
}

function useInvalidate() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: [resources.users] });
}

export function useInviteOperator() {
  const api = useApi();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: UserCreateRequest) => api.post<CreatedUser>('/api/admin/users', body),
    onSuccess: invalidate,
  });
}

export function usePatchOperator(userId: string) {
  const api = useApi();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: UserPatchRequest) =>
      api.patch<User>(`/api/admin/users/${encodeURIComponent(userId)}`, body),
    onSuccess: invalidate,
  });
}

export function useResetPassword(userId: string) {
  const api = useApi();
  return useMutation({
    mutationFn: () =>
      api.post<OneTimePassword>(`/api/admin/users/${encodeURIComponent(userId)}/reset-password`),
  });
}
