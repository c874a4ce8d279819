import { AppError } from '@kopitra/contracts';
import { sql, type RawBuilder } from 'kysely';

/** Keyset cursors over (time, id), newest first: stable under inserts, cheap at any depth. */
export interface Cursor {
  t: number;
  id: string;
}

export const encodeCursor = (c: Cursor): string =>
  Buffer.from(JSON.stringify([c.t, c.id])).toString('base64url');

export function decodeCursor(raw: string | undefined): Cursor | null {
  if (!raw) return null;
  try {
    const [t, id] = JSON.parse(Buffer.from(raw, 'base64url').toString()) as [number, string];
    if (typeof t === 'number' && typeof id === 'string') return { t, id };
  } catch {
    // fall through
  }
  throw new AppError('invalid_request', 'The cursor is not one this API issued.');
}

export function page<T>(
  rows: T[],
  limit: number,
  key: (row: T) => Cursor,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}

/** Narrows a newest-first query to the rows after the cursor: (time, id) strictly below it. */
export function afterCursor<Q extends { where(expression: RawBuilder<boolean>): Q }>(
  query: Q,
  timeColumn: string,
  idColumn: string,
  cursor: Cursor | null,
): Q {
  if (!cursor) return query;
  const t = sql.ref(timeColumn);
  const id = sql.ref(idColumn);
  return query.where(sql<boolean>`(${t} < ${cursor.t} or (${t} = ${cursor.t} and ${id} < ${cursor.id}))`);
}

interface NewestFirstQuery<Q, Row> {
  where(expression: RawBuilder<boolean>): Q;
  orderBy(expression: RawBuilder<unknown>, direction: 'desc'): Q;
  limit(n: number): Q;
  execute(): Promise<Row[]>;
}

/** What a caller asks of a list: where to continue and how many. */
export interface PageInput {
  cursor?: string | undefined;
  limit: number;
}

/** One page of a list, newest first by (time, id), with the cursor of the next page. */
export async function listNewestFirst<Q extends NewestFirstQuery<Q, Row>, Row, View>(
  query: Q,
  order: { time: string; id: string; key: (row: Row) => Cursor },
  input: PageInput,
  view: (row: Row) => View,
): Promise<{ items: View[]; nextCursor: string | null }> {
  const rows = await afterCursor(query, order.time, order.id, decodeCursor(input.cursor))
    .orderBy(sql.ref(order.time), 'desc')
    .orderBy(sql.ref(order.id), 'desc')
    .limit(input.limit + 1)
    .execute();
  const p = page(rows, input.limit, order.key);
  return { items: p.items.map(view), nextCursor: p.nextCursor };
}
