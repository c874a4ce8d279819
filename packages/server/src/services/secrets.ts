/**
 * Account keys and session tokens are never stored in the clear. Keys are kept as an HMAC
 * under the instance secret and named in public by a fingerprint; a session token is
 * `<sessionId>.<HMAC(sessionId)>`, so it can be verified — and re-issued on an idempotent
 * replay — without being stored.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * `length` random letters and digits. Keys and passwords are typed into shells, option
 * parsers and MetaTrader's inputs: nothing in them may read as an option (a leading `-`) or
 * need quoting.
 */
export function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 · 62: bytes above it are dropped so every character is equally likely.
      if (byte < 248) out += ALPHANUMERIC[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A new account key: 32 letters and digits (about 190 bits). */
export const newAccountKey = (): string => randomAlphanumeric(32);

const hmac = (secret: string, data: string) => createHmac('sha256', secret).update(data).digest();

export const keyFingerprint = (accountId: string, key: string): string =>
  createHash('sha256').update(`kopitra-key-fingerprint\n${accountId}\n${key}`).digest('hex').slice(0, 24);

export const keyHash = (secret: string, accountId: string, key: string): string =>
  hmac(secret, `key\n${accountId}\n${key}`).toString('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare equal-length buffers so the time taken does not reveal where they differ.
  return x.length === y.length && timingSafeEqual(x, y);
}

export const sessionToken = (secret: string, sessionId: string): string =>
  `${sessionId}.${hmac(secret, `session-token\n${sessionId}`).toString('base64url')}`;

export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The session id a token names, or null when the token is not one this instance issued. */
export function verifySessionToken(secret: string, token: string): string | null {
  const dot = token.lastIndexOf('.');
  if (dot <= 0 || token.length > 256) return null;
  const sessionId = token.slice(0, dot);
  return safeEqual(sessionToken(secret, sessionId), token) ? sessionId : null;
}

/**
 * AES-256-GCM for secrets that must stay usable in the clear (HMAC keys for webhooks and
 * external signals); `key` is 32 bytes derived from the instance secret for one purpose.
 */
export function seal(key: Uint8Array, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const data = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

/** Opens what `seal` sealed; throws when the key differs or the text was altered. */
export function unseal(key: Uint8Array, sealed: string): string {
  const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
  const decipher = createDecipheriv('aes-256-gcm', key, iv!);
  decipher.setAuthTag(tag!);
  return Buffer.concat([decipher.update(data!), decipher.final()]).toString('utf8');
}

/** The key sealing external signal secrets (a purpose of its own under the instance secret). */
export const signalSecretKey = (instanceSecret: string): Buffer =>
  createHmac('sha256', instanceSecret).update('signal-secrets').digest();

/** A new external signal secret: 40 letters and digits. */
export const newSignalSecret = (): string => randomAlphanumeric(40);
