/**
 * Opens that a follower could not receive while they were fresh expire instead of being
 * executed late: the copy order says why, the link is marked, and the event leaves the outbox.
 */
import { describeReason } from '@kopitra/engine';
import { expireOpenOrder, type CopyOrderRow } from '../../store/copy.js';
import type { Db } from '../../store/schema.js';
import type { GatewayDeps } from '../deps.js';
import { publishOrderUpdate } from './order-events.js';

export async function expireOpens(
  deps: GatewayDeps,
  db: Db,
  orders: CopyOrderRow[],
  now: number,
): Promise<number> {
  let expired = 0;
  for (const o of orders) {
    const late = Math.round((now - (o.expires_at ?? now)) / 1000);
    const detail = `${describeReason('signal_too_old')} Expired ${late} s before delivery.`;
    const updated = await expireOpenOrder(db, o, detail, now);
    if (!updated) continue;
    expired++;
    await publishOrderUpdate(deps, db, updated);
  }
  return expired;
}
