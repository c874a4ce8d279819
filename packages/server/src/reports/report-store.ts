/**
 * Reports: files a task produces (audit exports) that operators download. The port has two
 * adapters: files under the data directory (the default) and an Azure Blob Storage container
 * (`KOPITRA_REPORTS_URL`). A run records the report's name, size and content type; the console
 * downloads it through a short-lived link the store makes.
 */
import type { Readable } from 'node:stream';

export interface StoredReport {
  readonly name: string;
  readonly size: number;
  readonly contentType: string;
}

export interface OpenedReport extends StoredReport {
  readonly body: Readable;
}

export interface ReportLink {
  /** Relative to the management API (file store) or absolute (a blob SAS URL). */
  readonly url: string;
  readonly expiresAt: number;
}

export type LinkCheck = 'ok' | 'expired' | 'invalid';

export interface ReportStore {
  readonly kind: 'file' | 'blob';
  put(name: string, body: string | Buffer, contentType: string): Promise<StoredReport>;
  /** null when no report has this name (never written, or removed by retention). */
  open(name: string): Promise<OpenedReport | null>;
  /** A link that reads the report until `expiresAt` (ms since the epoch), then is refused. */
  link(report: StoredReport, window: { now: number; expiresAt: number }): Promise<ReportLink>;
  /**
   * Only for stores whose links the management plane serves (files): checks a link's expiry
   * and signature. Blob links are checked by Blob Storage.
   */
  verifyLink?(
    name: string,
    expires: string | undefined,
    signature: string | undefined,
    now: number,
  ): LinkCheck;
  /** Removing a report that is gone is not an error. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

/** Report names are one path segment: letters, digits, `.`, `_`, `-`; no `..`. */
const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

export function assertReportName(name: string): string {
  if (!NAME.test(name) || name.includes('..')) throw new Error(`invalid report name "${name}"`);
  return name;
}

export const isReportName = (name: string): boolean => NAME.test(name) && !name.includes('..');
