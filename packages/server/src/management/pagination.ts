import { AppError } from '@kopitra/contracts';

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
