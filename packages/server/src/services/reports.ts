/**
 * Downloads of task reports. An operator asks for a link to a run's report (viewer role); the
 * link is short-lived — a SAS URL for Blob Storage, or a signed `/api/reports/…` URL that the
 * management plane serves for the file store — so it can be handed to the browser, which
 * downloads without the bearer token.
 */
import { AppError, isoTime } from '@kopitra/contracts';
import { isReportName, type OpenedReport } from '../reports/report-store.js';
import { getTaskRun } from '../store/tasks.js';
import type { ManagementDeps } from './management-deps.js';

export async function reportLink(deps: ManagementDeps, runId: string) {
  const run = await getTaskRun(deps.db, runId);
  if (!run) throw new AppError('not_found', 'No task run with this id.');
  if (run.status !== 'completed' || run.report_name === null)
    throw new AppError('report_not_available', undefined, { runId, status: run.status });
  const report = {
    name: run.report_name,
    size: run.report_size ?? 0,
    contentType: run.report_content_type ?? 'application/octet-stream',
  };
  const now = deps.clock.now();
  const link = await deps.reports.link(report, { now, expiresAt: now + deps.reportLinkTtlSec * 1000 });
  return { ...report, url: link.url, expiresAt: isoTime(link.expiresAt) };
}

/** The report behind a signed file-store link; a tampered link is 403, an expired one 410. */
export async function openLinkedReport(
  deps: ManagementDeps,
  name: string,
  expires: string | undefined,
  signature: string | undefined,
): Promise<OpenedReport> {
  const verify = deps.reports.verifyLink?.bind(deps.reports);
  if (!verify)
    throw new AppError(
      'report_link_invalid',
      'Reports in Blob Storage are downloaded through their own link, not this route.',
    );
  const check = isReportName(name) ? verify(name, expires, signature, deps.clock.now()) : 'invalid';
  if (check === 'invalid') throw new AppError('report_link_invalid');
  if (check === 'expired') throw new AppError('report_link_expired');
  const opened = await deps.reports.open(name);
  if (!opened)
    throw new AppError(
      'report_not_available',
      'The report was removed (retention) after this link was made.',
    );
  return opened;
}
