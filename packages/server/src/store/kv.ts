import { randomBytes } from 'node:crypto';
import type { Db } from './schema.js';

/**
 * The instance secret keys HMACs of account keys and session tokens. Configured secrets win;
 * otherwise one is generated on first start and kept in the database so every replica and
 * every restart agrees on it.
 */
export async function instanceSecret(db: Db, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const existing = await db
    .selectFrom('kv')
    .select('value')
    .where('key', '=', 'instance_secret')
    .executeTakeFirst();
  if (existing) return existing.value;
  await db
    .insertInto('kv')
    .values({ key: 'instance_secret', value: randomBytes(32).toString('base64url') })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db
    .selectFrom('kv')
    .select('value')
    .where('key', '=', 'instance_secret')
    .executeTakeFirstOrThrow();
  return row.value;
}
