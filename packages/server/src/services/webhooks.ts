/**
 * Outgoing webhooks: trade and alert events from `trade-agent-events`, signed with
 * HMAC-SHA256 (`X-Kopitra-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>.<body>")>`),
 * one claimed `webhook.deliver` job per delivery (retried with the back-off, dead after
 * MAX_ATTEMPTS), every attempt recorded in the delivery log. Targets are checked by
 * webhook-target.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { BusMessage, HandlerContext } from '../bus/bus.js';
import { AppError, type WebhookRequest } from '@kopitra/contracts';
import { newId } from '../store/ids.js';
import { inTransaction } from '../store/transaction.js';
import {
  deleteWebhook as deleteWebhookRow,
  deliveryToSend,
  getWebhook,
  insertDelivery,
  insertWebhook,
  listWebhookRows,
  recentDeliveries,
  setWebhookStatusRow,
  updateDelivery,
  webhookSubscriptions,
} from '../store/webhooks.js';
import { appendAudit } from './audit.js';
import { deliveryView, webhookView } from './views.js';
import { backoffMs, type BackoffPolicy } from '@kopitra/engine';
import { enqueueJob, type JobDefinition } from './job-worker.js';
import type { ManagementDeps } from './management-deps.js';
import { checkWebhookUrl, type WebhookSender } from './webhook-target.js';
import { seal, unseal } from './secrets.js';

export const MAX_ATTEMPTS = 10;
export const WEBHOOK_DELIVERY_JOB = 'webhook.deliver';

const keyOf = (tokenKey: Uint8Array) => createHmac('sha256', tokenKey).update('webhook-secrets').digest();

export const sealSecret = (tokenKey: Uint8Array, secret: string): string => seal(keyOf(tokenKey), secret);

export const openSecret = (tokenKey: Uint8Array, sealed: string): string => unseal(keyOf(tokenKey), sealed);

export const signature = (secret: string, timestampSec: number, body: string): string =>
  `t=${timestampSec},v1=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;

/** Retries after 5 s, 10 s, 20 s … capped at one hour. */
export const WEBHOOK_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 5_000, maxMs: 3_600_000 });

/** Bus consumer: one delivery and its job per matching webhook, in the message's transaction (once per message). */
export function webhookFanout(deps: ManagementDeps) {
  return async (message: BusMessage, ctx: HandlerContext) => {
    const type = (message.body as { type?: string }).type;
    if (!type) return;
    const hooks = await webhookSubscriptions(ctx.db);
    const now = deps.clock.now();
    for (const h of hooks) {
      if (!(JSON.parse(h.event_types) as string[]).includes(type)) continue;
      const deliveryId = newId('dlv');
      const inserted = await insertDelivery(ctx.db, {
        delivery_id: deliveryId,
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
      });
      if (!inserted) continue;
      await enqueueJob(
        ctx.db,
        deps.notifier,
        {
          kind: WEBHOOK_DELIVERY_JOB,
          payload: { deliveryId },
          uniqueKey: `${WEBHOOK_DELIVERY_JOB}:${deliveryId}`,
          maxAttempts: MAX_ATTEMPTS,
        },
        now,
      );
    }
  };
}

export function webhookDeliveryJob(deps: ManagementDeps, sender: WebhookSender): JobDefinition {
  return {
    kind: WEBHOOK_DELIVERY_JOB,
    maxAttempts: MAX_ATTEMPTS,
    backoff: WEBHOOK_BACKOFF,
    run: async (payload, ctx) => {
      const { deliveryId } = payload as { deliveryId: string };
      const d = await deliveryToSend(deps.db, deliveryId);
      // Dropped with its webhook, or already settled: nothing to send.
      if (!d || d.status !== 'pending') return;
      const body = d.payload;
      const ts = Math.floor(deps.clock.now() / 1000);
      const result = await sender.send(d.url, {
        headers: {
          'content-type': 'application/json',
          'x-kopitra-event': d.event_type,
          'x-kopitra-delivery': d.delivery_id,
          'x-kopitra-signature': signature(openSecret(deps.tokenKey, d.secret_enc), ts, body),
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(5000), ctx.signal]),
      });
      const status = 'status' in result ? result.status : null;
      // A redirect is an answer, not an instruction: it is recorded and never followed.
      const error =
        'error' in result ? result.error : status! < 200 || status! >= 300 ? `HTTP ${status}` : null;
      const attempts = ctx.job.attempts;
      if (error === null) {
        await ctx.complete(({ trx }) =>
          updateDelivery(trx, deliveryId, {
            status: 'delivered',
            attempts,
            last_status: status,
            last_error: null,
            delivered_at: deps.clock.now(),
          }),
        );
        return;
      }
      await updateDelivery(deps.db, deliveryId, {
        attempts,
        last_status: status,
        last_error: error,
        next_attempt_at: deps.clock.now() + backoffMs(WEBHOOK_BACKOFF, attempts),
      });
      throw new Error(`webhook delivery ${deliveryId}: ${error}`);
    },
    onDead: async ({ trx }, job) => {
      const { deliveryId } = job.payload as { deliveryId: string };
      await updateDelivery(trx, deliveryId, { status: 'failed' }, true);
    },
  };
}

