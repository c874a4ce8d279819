/**
 * Reports in an Azure Blob Storage container. Links are SAS URLs valid for reading one blob
 * until the link's expiry: signed with the account key when the store was opened with a
 * connection string, or with a user delegation key when it authenticates with a managed
 * identity (`https://<account>.blob.core.windows.net/<container>`; `AZURE_CLIENT_ID` names a
 * user-assigned identity), which needs the Storage Blob Data Contributor role on the container.
 */
import type { Readable } from 'node:stream';
import { DefaultAzureCredential } from '@azure/identity';
import {
  BlobSASPermissions,
  BlobServiceClient,
  generateBlobSASQueryParameters,
  RestError,
  type ContainerClient,
  type UserDelegationKey,
} from '@azure/storage-blob';
import {
  assertReportName,
  type OpenedReport,
  type ReportLink,
  type ReportStore,
  type StoredReport,
} from './report-store.js';

export type BlobTarget =
  | { readonly connectionString: string; readonly container: string }
  | { readonly accountUrl: string; readonly container: string };

/** A link may start a minute early: the storage service's clock and ours may differ a little. */
const CLOCK_SKEW_MS = 60_000;

export class BlobReportStore implements ReportStore {
  readonly kind = 'blob' as const;
  private readonly service: BlobServiceClient;
  private readonly container: ContainerClient;
  private ready: Promise<unknown> | undefined;
  private delegation: { key: UserDelegationKey; validUntil: number } | undefined;

  constructor(private readonly target: BlobTarget) {
    if ('connectionString' in target) {
      this.service = BlobServiceClient.fromConnectionString(target.connectionString);
    } else {
      // Managed identity on Azure (AZURE_CLIENT_ID selects a user-assigned one), developer sign-in elsewhere.
      this.service = new BlobServiceClient(target.accountUrl, new DefaultAzureCredential());
    }
    this.container = this.service.getContainerClient(target.container);
  }

  /**
   * With a connection string the container is created when missing; with an identity it is
   * expected to exist (deploy/azure creates it), so the identity needs no management rights.
   */
  private ensureContainer(): Promise<unknown> {
    if (!('connectionString' in this.target)) return Promise.resolve();
    this.ready ??= this.container.createIfNotExists().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async put(name: string, body: string | Buffer, contentType: string): Promise<StoredReport> {
    await this.ensureContainer();
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    await this.container.getBlockBlobClient(assertReportName(name)).uploadData(data, {
      blobHTTPHeaders: { blobContentType: contentType },
    });
    return { name, size: data.length, contentType };
  }

  async open(name: string): Promise<OpenedReport | null> {
    try {
      const res = await this.container.getBlobClient(assertReportName(name)).download();
      return {
        name,
        size: res.contentLength ?? 0,
        contentType: res.contentType ?? 'application/octet-stream',
        body: res.readableStreamBody as Readable,
      };
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return null;
      throw err;
    }
  }

  async link(report: StoredReport, window: { now: number; expiresAt: number }): Promise<ReportLink> {
    const blob = this.container.getBlobClient(assertReportName(report.name));
    const options = {
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(window.now - CLOCK_SKEW_MS),
      expiresOn: new Date(window.expiresAt),
      contentDisposition: `attachment; filename="${report.name}"`,
      contentType: report.contentType,
    };
    if ('connectionString' in this.target)
      return { url: await blob.generateSasUrl(options), expiresAt: window.expiresAt };
    const key = await this.delegationKey(window.now, window.expiresAt);
    const sas = generateBlobSASQueryParameters(
      { ...options, containerName: this.target.container, blobName: report.name },
      key,
      this.service.accountName,
    );
    return { url: `${blob.url}?${sas.toString()}`, expiresAt: window.expiresAt };
  }

  /** One user delegation key serves links for up to a day; a new one is asked for after. */
  private async delegationKey(now: number, until: number): Promise<UserDelegationKey> {
    if (this.delegation && this.delegation.validUntil >= until) return this.delegation.key;
    const validUntil = Math.max(until, now + 86_400_000);
    const key = await this.service.getUserDelegationKey(new Date(now - CLOCK_SKEW_MS), new Date(validUntil));
    this.delegation = { key, validUntil };
    return key;
  }

  async delete(name: string): Promise<void> {
    await this.container.getBlobClient(assertReportName(name)).deleteIfExists();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
