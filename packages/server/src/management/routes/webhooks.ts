import { randomBytes } from 'node:crypto';
import { AppError, ListQuery, WebhookRequest } from '@kopitra/contracts';
import { newId } from '../../store/ids.js';
import { inTransaction } from '../../store/transaction.js';
import { appendAudit } from '../../services/audit.js';
import type { ManagementDeps } from '../../services/management-deps.js';
import { route } from '../registry.js';
import { sealSecret } from '../../services/webhooks.js';

const t = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
const view = (w: {
  webhook_id: string;
  url: string;
  event_types: string;
  description: string | null;
  created_by: string;
  created_at: number;
}) => ({
  webhookId: w.webhook_id,
  url: w.url,
  eventTypes: JSON.parse(w.event_types) as string[],
  description: w.description,
  createdBy: w.created_by,
  createdAt: t(w.created_at),
});

export const webhookRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/webhooks',
    role: 'viewer',
    tag: 'webhooks',
    summary: 'Outgoing webhooks',
    handler: async () => ({
      items: (await deps.db.selectFrom('webhooks').selectAll().orderBy('created_at').execute()).map(view),
      nextCursor: null,
    }),
  }),
  route({
    method: 'POST',
    url: '/api/admin/webhooks',
    role: 'admin',
    tag: 'webhooks',
    summary: 'Register a webhook; its signing secret is shown once',
    body: WebhookRequest,
    status: 201,
    handler: async ({ body, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const secret = `whsec_${randomBytes(24).toString('base64url')}`;
        const now = deps.clock.now();
        const row = {
          webhook_id: newId('whk'),
          url: body.url,
          event_types: JSON.stringify(body.eventTypes),
          secret_enc: sealSecret(deps.tokenKey, secret),
          description: body.description ?? null,
          created_by: operator.email,
          created_at: now,
        };
        await trx.insertInto('webhooks').values(row).execute();
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'webhook.create',
            targetType: 'webhook',
            targetId: row.webhook_id,
            after: view(row),
          },
          now,
        );
        return { ...view(row), secret };
      }),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/webhooks/{webhookId}',
    role: 'admin',
    tag: 'webhooks',
    summary: 'Remove a webhook (pending deliveries are dropped)',
    handler: async ({ params, operator }) =>
      inTransaction(deps.db, async ({ trx }) => {
        const row = await trx
          .selectFrom('webhooks')
          .selectAll()
          .where('webhook_id', '=', params['webhookId']!)
          .executeTakeFirst();
        if (!row) throw new AppError('not_found', 'No webhook with this id.');
        await trx.deleteFrom('webhooks').where('webhook_id', '=', row.webhook_id).execute();
        await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'dropped' })
          .where('webhook_id', '=', row.webhook_id)
          .where('status', '=', 'pending')
          .execute();
        await appendAudit(
          trx,
          {
            actor: operator.email,
            action: 'webhook.delete',
            targetType: 'webhook',
            targetId: row.webhook_id,
            before: view(row),
          },
          deps.clock.now(),
        );
        return { deleted: true };
      }),
  }),
  route({
    method: 'GET',
    url: '/api/admin/webhooks/{webhookId}/deliveries',
    role: 'viewer',
    tag: 'webhooks',
    summary: "A webhook's delivery log, newest first",
    query: ListQuery,
    handler: async ({ params, query }) => {
      const rows = await deps.db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('webhook_id', '=', params['webhookId']!)
        .orderBy('created_at', 'desc')
        .limit(query.limit)
        .execute();
      return {
        items: rows.map((d) => ({
          deliveryId: d.delivery_id,
          eventType: d.event_type,
          messageId: d.message_id,
          status: d.status,
          attempts: d.attempts,
          lastStatus: d.last_status,
          lastError: d.last_error,
          nextAttemptAt: t(d.next_attempt_at),
          createdAt: t(d.created_at),
          deliveredAt: t(d.delivered_at),
        })),
        nextCursor: null,
      };
    },
  }),
];
