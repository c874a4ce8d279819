/**
 * One EA request over HTTP: the protocol headers, a timeout, the response parsed with its
 * contract schema, refusals mapped to typed errors, and retries. A retry always resends
 * the same `Idempotency-Key`, so a request whose answer was lost is applied once.
 */
import { ACCOUNT_HEADER, IDEMPOTENCY_HEADER } from '@kopitra/contracts';
import type { Clock } from './clock.js';
import {
  AbortedError,
  KopitraError,
  NetworkError,
  ProtocolError,
  RateLimitedError,
  ServerError,
  errorFromResponse,
} from './errors.js';

/** The slice of a contract schema the SDK uses (every `@kopitra/contracts` schema has it). */
export interface Schema<T> {
  safeParse(data: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> };
      };
}

/** How failed requests are retried: exponential backoff with jitter, capped. */
export interface RetryPolicy {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  attempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 5000,
});

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** Base URL of the EA API, ending in `/trade-agent/v1`. */
  baseUrl: string;
  accountId: string;
  fetch: FetchLike;
  clock: Clock;
  retry: RetryPolicy;
  timeoutMs: number;
  random: () => number;
  onRetry?: (info: {
    error: KopitraError;
    attempt: number;
    delayMs: number;
    method: string;
    path: string;
    idempotencyKey: string | undefined;
  }) => void;
}

export interface Call<T> {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  token?: string;
  idempotencyKey?: string;
  schema: Schema<T>;
  /** Statuses that mean success. */
  expect: readonly number[];
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Retry network failures, 5xx and 429 (default true). */
  retry?: boolean;
}

/** Backoff before attempt `attempt + 1`: base·2^(attempt-1), capped, with ±25 % jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.75 + random() * 0.5));
}

/** Sends EA requests for one account. */
export class Transport {
  constructor(readonly options: TransportOptions) {}

  /** Sends `call`, retrying what may be retried, and returns the parsed success body. */
  async send<T>(call: Call<T>): Promise<T> {
    const policy = this.options.retry;
    const attempts = call.retry === false ? 1 : Math.max(1, policy.attempts);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(call);
      } catch (err) {
        if (!(err instanceof KopitraError) || !err.retryable || attempt >= attempts || call.signal?.aborted)
          throw err;
        const wait =
          err instanceof RateLimitedError
            ? err.retryAfterSec * 1000
            : backoffDelay(policy, attempt, this.options.random);
        this.options.onRetry?.({
          error: err,
          attempt,
          delayMs: wait,
          method: call.method,
          path: call.path,
          idempotencyKey: call.idempotencyKey,
        });
        await this.options.clock.sleep(wait, call.signal);
        if (call.signal?.aborted) throw new AbortedError();
      }
    }
  }

  /** The URL of a path under the EA base, with its query. */
  url(path: string, query: Record<string, string | number | undefined> = {}): string {
    const u = new URL(this.options.baseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** The protocol headers for a request. */
  headers(opts: {
    token?: string | undefined;
    idempotencyKey?: string | undefined;
    json?: boolean;
  }): Record<string, string> {
    return {
      [ACCOUNT_HEADER]: this.options.accountId,
      accept: 'application/json',
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.idempotencyKey ? { [IDEMPOTENCY_HEADER]: opts.idempotencyKey } : {}),
      ...(opts.json ? { 'content-type': 'application/json' } : {}),
    };
  }

  private async once<T>(call: Call<T>): Promise<T> {
    if (call.signal?.aborted) throw new AbortedError();
    // One controller per attempt, tied to the caller's signal only for the attempt's lifetime.
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, call.timeoutMs ?? this.options.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.options.fetch(this.url(call.path, call.query), {
        method: call.method,
        headers: this.headers({
          token: call.token,
          idempotencyKey: call.idempotencyKey,
          json: call.body !== undefined,
        }),
        ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
        signal: controller.signal,
      });
      text = await res.text();
    } catch (err) {
      if (call.signal?.aborted) throw new AbortedError();
      const why = timedOut
        ? `timed out after ${call.timeoutMs ?? this.options.timeoutMs} ms`
        : err instanceof Error
          ? err.cause instanceof Error
            ? err.cause.message
            : err.message
          : String(err);
      throw new NetworkError('network_error', `${call.method} ${call.path}: ${why}`, { cause: err });
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      if (res.status >= 500)
        throw new ServerError(
          'internal_error',
          `${call.method} ${call.path}: HTTP ${res.status} with a non-JSON body`,
          { status: res.status },
        );
      throw new ProtocolError(
        'protocol_error',
        `${call.method} ${call.path}: HTTP ${res.status} with a non-JSON body`,
        { status: res.status },
      );
    }
    if (!call.expect.includes(res.status)) throw errorFromResponse(res.status, json);
    const parsed = call.schema.safeParse(json);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      throw new ProtocolError(
        'protocol_error',
        `${call.method} ${call.path}: the response does not match the contract (${issues})`,
        { status: res.status },
      );
    }
    return parsed.data;
  }
}
