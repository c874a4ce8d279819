import pino, { type DestinationStream, type Logger } from 'pino';

/** Query parameters that carry credentials; their values never reach a log line. */
const SECRET_PARAMS = /^(access_token|token|ticket|key|authkey|password|secret|api_key|apikey)$/i;

/** The URL with every credential-bearing query value replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // an undecodable name is logged as sent
      }
      return eq >= 0 && SECRET_PARAMS.test(decoded) ? `${name}=[redacted]` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Structured JSON logs on stdout. Credentials never reach them: authorization and cookie
 * headers, keys and tokens in bodies, and credential query parameters in every logged URL.
 */
export function createLogger(level: string, name = 'kopitra', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name,
    level,
    base: { service: name },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
        '*.authKey',
        'authKey',
        'token',
        '*.password',
        'password',
      ],
      censor: '[redacted]',
    },
    serializers: {
      // Fastify's request fields, with the URL's credentials removed.
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: req.url === undefined ? undefined : redactUrl(req.url),
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
