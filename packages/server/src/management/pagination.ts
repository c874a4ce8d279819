import { AppError } from '@kopitra/contracts';
import { sql, type RawBuilder } from 'kysely';

/** Keyset cursors over (time, id), newest first: stable under inserts, cheap at any depth. */
export interface Cursor {
  t: number;
  id: string;
}

export const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify([c.t, c.id])).toString('base64url');

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

export function page<T>(rows: T[], limit: number, key: (row: T) => Cursor): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}

/** Narrows a newest-first query to the rows after the cursor: (time, id) strictly below it. */
export function afterCursor<Q extends { where(expression: RawBuilder<boolean>): Q }>(query: Q, timeColumn: string, idColumn: string, cursor: Cursor | null): Q {
  if (!cursor) return query;
  const t = sql.ref(timeColumn);
  const id = sql.ref(idColumn);
  return query.where(sql<boolean>`(${t} < ${cursor.t} or (${t} = ${cursor.t} and ${id} < ${cursor.id}))`);
}
