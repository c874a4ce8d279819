import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  CreatedWebhook,
  Delivery,
  ManagementResponses,
  Page,
  Webhook,
  WebhookRequest,
} from '@kopitra/contracts';
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

export function useWebhooks() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.webhooks],
    queryFn: () => api.get<Page<Webhook>>('/api/admin/webhooks').then((r) => r.items),
  });
}

export function useDeliveries(webhookId: string) {
  const api = useApi();
  return useQuery({
    queryKey: [resources.webhooks, 'deliveries', webhookId],
    queryFn: () =>
      api
        .get<Page<Delivery>>(`/api/admin/webhooks/${encodeURIComponent(webhookId)}/deliveries`, {
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
    mutationFn: (body: WebhookRequest) => api.post<CreatedWebhook>('/api/admin/webhooks', body),
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
    mutationFn: () =>
      api.delete<ManagementResponses['DELETE /api/admin/webhooks/{webhookId}']>(
        `/api/admin/webhooks/${encodeURIComponent(webhookId)}`,
      ),
    onSuccess: invalidate,
  });
}
