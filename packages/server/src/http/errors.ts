/**
 * The one error handler per app: coded errors become their JSON shape, framework errors
 * are mapped onto the catalogue, and anything else is a logged 500 that reveals nothing.
 */
import { AppError } from '@kopitra/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { storageErrorCode, type WriteFailures } from './write-failures.js';

const frameworkCodes: Record<string, AppError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const storage = storageErrorCode(err);
  if (storage) return new AppError(storage);
  const e = err as Partial<FastifyError> | null;
  if (e?.code && frameworkCodes[e.code]) return new AppError(frameworkCodes[e.code] as AppError['code']);
  if (e?.statusCode === 413) return new AppError('payload_too_large');
  if (e?.statusCode === 400 && e.message) return new AppError('invalid_request', e.message);
  return undefined;
}

/**
 * Errors Fastify meets before any route or hook runs — a path that is not valid
 * percent-encoding, a path parameter over the length limit — answered as coded 400s
 * instead of Fastify's own body (the `frameworkErrors` option of the constructor).
 */
export function frameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter is longer than any id Kopitra issues.'
      : 'The URL is not valid percent-encoded UTF-8.';
  void reply.status(400).send(new AppError('invalid_request', message).toBody(request.id));
}

export function installErrorHandling(app: FastifyInstance, writeFailures?: WriteFailures): void {
  app.setErrorHandler((err, request, reply) => {
    const known = toAppError(err);
    if (known?.code === 'storage_full') writeFailures?.record(err);
    if (known?.code === 'storage_full' || known?.code === 'database_unavailable') {
      request.log.error({ err, code: known.code }, 'database failure');
      return reply.status(known.status).send(known.toBody(request.id));
    }
    if (known) {
      request.log.warn({ code: known.code, status: known.status, detail: known.message }, 'request refused');
      // Limits, conflicts and pending caps say when to try again; HTTP clients read the header.
      const retry = known.details['retryAfterSec'];
      if (typeof retry === 'number') void reply.header('retry-after', String(retry));
      return reply.status(known.status).send(known.toBody(request.id));
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send(new AppError('internal_error').toBody(request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .status(404)
      .send(
        new AppError(
          'route_not_found',
          `No route for ${request.method} ${request.url.split('?')[0]}.`,
        ).toBody(request.id),
      );
  });
}

/**
 * JSON for every content type (MQL's WebRequest sends whatever header the EA author typed),
 * tolerating the trailing NUL that `StringToCharArray` appends when an EA forgets to trim it.
 */
// eslint-disable-next-line no-control-regex -- the NUL is exactly what MQL appends
const TRAILING_NUL = /\u0000+$/;
export const stripTrailingNul = (text: string): string => text.replace(TRAILING_NUL, '');

/** Deeper than any request of ours; bounds the work (and the stack) spent on a hostile document. */
export const MAX_JSON_DEPTH = 64;

/** The deepest nesting of arrays and objects in a JSON text, counted without parsing it. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return depth;
}

/** True when any key or string value holds a NUL (PostgreSQL cannot store one in text). */
function holdsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === 'object')
      for (const [k, item] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        stack.push(item);
      }
  }
  return false;
}

/** A request body's JSON under the shared limits (depth, NUL characters); undefined when empty. */
function parseJsonBody(raw: string): unknown {
  const text = stripTrailingNul(raw);
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH)
    throw new AppError(
      'invalid_request',
      `The JSON document is nested deeper than ${MAX_JSON_DEPTH} levels.`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError('malformed_json');
  }
  if (holdsNul(parsed))
    throw new AppError('invalid_request', 'Strings may not contain NUL characters (\\u0000).');
  return parsed;
}

const rawBodies = new WeakMap<FastifyRequest, string>();

/** The body as received, on a scope whose parser keeps it (`installJsonParser(scope, true)`). */
export const rawBodyOf = (request: FastifyRequest): string => rawBodies.get(request) ?? '';

/**
 * The JSON parser of every route. With `keepRaw`, the body as received is also kept on the
 * request (`rawBodyOf`), for routes that verify a signature over its bytes.
 */
export function installJsonParser(app: FastifyInstance, keepRaw = false): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (keepRaw) rawBodies.set(request, body as string);
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  if (keepRaw) return;
  // A NUL in the path or query string is refused before any route sees it.
  app.addHook('onRequest', async (request) => {
    if (/%00/.test(request.url) || request.url.includes('\u0000'))
      throw new AppError('invalid_request', 'The URL may not contain NUL characters (%00).');
  });
}
