/** Chooses the report store from the configuration (`KOPITRA_REPORTS_URL`). */
import type { ReportsSetting } from '../config.js';
import { FileReportStore } from './file-store.js';
import type { ReportStore } from './report-store.js';

/** The Blob Storage SDK is loaded only when its store is chosen: the file default pays nothing for it. */
export async function openReportStore(setting: ReportsSetting, instanceSecret: string): Promise<ReportStore> {
  if (setting.kind === 'file') return new FileReportStore(setting.dir, instanceSecret);
  const { BlobReportStore } = await import('./blob-store.js');
  return new BlobReportStore(setting.target);
}
