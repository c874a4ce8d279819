import pino, { type Logger } from 'pino';

/** Structured JSON logs on stdout; secrets in headers never reach them. */
export function createLogger(level: string, name = 'kopitra'): Logger {
  return pino({
    name,
    level,
    base: { service: name },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.authKey', 'authKey', 'token'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