export const listWebhooks = async (deps: Pick<ManagementDeps, 'db'>) => ({
  items: (await listWebhookRows(deps.db)).map(webhookView),
  nextCursor: null,
});

/** Registers a webhook after checking its target (see webhook-target.ts); the secret is shown once. */
export const createWebhook = (deps: ManagementDeps, body: WebhookRequest, actor: string) => {
  checkWebhookUrl(body.url, deps.webhookTargets);
  return inTransaction(deps.db, async ({ trx }) => {
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const now = deps.clock.now();
    const row = {
      webhook_id: newId('whk'),
      url: body.url,
      event_types: JSON.stringify(body.eventTypes),
      secret_enc: sealSecret(deps.tokenKey, secret),
      description: body.description ?? null,
      status: 'active' as const,
      created_by: actor,
      created_at: now,
    };
    await insertWebhook(trx, row);
    await appendAudit(
      trx,
      {
        actor,
        action: 'webhook.create',
        targetType: 'webhook',
        targetId: row.webhook_id,
        after: webhookView(row),
      },
      now,
    );
    return { ...webhookView(row), secret };
  });
};

/** Removes a webhook; its pending deliveries are dropped. */
export const deleteWebhook = (deps: ManagementDeps, webhookId: string, actor: string) =>
  inTransaction(deps.db, async ({ trx }) => {
    const row = await getWebhook(trx, webhookId);
    if (!row) throw new AppError('not_found', 'No webhook with this id.', { webhookId });
    await deleteWebhookRow(trx, row.webhook_id);
    await appendAudit(
      trx,
      {
        actor,
        action: 'webhook.delete',
        targetType: 'webhook',
        targetId: row.webhook_id,
        before: webhookView(row),
      },
      deps.clock.now(),
    );
    return { deleted: true as const };
  });

/** Enables or disables a webhook; disabling drops its pending deliveries, and it gets no new ones. */
export const setWebhookStatus = (
  deps: ManagementDeps,
  webhookId: string,
  status: 'active' | 'disabled',
  actor: string,
) =>
  inTransaction(deps.db, async ({ trx }) => {
    const before = await getWebhook(trx, webhookId);
    if (!before) throw new AppError('not_found', 'No webhook with this id.', { webhookId });
    if (before.status === status) return webhookView(before);
    await setWebhookStatusRow(trx, webhookId, status);
    const after = { ...before, status };
    await appendAudit(
      trx,
      {
        actor,
        action: status === 'disabled' ? 'webhook.disable' : 'webhook.enable',
        targetType: 'webhook',
        targetId: webhookId,
        before: webhookView(before),
        after: webhookView(after),
      },
      deps.clock.now(),
    );
    return webhookView(after);
  });

/** A webhook's delivery log, newest first: status, attempts, the receiver's last answer, next retry. */
export const listDeliveries = async (deps: Pick<ManagementDeps, 'db'>, webhookId: string, limit: number) => {
  if (!(await getWebhook(deps.db, webhookId)))
    throw new AppError('not_found', 'No webhook with this id.', { webhookId });
  return { items: (await recentDeliveries(deps.db, webhookId, limit)).map(deliveryView), nextCursor: null };
};
