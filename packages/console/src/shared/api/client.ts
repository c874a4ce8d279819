/**
 * The one HTTP client of the management API: same-origin relative URLs, the operator's bearer
 * token, and every failure turned into an `ApiError` carrying the API's code, message and issues
 * verbatim (operators read them; we never paraphrase).
 */

export interface ApiIssue {
  path: string;
  message: string;
  code?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: ApiIssue[];
  readonly body: Record<string, unknown>;

  constructor(status: number, code: string, message: string, body: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.body = body;
    this.issues = Array.isArray(body['issues']) ? (body['issues'] as ApiIssue[]) : [];
  }
}

/** The codes that mean "this token is no good any more": the console signs out. */
export const SIGNED_OUT_CODES = new Set(['unauthorized', 'token_expired', 'token_revoked']);

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface ApiClient {
  get<T>(path: string, query?: Query): Promise<T>;
  /** `headers` adds request headers (an `Idempotency-Key` for a manual order). */
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
}

export interface ApiClientOptions {
  getToken(): string | null;
  /** Called when the API refuses the token the console sent (expired, revoked, unknown). */
  onSignedOut(error: ApiError): void;
  fetch?: typeof fetch;
}

export const withQuery = (path: string, query?: Query): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
};

export function createApiClient(opts: ApiClientOptions): ApiClient {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const token = opts.getToken();
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await doFetch(path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new ApiError(
        0,
        'network_error',
        `Could not reach the server (${err instanceof Error ? err.message : String(err)}).`,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: a proxy or gateway page; reported below with its status
    }
    if (res.ok) return parsed as T;
    const errBody = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    const code = typeof errBody['error'] === 'string' ? errBody['error'] : `http_${res.status}`;
    const message =
      typeof errBody['message'] === 'string' ? errBody['message'] : `${res.status} ${res.statusText}`.trim();
    const error = new ApiError(res.status, code, message, errBody);
    if (token && res.status === 401 && SIGNED_OUT_CODES.has(code)) opts.onSignedOut(error);
    throw error;
  }

  return {
    get: (path, query) => request('GET', withQuery(path, query)),
    post: (path, body, headers) => request('POST', path, body ?? {}, headers),
    put: (path, body) => request('PUT', path, body ?? {}),
    patch: (path, body) => request('PATCH', path, body ?? {}),
    delete: (path) => request('DELETE', path),
  };
}
