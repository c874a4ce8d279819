/**
 * Reports as files in a directory (by default `<data dir>/reports`). Links are
 * `/api/reports/<name>?expires=<ms>&signature=<hex>`: an HMAC-SHA256 over the name and the
 * expiry under a key derived from the instance secret, served by the management plane, which
 * checks them with `verifyLink` (constant-time) against its clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {
  assertReportName,
  type LinkCheck,
  type OpenedReport,
  type ReportLink,
  type ReportStore,
  type StoredReport,
} from './report-store.js';

export const REPORT_ROUTE = '/api/reports';

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
};

export class FileReportStore implements ReportStore {
  readonly kind = 'file' as const;
  private readonly key: Buffer;

  constructor(
    readonly dir: string,
    instanceSecret: string,
  ) {
    this.key = createHmac('sha256', instanceSecret).update('report-links').digest();
  }

  private file(name: string) {
    return path.join(this.dir, assertReportName(name));
  }

  async put(name: string, body: string | Buffer, contentType: string): Promise<StoredReport> {
    const file = this.file(name);
    await fs.promises.mkdir(this.dir, { recursive: true });
    // Written aside and renamed: a reader never sees half a report, a crash leaves no torn file.
    const tmp = `${file}.${process.pid}.partial`;
    await fs.promises.writeFile(tmp, body);
    await fs.promises.rename(tmp, file);
    const size = (await fs.promises.stat(file)).size;
    return { name, size, contentType };
  }

  async open(name: string): Promise<OpenedReport | null> {
    const file = this.file(name);
    let size: number;
    try {
      size = (await fs.promises.stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const contentType = CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream';
    return { name, size, contentType, body: fs.createReadStream(file) };
  }

  private sign(name: string, expiresAt: number): string {
    return createHmac('sha256', this.key).update(`${name}\n${expiresAt}`).digest('hex');
  }

  link(report: StoredReport, window: { now: number; expiresAt: number }): Promise<ReportLink> {
    const expiresAt = Math.floor(window.expiresAt);
    const query = new URLSearchParams({
      expires: String(expiresAt),
      signature: this.sign(report.name, expiresAt),
    });
    return Promise.resolve({
      url: `${REPORT_ROUTE}/${encodeURIComponent(assertReportName(report.name))}?${query.toString()}`,
      expiresAt,
    });
  }

  /** A tampered name, expiry or signature is `invalid`; a genuine link past its expiry is `expired`. */
  verifyLink(
    name: string,
    expires: string | undefined,
    signature: string | undefined,
    now: number,
  ): LinkCheck {
    if (!expires || !/^\d{1,16}$/.test(expires) || !signature || !/^[0-9a-f]{64}$/.test(signature))
      return 'invalid';
    const expected = Buffer.from(this.sign(name, Number(expires)), 'hex');
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) return 'invalid';
    return now > Number(expires) ? 'expired' : 'ok';
  }

  async delete(name: string): Promise<void> {
    await fs.promises.rm(this.file(name), { force: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
