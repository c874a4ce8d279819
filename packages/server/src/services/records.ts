/**
 * What copying left behind, as operators read it: copy orders, position links, the audit log,
 * alerts (acknowledged here) and risk-limit stop-outs (reset here).
 */
import { AppError } from '@kopitra/contracts';
import { pageAudit, type AuditFilter } from '../store/audit.js';
import {
  ackAlertRow,
  getAlert,
  pageAlerts,
  pageLinks,
  pageOrderLinks,
  pageOrders,
  type LinkFilter,
  type OrderFilter,
} from '../store/copy-records.js';
import type { PageInput } from '../store/pagination.js';
import { getStopOut, pageStopOuts, resetStopOut } from '../store/risk.js';
import { inTransaction } from '../store/transaction.js';
import { appendAudit } from './audit.js';
import type { ManagementDeps } from './management-deps.js';
import { alertView, auditView, orderView, pendingOrderView, positionView, stopOutView } from './views.js';

type Reader = Pick<ManagementDeps, 'db'>;

export const listOrders = (deps: Reader, input: PageInput & OrderFilter) =>
  pageOrders(deps.db, input, orderView);

export const listPositions = (deps: Reader, input: PageInput & LinkFilter) =>
  pageLinks(deps.db, input, positionView);

export const listPendingOrders = (deps: Reader, input: PageInput & LinkFilter) =>
  pageOrderLinks(deps.db, input, pendingOrderView);

export const listAudit = (deps: Reader, input: PageInput & AuditFilter) =>
  pageAudit(deps.db, input, auditView);

export const listAlerts = (deps: Reader, input: PageInput & { open?: boolean | undefined }) =>
  pageAlerts(deps.db, input, alertView);

export const listStopOuts = (deps: Reader, input: PageInput) => pageStopOuts(deps.db, input, stopOutView);

/** Acknowledges an alert; acknowledging it again changes nothing and writes no audit row. */
export const ackAlert = (deps: ManagementDeps, alertId: string, actor: string) =>
  inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const before = await getAlert(trx, alertId);
    if (!before) throw new AppError('not_found', 'No alert with this id.');
    if (before.acked_at !== null) return alertView(before);
    const after = await ackAlertRow(trx, before.alert_id, actor, now);
    await appendAudit(
      trx,
      {
        actor,
        action: 'alert.ack',
        targetType: 'alert',
        targetId: before.alert_id,
        before: alertView(before),
        after: alertView(after),
      },
      now,
    );
    return alertView(after);
  });

/** Resets a stop-out so the subscription may open again; a reset one stays as it is. */
export const resetStopOutBy = (deps: ManagementDeps, stopOutId: string, actor: string) =>
  inTransaction(deps.db, async ({ trx }) => {
    const now = deps.clock.now();
    const before = await getStopOut(trx, stopOutId);
    if (!before) throw new AppError('not_found', 'No stop-out with this id.');
    const after = (await resetStopOut(trx, before.stop_out_id, actor, now)) ?? before;
    if (before.reset_at === null)
      await appendAudit(
        trx,
        {
          actor,
          action: 'stopout.reset',
          targetType: 'stop_out',
          targetId: before.stop_out_id,
          before: stopOutView(before),
          after: stopOutView(after),
        },
        now,
      );
    return stopOutView(after);
  });
