/**
 * Typed errors. Every gateway refusal carries a stable code from the one catalogue in
 * `@kopitra/contracts` (`errors.ts`); `errorFromResponse` turns status + code into the class
 * a caller can `instanceof`, so code that handles a conflict never parses a message.
 */
import { errorCatalogue, type ErrorBody, type ErrorCode } from '@kopitra/contracts';

/** Codes the SDK raises itself, for failures that never produced a gateway answer. */
export type ClientErrorCode = 'network_error' | 'protocol_error' | 'session_shutdown' | 'aborted';

/** Every code a `KopitraError` may carry. */
export type KopitraErrorCode = ErrorCode | ClientErrorCode;

/** Base class of every error the SDK throws. `status` is 0 when no HTTP answer arrived. */
export class KopitraError extends Error {
  readonly code: KopitraErrorCode;
  readonly status: number;
  /** The gateway's JSON error body, when there was one. */
  readonly body: ErrorBody | undefined;
  /** The gateway's request id, to quote when reporting a problem. */
  readonly requestId: string | undefined;

  constructor(
    code: KopitraErrorCode,
    message: string,
    opts: { status?: number; body?: ErrorBody; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 0;
    this.body = opts.body;
    this.requestId = opts.body?.requestId;
  }

  /** The catalogue's "how to fix" line for this code, if the code is a gateway code. */
  get howToFix(): string | undefined {
    return isCatalogued(this.code) ? errorCatalogue[this.code].howToFix : undefined;
  }

  /** Whether repeating the same request (same Idempotency-Key) may succeed. */
  get retryable(): boolean {
    return false;
  }
}

/** 400/413/415/422: the request itself is wrong (schema, headers, reused idempotency key). */
export class RequestError extends KopitraError {
  /** Field-level problems for `invalid_request`. */
  get issues(): Array<{ path: string; message: string; code?: string }> {
    const issues = this.body?.['issues'];
    return Array.isArray(issues) ? (issues as Array<{ path: string; message: string; code?: string }>) : [];
  }
}

/** 401 `unauthorized` / `token_account_mismatch`: the token is not one for this account. */
export class AuthenticationError extends KopitraError {}

/** 401 `session_expired` / `session_terminated`: create a new session (the client does so itself). */
export class SessionEndedError extends KopitraError {
  /** The ended session's state, when the gateway said (`expired`, `terminated`, `retired`, `rejected`). */
  get sessionStatus(): string | undefined {
    const s = this.body?.['sessionStatus'];
    return typeof s === 'string' ? s : undefined;
  }
}

/** 403: `key_rejected`, `account_disabled`, `session_pending`, `role_forbidden`. */
export class ForbiddenError extends KopitraError {}

/** 404: the order, session, account or route does not exist. */
export class NotFoundError extends KopitraError {}

/** 409 other than a session conflict (`execution_conflict`, `session_not_live`, …). */
export class ConflictError extends KopitraError {}

/** 409 `session_conflict`: another session is live for the account. */
export class SessionConflictError extends ConflictError {
  /** Seconds until the other session's lease may lapse. */
  get retryAfterSec(): number {
    const v = this.body?.['retryAfterSec'];
    return typeof v === 'number' && v >= 0 ? v : 1;
  }

  /** When the live session started, as the gateway reported it. */
  get activeSince(): string | undefined {
    const v = this.body?.['activeSince'];
    return typeof v === 'string' ? v : undefined;
  }
}

/** 429 `rate_limited`: too many failed attempts from this address. */
export class RateLimitedError extends KopitraError {
  /** Seconds to wait before trying again. */
  get retryAfterSec(): number {
    const v = this.body?.['retryAfterSec'];
    return typeof v === 'number' && v >= 0 ? v : 1;
  }

  override get retryable(): boolean {
    return true;
  }
}

/** 5xx: the gateway failed or a dependency is not ready; safe to retry with the same key. */
export class ServerError extends KopitraError {
  override get retryable(): boolean {
    return true;
  }
}

/** No answer: connection refused or reset, DNS failure, timeout. Safe to retry with the same key. */
export class NetworkError extends KopitraError {
  override get retryable(): boolean {
    return true;
  }
}

/** The gateway answered something the contract does not allow (a bug on one side). */
export class ProtocolError extends KopitraError {}

/** The gateway sent `session.shutdown` with a reason that means "do not reconnect" (takeover, rejected, disabled). */
export class SessionShutdownError extends KopitraError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super('session_shutdown', message);
  }
}

/** The caller aborted the operation through its `AbortSignal`. */
export class AbortedError extends KopitraError {
  constructor(message = 'The operation was aborted.') {
    super('aborted', message);
  }
}

const isCatalogued = (code: string): code is ErrorCode => Object.hasOwn(errorCatalogue, code);

type ErrorClass = new (
  code: KopitraErrorCode,
  message: string,
  opts: { status?: number; body?: ErrorBody },
) => KopitraError;

const byCode: Partial<Record<ErrorCode, ErrorClass>> = {
  session_expired: SessionEndedError,
  session_terminated: SessionEndedError,
  session_conflict: SessionConflictError,
  rate_limited: RateLimitedError,
};

function classFor(code: string, status: number): ErrorClass {
  if (isCatalogued(code) && byCode[code]) return byCode[code];
  if (status >= 500) return ServerError;
  switch (status) {
    case 401:
      return AuthenticationError;
    case 403:
      return ForbiddenError;
    case 404:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 429:
      return RateLimitedError;
    default:
      return status >= 400 && status < 500 ? RequestError : ProtocolError;
  }
}

/** Maps a gateway error answer (status + JSON body, or whatever arrived) to its typed error. */
export function errorFromResponse(status: number, body: unknown): KopitraError {
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const code =
    typeof b['error'] === 'string' ? b['error'] : status >= 500 ? 'internal_error' : 'invalid_request';
  const message = typeof b['message'] === 'string' ? b['message'] : `HTTP ${status}`;
  const known: KopitraErrorCode = isCatalogued(code)
    ? code
    : status >= 500
      ? 'internal_error'
      : 'protocol_error';
  const errorBody = { ...b, error: known, message } as ErrorBody;
  const Class = isCatalogued(code) ? classFor(code, status) : status >= 500 ? ServerError : ProtocolError;
  return new Class(known, isCatalogued(code) ? message : `${message} (unknown error code "${code}")`, {
    status,
    body: errorBody,
  });
}

/** Whether an error is one a retry with the same Idempotency-Key may cure. */
export const isRetryable = (err: unknown): boolean => err instanceof KopitraError && err.retryable;
