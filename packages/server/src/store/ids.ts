import { randomBytes } from 'node:crypto';

/** Sortable-enough, unguessable ids with a type prefix an operator can read: `ses_…`, `evt_…`. */
export const newId = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}${randomBytes(10).toString('hex')}`;
