/**
 * Outgoing webhooks: trade and alert events from `trade-agent-events`, signed with
 * HMAC-SHA256 (`X-Kopitra-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>.<body>")>`),
 * retried with exponential back-off, every attempt recorded in the delivery log.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type { BusMessage, HandlerContext } from '../bus/bus.js';
import { newId } from '../store/ids.js';
import type { WebhookDeliveriesTable } from '../store/schema.js';
import type { ManagementDeps } from './management-deps.js';

export const MAX_ATTEMPTS = 10;
export const WEBHOOK_CHANNEL = 'webhooks:due';

const keyOf = (tokenKey: Uint8Array) => createHmac('sha256', tokenKey).update('webhook-secrets').digest();

export function sealSecret(tokenKey: Uint8Array, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(tokenKey), iv);
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

export function openSecret(tokenKey: Uint8Array, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', keyOf(tokenKey), iv!);
  decipher.setAuthTag(tag!);
  return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8');
}

export const signature = (secret: string, timestampSec: number, body: string): string =>
  `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;

/** Back-off after the n-th failed attempt: 5 s, 10 s, 20 s … capped at one hour. */
export const backoffMs = (attempts: number): number =>
  Math.min(3_600_000, 5_000 * 2 ** Math.max(0, attempts - 1));

/** Bus consumer: one delivery per matching webhook, recorded in the delivery's transaction (once per message). */
export function webhookFanout(deps: ManagementDeps) {
  return async (message: BusMessage, ctx: HandlerContext) => {
    const type = (message.body as { type?: string }).type;
    if (!type) return;
    const hooks = await ctx.db.selectFrom('webhooks').select(['webhook_id', 'event_types']).execute();
    const now = deps.clock.now();
    let queued = 0;
    for (const h of hooks) {
      if (!(JSON.parse(h.event_types) as string[]).includes(type)) continue;
      await ctx.db
        .insertInto('webhook_deliveries')
        .values({
          delivery_id: newId('dlv'),
          webhook_id: h.webhook_id,
          message_id: message.messageId,
          event_type: type,
          payload: JSON.stringify(message.body),
          status: 'pending',
          attempts: 0,
          next_attempt_at: now,
          last_status: null,
          last_error: null,
          created_at: now,
          delivered_at: null,
        })
        .onConflict((oc) => oc.columns(['webhook_id', 'message_id']).doNothing())
        .execute();
      queued++;
    }
    if (queued) await deps.notifier.notify(ctx.db, WEBHOOK_CHANNEL);
  };
}

export type Send = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number }>;

/** Sends every delivery that is due, once each; returns how many were attempted. */
export async function dispatchDue(
  deps: ManagementDeps,
  send: Send = (url, init) => fetch(url, init),
): Promise<number> {
  const now = deps.clock.now();
  const due = await deps.db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.webhook_id', 'd.webhook_id')
    .select(['d.delivery_id', 'd.attempts', 'd.payload', 'd.event_type', 'w.url', 'w.secret_enc'])
    .where('d.status', '=', 'pending')
    .where('d.next_attempt_at', '<=', now)
    .orderBy('d.next_attempt_at')
    .limit(20)
    .execute();
  await Promise.all(
    due.map(async (d) => {
      const body = d.payload;
      const ts = Math.floor(deps.clock.now() / 1000);
      let status: number | null = null;
      let error: string | null = null;
      try {
        const res = await send(d.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-kopitra-event': d.event_type,
            'x-kopitra-delivery': d.delivery_id,
            'x-kopitra-signature': signature(openSecret(deps.tokenKey, d.secret_enc), ts, body),
          },
          body,
          signal: AbortSignal.timeout(5000),
        });
        status = res.status;
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const attempts = d.attempts + 1;
      const patch: Partial<WebhookDeliveriesTable> =
        error === null
          ? {
              status: 'delivered',
              attempts,
              last_status: status,
              last_error: null,
              delivered_at: deps.clock.now(),
            }
          : {
              status: attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
              attempts,
              last_status: status,
              last_error: error,
              next_attempt_at: deps.clock.now() + backoffMs(attempts),
            };
      await deps.db
        .updateTable('webhook_deliveries')
        .set(patch)
        .where('delivery_id', '=', d.delivery_id)
        .execute();
    }),
  );
  return due.length;
}
