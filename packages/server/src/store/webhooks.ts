/** Outgoing webhooks and their delivery log. */
import type { Db, WebhookDeliveriesTable, WebhooksTable } from './schema.js';

export type WebhookRow = WebhooksTable;
export type DeliveryRow = WebhookDeliveriesTable;

export const listWebhookRows = (db: Db): Promise<WebhookRow[]> =>
  db.selectFrom('webhooks').selectAll().orderBy('created_at').execute();

/** The id and event types of every active webhook, for matching a bus message. */
export const webhookSubscriptions = (
  db: Db,
): Promise<Array<Pick<WebhookRow, 'webhook_id' | 'event_types'>>> =>
  db.selectFrom('webhooks').select(['webhook_id', 'event_types']).where('status', '=', 'active').execute();

export async function insertWebhook(db: Db, row: WebhookRow): Promise<void> {
  await db.insertInto('webhooks').values(row).execute();
}

export const getWebhook = (db: Db, webhookId: string): Promise<WebhookRow | undefined> =>
  db.selectFrom('webhooks').selectAll().where('webhook_id', '=', webhookId).executeTakeFirst();

const dropPendingDeliveries = (db: Db, webhookId: string) =>
  db
    .updateTable('webhook_deliveries')
    .set({ status: 'dropped' })
    .where('webhook_id', '=', webhookId)
    .where('status', '=', 'pending')
    .execute();

/** Deletes a webhook; its pending deliveries are dropped (the log stays). */
export async function deleteWebhook(db: Db, webhookId: string): Promise<void> {
  await db.deleteFrom('webhooks').where('webhook_id', '=', webhookId).execute();
  await dropPendingDeliveries(db, webhookId);
}

/** Enables or disables a webhook; disabling drops its pending deliveries (the log stays). */
export async function setWebhookStatusRow(
  db: Db,
  webhookId: string,
  status: 'active' | 'disabled',
): Promise<void> {
  await db.updateTable('webhooks').set({ status }).where('webhook_id', '=', webhookId).execute();
  if (status === 'disabled') await dropPendingDeliveries(db, webhookId);
}

/** Records a delivery unless one for the same webhook and message exists; true when inserted. */
export async function insertDelivery(db: Db, row: DeliveryRow): Promise<boolean> {
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values(row)
    .onConflict((oc) => oc.columns(['webhook_id', 'message_id']).doNothing())
    .returning('delivery_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** A delivery with what sending it needs from its webhook. */
export const deliveryToSend = (db: Db, deliveryId: string) =>
  db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', 'w.webhook_id', 'd.webhook_id')
    .select(['d.delivery_id', 'd.status', 'd.payload', 'd.event_type', 'w.url', 'w.secret_enc'])
    .where('d.delivery_id', '=', deliveryId)
    .executeTakeFirst();

export async function updateDelivery(
  db: Db,
  deliveryId: string,
  patch: Partial<Omit<DeliveryRow, 'delivery_id'>>,
  onlyPending = false,
): Promise<void> {
  let q = db.updateTable('webhook_deliveries').set(patch).where('delivery_id', '=', deliveryId);
  if (onlyPending) q = q.where('status', '=', 'pending');
  await q.execute();
}

/** A webhook's newest deliveries. */
export const recentDeliveries = (db: Db, webhookId: string, limit: number): Promise<DeliveryRow[]> =>
  db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('webhook_id', '=', webhookId)
    .orderBy('created_at', 'desc')
    .orderBy('delivery_id', 'desc')
    .limit(limit)
    .execute();
