/** Single-use tickets that open the console's live stream; only their hashes are stored. */
import type { Db } from './schema.js';

export async function insertStreamTicket(
  db: Db,
  t: { ticketHash: string; userId: string; tokenId: string; expiresAt: number },
  now: number,
): Promise<void> {
  await db
    .insertInto('stream_tickets')
    .values({
      ticket_hash: t.ticketHash,
      user_id: t.userId,
      token_id: t.tokenId,
      expires_at: t.expiresAt,
      created_at: now,
    })
    .execute();
}

/** Takes a ticket: deleting it is what makes it single-use, across replicas. */
export const takeStreamTicket = (db: Db, ticketHash: string) =>
  db
    .deleteFrom('stream_tickets')
    .where('ticket_hash', '=', ticketHash)
    .returning(['user_id', 'token_id', 'expires_at'])
    .executeTakeFirst();

/** Deletes one batch of tickets that expired before `before` unused. */
export async function deleteExpiredStreamTickets(db: Db, before: number, batch: number): Promise<number> {
  const res = await db
    .deleteFrom('stream_tickets')
    .where(
      'ticket_hash',
      'in',
      db.selectFrom('stream_tickets').select('ticket_hash').where('expires_at', '<', before).limit(batch),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
