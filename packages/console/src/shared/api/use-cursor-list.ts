import { useInfiniteQuery } from '@tanstack/react-query';
import { useApi } from './api-context';
import type { Query } from './client';
import type { Page } from '@kopitra/contracts';
import type { Resource } from './query-keys';

/** A cursor-paginated list route as one growing list ("load more"), refetched whole on invalidation. */
export function useCursorList<T>(resource: Resource, path: string, filters: Query = {}, limit = 50) {
  const api = useApi();
  const query = useInfiniteQuery({
    queryKey: [resource, 'list', path, filters, limit],
    queryFn: ({ pageParam }) => api.get<Page<T>>(path, { ...filters, limit, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const items = query.data?.pages.flatMap((p) => p.items) ?? [];
  return { ...query, items };
}
