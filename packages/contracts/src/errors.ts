/**
 * The one catalogue of error codes Kopitra answers with. Codes are stable and never reused;
 * `docs/errors.md` lists the same codes and a test keeps the two in step.
 */
export interface ErrorDefinition {
  readonly status: number;
  readonly message: string;
  readonly howToFix: string;
}

const define = <T extends Record<string, ErrorDefinition>>(catalogue: T): T => catalogue;

export const errorCatalogue = define({
  // --- request shape --------------------------------------------------------------------
  malformed_json: {
    status: 400,
    message: 'The request body is not valid JSON.',
    howToFix:
      'Send a UTF-8 JSON document; trim anything after the closing brace (one trailing NUL byte is tolerated).',
  },
  invalid_request: {
    status: 400,
    message: 'The request does not match the schema.',
    howToFix: 'Read `issues` in the response: each names the field path and what was expected.',
  },
  missing_account_header: {
    status: 400,
    message: 'The X-TradeAgent-Account header is missing or empty.',
    howToFix: 'Send the trading account id in X-TradeAgent-Account on every EA request.',
  },
  missing_idempotency_key: {
    status: 400,
    message: 'The Idempotency-Key header is missing or invalid.',
    howToFix:
      'Send a unique Idempotency-Key (1-128 printable characters) with every mutating request; reuse it only when retrying the same request.',
  },
  idempotency_key_reused: {
    status: 422,
    message: 'This Idempotency-Key was already used for a different request.',
    howToFix:
      'Generate a fresh Idempotency-Key for each new request; reuse a key only to retry the identical request.',
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is larger than the configured limit.',
    howToFix: 'Split the batch into smaller requests, or raise KOPITRA_BODY_LIMIT_BYTES.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'The request body must be JSON.',
    howToFix: 'Send Content-Type: application/json.',
  },
  route_not_found: {
    status: 404,
    message: 'No route matches this method and path.',
    howToFix: 'Check the path against the API reference; EA routes live under /trade-agent/v1.',
  },
  upgrade_required: {
    status: 426,
    message: 'This route speaks WebSocket only.',
    howToFix:
      'Open it as a WebSocket (Upgrade: websocket), or poll GET /trade-agent/v1/sessions/current/outbox instead.',
  },
  // --- authentication and sessions -------------------------------------------------------
  unauthorized: {
    status: 401,
    message: 'The bearer token is missing, malformed or unknown.',
    howToFix:
      'Create a session with POST /trade-agent/v1/sessions and send its token as Authorization: Bearer <token>.',
  },
  signal_auth_failed: {
    status: 401,
    message: 'The external signal carries no valid secret or signature for this account.',
    howToFix:
      "Send the account's signal secret (Authorization: Bearer, the body's `secret`, or an X-Kopitra-Signature HMAC of the raw body); an admin can rotate it in the console.",
  },
  signature_expired: {
    status: 401,
    message: "The signature's timestamp lies outside the accepted window.",
    howToFix:
      "Sign with the current Unix time (X-Kopitra-Signature: t=<seconds>,v1=<hex>); check the sender's clock (±5 minutes).",
  },
  token_account_mismatch: {
    status: 401,
    message: 'The bearer token belongs to a different account than X-TradeAgent-Account.',
    howToFix: 'Send the account id the session was created for.',
  },
  session_expired: {
    status: 401,
    message: 'The session lease expired after missed heartbeats.',
    howToFix: 'Create a new session; send ea.heartbeat every heartbeatIntervalSec to keep it alive.',
  },
  session_terminated: {
    status: 401,
    message: 'The session was released, taken over, rejected or terminated by an operator.',
    howToFix: 'Create a new session; if it is refused, ask the operator why the terminal was stopped.',
  },
  key_rejected: {
    status: 403,
    message: 'The account key was rejected by an operator or has expired.',
    howToFix:
      'Ask the operator for a new pre-shared key, or generate a new key in the EA and have it approved.',
  },
  account_disabled: {
    status: 403,
    message: 'The trading account is disabled.',
    howToFix: 'An operator must re-enable the account in the console before the terminal can connect.',
  },
  session_pending: {
    status: 403,
    message: 'The session is waiting for operator approval and may not trade yet.',
    howToFix: 'Ask an operator to approve the terminal (console or `kopitra sessions approve <sessionId>`).',
  },
  role_forbidden: {
    status: 403,
    message: 'This session or user role may not call this route.',
    howToFix: 'Use a session or operator with the role the route requires.',
  },
  session_not_live: {
    status: 409,
    message: 'The session is not live (pending, expired or ended).',
    howToFix: 'Queue manual orders only for an authenticated session; list sessions to find the current one.',
  },
  session_not_found: {
    status: 404,
    message: 'No session with this id.',
    howToFix: 'List sessions to find the session id of the terminal.',
  },
  session_conflict: {
    status: 409,
    message: 'Another session is live for this account.',
    howToFix:
      'Wait retryAfterSec for the old lease to lapse, release it with DELETE /sessions/current (POST /sessions/current/release from MQL, whose WebRequest has no DELETE), or set the account policy to takeover.',
  },
  order_not_found: {
    status: 404,
    message: 'No copy order with this id belongs to this account.',
    howToFix:
      'Report executions with the orderId of the trade.started (or other trade.*) event this account received.',
  },
  execution_conflict: {
    status: 409,
    message: 'The copy order already has a different final outcome.',
    howToFix: 'Report each copy order once; a retry must carry the same status.',
  },
  execution_status_invalid: {
    status: 422,
    message:
      'The reported status does not fit the copy order: placed answers the placement of a pending order, and only it; a placement is never filled.',
    howToFix:
      'Report placed (with the order ticket), rejected or failed for trade.order_placed; filled, rejected or failed for every other copy order.',
  },
  account_not_found: {
    status: 404,
    message: 'No trading account with this id.',
    howToFix: 'Create the account first, or let its terminal connect once so it registers itself.',
  },
  group_not_found: {
    status: 404,
    message: 'No copy group with this id.',
    howToFix: 'List the copy groups to find its id.',
  },
  follower_is_master: {
    status: 422,
    message: "A group's master cannot follow its own group.",
    howToFix: 'Subscribe a different account, or create a group with another master.',
  },
  invalid_credentials: {
    status: 401,
    message: 'The email or password is wrong, or the user is disabled.',
    howToFix: 'Check the credentials; an admin can reset the password or re-enable the user.',
  },
  token_expired: {
    status: 401,
    message: 'The operator token has expired.',
    howToFix: 'Sign in again with POST /api/auth/login.',
  },
  token_revoked: {
    status: 401,
    message: 'The operator token was revoked (signed out).',
    howToFix: 'Sign in again with POST /api/auth/login.',
  },
  current_password_wrong: {
    status: 400,
    message: 'The current password is wrong.',
    howToFix: 'Type the password you signed in with; an admin can reset it (kopitra admin reset-password).',
  },
  password_unchanged: {
    status: 400,
    message: 'The new password is the same as the current one.',
    howToFix: 'Choose a different password.',
  },
  user_not_found: {
    status: 404,
    message: 'No operator with this id.',
    howToFix: 'List the operator directory to find the user id.',
  },
  email_taken: {
    status: 409,
    message: 'An operator with this email already exists.',
    howToFix: 'Use another email, or edit the existing operator.',
  },
  account_exists: {
    status: 409,
    message: 'A trading account with this id already exists.',
    howToFix: 'Edit the existing account with PATCH /api/admin/accounts/{accountId}.',
  },
  master_position_unknown: {
    status: 422,
    message: 'The account holds no open position with this id.',
    howToFix:
      'Close, modify or partially close only a position this account opened with its own positionId (for example {{strategy.order.id}}).',
  },
  signal_source_not_found: {
    status: 404,
    message: 'This account takes no external signals.',
    howToFix: 'Create its signal secret first (POST /api/admin/accounts/{accountId}/signal-secret).',
  },
  key_not_found: {
    status: 404,
    message: 'No key with this fingerprint for this account.',
    howToFix: 'List the account keys to find the fingerprint.',
  },
  already_subscribed: {
    status: 409,
    message: 'The account already follows this group.',
    howToFix: 'Change the existing subscription with PUT, or unsubscribe first.',
  },
  setting_unsupported: {
    status: 422,
    message: 'A subscription setting is valid but cannot work yet, so it was not saved.',
    howToFix:
      'Read `issues`: each names the setting. onJoin.mode limit needs pending orders on the EA protocol; use market or none until then.',
  },
  not_found: {
    status: 404,
    message: 'The requested resource does not exist.',
    howToFix: 'Check the id in the path.',
  },
  last_admin: {
    status: 409,
    message: 'The last active admin cannot be demoted or disabled.',
    howToFix: 'Make another operator an admin first.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many failed attempts; try again later.',
    howToFix: 'Wait retryAfterSec before retrying and check the key the terminal sends.',
  },
  webhook_target_forbidden: {
    status: 400,
    message: 'The webhook URL points at a private, loopback, link-local or metadata address.',
    howToFix:
      'Use a public http(s) URL; to deliver inside your own network, list its range in KOPITRA_WEBHOOK_ALLOW_PRIVATE.',
  },
  password_too_weak: {
    status: 400,
    message: 'The password is too short or too easy to guess.',
    howToFix: 'Read `feedback` in the response; use a longer passphrase of unrelated words.',
  },
  stream_ticket_invalid: {
    status: 401,
    message: 'The stream ticket is missing, unknown, used or expired.',
    howToFix:
      'Get a fresh ticket with POST /api/admin/stream/ticket (bearer token) and open the stream with it within 30 s; each ticket opens one stream.',
  },
  pending_limit_reached: {
    status: 429,
    message: 'Too many terminals are waiting for approval.',
    howToFix:
      'Approve or reject the pending terminals in the console, or raise KOPITRA_PENDING_MAX_PER_ADDRESS / KOPITRA_PENDING_MAX_TOTAL.',
  },
  pending_quota_exceeded: {
    status: 429,
    message: 'A session waiting for approval may not store more.',
    howToFix: 'Wait for an operator to approve the terminal; it can then report in full.',
  },
  invalid_task_params: {
    status: 400,
    message: "The task's parameters are missing or invalid.",
    howToFix:
      'Read `issues`: each names a parameter and what it needs. GET /api/admin/tasks lists every task with its parameters.',
  },
  report_not_available: {
    status: 404,
    message: 'This task run has no report to download.',
    howToFix:
      'Only completed runs of tasks that write a report (export-audit) have one; reports are removed after KOPITRA_RETENTION_REPORTS_DAYS.',
  },
  report_link_invalid: {
    status: 403,
    message: 'This download link is not valid.',
    howToFix:
      'Links cannot be edited: ask for a new one with GET /api/admin/task-runs/{runId}/report (the console does when you click Download).',
  },
  report_link_expired: {
    status: 410,
    message: 'This download link has expired.',
    howToFix:
      'Links are valid for KOPITRA_REPORT_LINK_TTL_SEC (5 minutes by default): click Download again for a new one.',
  },
  // --- server side ----------------------------------------------------------------------
  not_ready: {
    status: 503,
    message: 'A dependency is not ready.',
    howToFix: 'Check the `checks` in GET /health; the database or bus is unreachable.',
  },
  database_unavailable: {
    status: 503,
    message: 'The database cannot be reached.',
    howToFix: 'Retry with the same Idempotency-Key after a moment; check GET /health and the database.',
  },
  storage_full: {
    status: 503,
    message: 'The database cannot take writes (the disk is full or failing).',
    howToFix: 'Free disk space where the database lives; GET /health reports the storage check.',
  },
  internal_error: {
    status: 500,
    message: 'An unexpected error occurred; it was logged with the request id.',
    howToFix: 'Retry with the same Idempotency-Key; report the requestId if it persists.',
  },
});

export type ErrorCode = keyof typeof errorCatalogue;
export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** The JSON body of every error response. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  /** The catalogue's one line on what to do about it. */
  howToFix: string;
  requestId?: string;
  [extra: string]: unknown;
}

/** A typed, coded error that the one error handler per app turns into an `ErrorBody`. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, details: Record<string, unknown> = {}) {
    const definition = errorCatalogue[code];
    super(message ?? definition.message);
    this.name = 'AppError';
    this.code = code;
    this.status = definition.status;
    this.details = details;
  }

  toBody(requestId?: string): ErrorBody {
    return {
      error: this.code,
      message: this.message,
      howToFix: errorCatalogue[this.code].howToFix,
      ...this.details,
      ...(requestId === undefined ? {} : { requestId }),
    };
  }
}

export const isAppError = (value: unknown): value is AppError => value instanceof AppError;
