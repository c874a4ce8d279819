import { ListQuery, WebhookPatchRequest, WebhookRequest } from '@kopitra/contracts';
import type { ManagementDeps } from '../../services/management-deps.js';
import {
  createWebhook,
  deleteWebhook,
  listDeliveries,
  listWebhooks,
  setWebhookStatus,
} from '../../services/webhooks.js';
import { route } from '../registry.js';

export const webhookRoutes = (deps: ManagementDeps) => [
  route({
    method: 'GET',
    url: '/api/admin/webhooks',
    role: 'viewer',
    tag: 'webhooks',
    summary: 'Outgoing webhooks',
    handler: async () => listWebhooks(deps),
  }),
  route({
    method: 'POST',
    url: '/api/admin/webhooks',
    role: 'admin',
    tag: 'webhooks',
    summary: 'Register a webhook; its signing secret is shown once',
    body: WebhookRequest,
    status: 201,
    handler: async ({ body, operator }) => createWebhook(deps, body, operator.email),
  }),
  route({
    method: 'PATCH',
    url: '/api/admin/webhooks/{webhookId}',
    role: 'admin',
    tag: 'webhooks',
    summary: 'Enable or disable a webhook (disabling drops its pending deliveries)',
    body: WebhookPatchRequest,
    handler: async ({ body, operator, params }) =>
      setWebhookStatus(deps, params['webhookId']!, body.status, operator.email),
  }),
  route({
    method: 'DELETE',
    url: '/api/admin/webhooks/{webhookId}',
    role: 'admin',
    tag: 'webhooks',
    summary: 'Remove a webhook (pending deliveries are dropped)',
    handler: async ({ params, operator }) => deleteWebhook(deps, params['webhookId']!, operator.email),
  }),
  route({
    method: 'GET',
    url: '/api/admin/webhooks/{webhookId}/deliveries',
    // Deliveries carry what was sent and the receivers' answers: admins only.
    role: 'admin',
    tag: 'webhooks',
    summary: "A webhook's delivery log, newest first (admin only)",
    query: ListQuery,
    handler: async ({ params, query }) => listDeliveries(deps, params['webhookId']!, query.limit),
  }),
];
