import type { ReactNode } from 'react';
import { ErrorNotice } from './error-notice';

/** Loading, failed and empty states of a query, so every page says which one it is in. */
export function QueryState({
  isPending,
  error,
  empty,
  emptyText = 'Nothing here yet.',
  children,
}: {
  isPending: boolean;
  error: unknown;
  empty?: boolean;
  emptyText?: string;
  children: ReactNode;
}) {
  if (isPending)
    return (
      <p className="muted" role="status">
        Loading…
      </p>
    );
  if (error) return <ErrorNotice error={error} title="Could not load" />;
  if (empty) return <p className="muted empty">{emptyText}</p>;
  return <>{children}</>;
}

export function LoadMore({
  hasNextPage,
  isFetchingNextPage,
  fetchNextPage,
}: {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage: () => unknown;
}) {
  if (!hasNextPage) return null;
  return (
    <div className="load-more">
      <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
        {isFetchingNextPage ? 'Loading…' : 'Load more'}
      </button>
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <header className="page-header">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </header>
  );
}
