import type { ReactNode } from 'react';
import { LoadMore, QueryState } from './states';

/** A column heading; `num` right-aligns a numeric column, `false` leaves the column out. */
export type Column = string | { label: string; num: true } | false;

/** A list query: the items so far and, for a cursor list, how to load the next page. */
type ListQuery<T> = {
  isPending: boolean;
  error: unknown;
  items: readonly T[];
  hasNextPage?: boolean;
  isFetchingNextPage?: boolean;
  fetchNextPage?: () => unknown;
};

/**
 * A list page's table: its loading, failed and empty states, the headings, one row an item
 * (the row sets its own key) and "load more" while the list has further pages.
 */
export function ListTable<T>({
  list,
  columns,
  row,
  emptyText,
  testId,
}: {
  list: ListQuery<T>;
  columns: readonly Column[];
  row: (item: T) => ReactNode;
  emptyText: string;
  testId: string;
}) {
  return (
    <QueryState
      isPending={list.isPending}
      error={list.error}
      empty={list.items.length === 0}
      emptyText={emptyText}
    >
      <table className="table" data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c, i) =>
              c === false ? null : typeof c === 'string' ? (
                <th key={i}>{c}</th>
              ) : (
                <th key={i} className="num">
                  {c.label}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{list.items.map(row)}</tbody>
      </table>
      {list.fetchNextPage && (
        <LoadMore
          hasNextPage={list.hasNextPage ?? false}
          isFetchingNextPage={list.isFetchingNextPage ?? false}
          fetchNextPage={list.fetchNextPage}
        />
      )}
    </QueryState>
  );
}
