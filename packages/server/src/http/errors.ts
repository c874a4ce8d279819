/**
 * The one error handler per app: coded errors become their JSON shape, framework errors
 * are mapped onto the catalogue, and anything else is a logged 500 that reveals nothing.
 */
import { AppError } from '@kopitra/contracts';
import type { FastifyError, FastifyInstance } from 'fastify';

const frameworkCodes: Record<string, AppError['code']> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
};

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as Partial<FastifyError> | null;
  if (e?.code && frameworkCodes[e.code]) return new AppError(frameworkCodes[e.code] as AppError['code']);
  if (e?.statusCode === 413) return new AppError('payload_too_large');
  if (e?.statusCode === 400 && e.message) return new AppError('invalid_request', e.message);
  return undefined;
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const known = toAppError(err);
    if (known) {
      request.log.warn({ code: known.code, status: known.status, detail: known.message }, 'request refused');
      if (known.code === 'rate_limited' || known.code === 'session_conflict') {
        const retry = known.details['retryAfterSec'];
        if (typeof retry === 'number') void reply.header('retry-after', String(retry));
      }
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

export function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = stripTrailingNul(body as string);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('malformed_json'), undefined);
    }
  });
}
