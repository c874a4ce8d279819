import { createHash, randomBytes } from 'node:crypto';

const RANDOM_HEX = 20;

/** Sortable-enough, unguessable ids with a type prefix an operator can read: `ses_…`, `evt_…`. */
export const newId = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}${randomBytes(RANDOM_HEX / 2).toString('hex')}`;

/**
 * An id of `newId`'s shape derived from another id of that shape (`from`, whose time it takes,
 * so ids still sort by when their source was made) and `parts`: written again after a crash,
 * the same row gets the same id, and its unique constraint keeps it once.
 */
export const derivedId = (prefix: string, from: string, ...parts: string[]): string =>
  `${prefix}_${from.slice(from.indexOf('_') + 1, -RANDOM_HEX)}${createHash('sha256')
    .update([from, ...parts].join('\n'))
    .digest('hex')
    .slice(0, RANDOM_HEX)}`;
