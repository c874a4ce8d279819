/** The append-only audit log: operator actions (in the transaction of the change) and session state changes (from the bus). */
import type { Db } from '../store/schema.js';
import { newId } from '../store/ids.js';
import { insertAudit } from '../store/audit.js';

export interface AuditEntry {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  before?: unknown;
  after?: unknown;
  messageId?: string;
}

/** Appends one entry; returns false when the bus message was already recorded. */
export async function appendAudit(db: Db, e: AuditEntry, at: number): Promise<boolean> {
  return insertAudit(db, {
    audit_id: newId('aud'),
    at,
    actor: e.actor,
    action: e.action,
    target_type: e.targetType,
    target_id: e.targetId,
    before: e.before === undefined ? null : JSON.stringify(e.before),
    after: e.after === undefined ? null : JSON.stringify(e.after),
    message_id: e.messageId ?? null,
  });
}
