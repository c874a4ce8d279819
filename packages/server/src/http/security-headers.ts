/**
 * Security headers on every answer (helmet): a Content-Security-Policy the console runs under
 * (its own scripts, styles and API only; no inline script, no framing), nosniff, no referrer,
 * same-origin opener and resource policies, HSTS for deployments behind TLS.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export const CONSOLE_CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  // React sets style properties through the CSSOM, which style-src does not restrict.
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
} as const;

export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    // No upgrade-insecure-requests: a console reached over plain HTTP (loopback, a private
    // network) would otherwise ask for its own assets over HTTPS and break.
    contentSecurityPolicy: { useDefaults: false, directives: { ...CONSOLE_CSP } },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
}
