import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { WebhookRequest } from '@kopitra/contracts';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';

export type WebhookEventType = WebhookRequest['eventTypes'][number];
/** Every event a webhook can subscribe to (the API's `webhookEventTypes`; the type keeps them in step). */
export const EVENT_TYPES: WebhookEventType[] = [
  'signal.accepted',
  'copy_order.updated',
  'alert.raised',
  'session.state_changed',
  'session.forbidden_attempt',
];

export interface Webhook {
  webhookId: string;
  url: string;
  eventTypes: WebhookEventType[];
  description: string | null;
  status: 'active' | 'disabled';
  createdBy: string;
  createdAt: string;
}

export interface Delivery {
  deliveryId: string;
  eventType: string;
  messageId: string;
  status: 'pending' | 'delivered' | 'failed' | 'dropped';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export function useWebhooks() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.webhooks],
    queryFn: () => api.get<{ items: Webhook[] }>('/api/admin/webhooks').then((r) => r.items),
  });
}

export function useDeliveries(webhookId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.webhooks, 'deliveries', webhookId],
    queryFn: () =>
      api
        .get<{ items: Delivery[] }>(`/api/admin/webhooks/${encodeURIComponent(webhookId)}/deliveries`, {
          limit: 50,
        })
        .then((r) => r.items),
  });
}

function useInvalidate() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: [resources.webhooks] });
}

export function useCreateWebhook() {
  const api = useApi();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (body: WebhookRequest) => api.post<Webhook & { secret: string }>('/api/admin/webhooks', body),
    onSuccess: invalidate,
  });
}

export function useSetWebhookStatus(webhookId: string) {
  const api = useApi();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: (status: Webhook['status']) =>
      api.patch<Webhook>(`/api/admin/webhooks/${encodeURIComponent(webhookId)}`, { status }),
    onSuccess: invalidate,
  });
}

export function useDeleteWebhook(webhookId: string) {
  const api = useApi();
  const invalidate = useInvalidate();
  return useMutation({
    mutationFn: () => api.delete<{ deleted: true }>(`/api/admin/webhooks/${encodeURIComponent(webhookId)}`),
    onSuccess: invalidate,
  });
}
