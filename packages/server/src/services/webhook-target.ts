/**
 * Where a webhook may point. An operator-supplied URL must not turn the server into a proxy
 * to its own network: private, loopback, link-local, CGNAT, multicast, reserved and metadata
 * addresses are refused unless a range is allowed explicitly (KOPITRA_WEBHOOK_ALLOW_PRIVATE).
 * The check runs twice: on the URL when the webhook is registered, and on the address the
 * connection is actually made to (a custom lookup on the HTTP agent), so a name that resolves
 * to a public address at registration and a private one later (DNS rebinding) is refused.
 * Redirects are never followed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { AppError } from '@kopitra/contracts';
import ipaddr from 'ipaddr.js';
import { Agent, request } from 'undici';

export interface ResolvedAddress {
  address: string;
  family: number;
}
/** Name resolution; tests stub it to play a rebinding resolver. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export interface WebhookTargetPolicy {
  /** CIDR ranges that may be reached although they are not public. */
  readonly allowPrivate: readonly string[];
  readonly resolve?: Resolve;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

// Names that reach cloud metadata services whatever they resolve to.
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data']);

/** Parses a CIDR list (a bare address is a /32 or /128); throws on the first bad entry. */
export function parseRanges(list: readonly string[]): Range[] {
  return list.map((entry) => {
    const text = entry.trim();
    if (text.includes('/')) return ipaddr.parseCIDR(text) as Range;
    const addr = ipaddr.parse(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  });
}

/** True when `ip` is a public unicast address or lies in an allowed range. */
export function addressAllowed(ip: string, allow: readonly Range[]): boolean {
  if (!ipaddr.isValid(ip)) return false;
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it carries.
  const addr = ipaddr.process(ip);
  if (allow.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) return true;
  return addr.range() === 'unicast';
}

/** The host of a URL as an IP literal, or null when it is a name. */
function literalHost(hostname: string): string | null {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}

/**
 * Refuses a URL whose host is a disallowed address or a metadata name. WHATWG URL parsing has
 * already turned odd IPv4 spellings (127.1, 2130706433, 0x7f.0.0.1) into dotted quads.
 */
export function checkWebhookUrl(url: string, policy: WebhookTargetPolicy): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AppError('invalid_request', 'The webhook URL is not a valid URL.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new AppError('invalid_request', 'The webhook URL must be http or https.');
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  const allow = parseRanges(policy.allowPrivate);
  const literal = literalHost(host);
  const refuse = () =>
    new AppError('webhook_target_forbidden', `Webhooks may not be delivered to ${parsed.hostname}.`);
  if (literal !== null) {
    if (!addressAllowed(literal, allow)) throw refuse();
    return;
  }
  if (METADATA_NAMES.has(host)) throw refuse();
  if ((host === 'localhost' || host.endsWith('.localhost')) && !addressAllowed('127.0.0.1', allow))
    throw refuse();
}

/** Thrown when the address a delivery would connect to is not allowed. */
export class TargetBlockedError extends Error {
  constructor(readonly hostname: string) {
    super(`webhook target ${hostname} resolves to an address that is not allowed`);
    this.name = 'TargetBlockedError';
  }
}

const defaultResolve: Resolve = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A `lookup` for net.connect that resolves, then refuses when any address is not allowed. */
export function guardedLookup(policy: WebhookTargetPolicy): LookupFunction {
  const allow = parseRanges(policy.allowPrivate);
  const resolve = policy.resolve ?? defaultResolve;
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0 || addresses.some((a) => !addressAllowed(a.address, allow))) {
          callback(new TargetBlockedError(hostname), '', 0);
          return;
        }
        if (options.all) (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

export type DeliveryResult = { status: number } | { error: string };

/** What a failed attempt records: the same words whether the port was closed, filtered or not HTTP. */
export const NO_RESPONSE = 'no response from the target (connection failed or timed out)';
export const BLOCKED = 'target address not allowed';

export interface WebhookSender {
  send(
    url: string,
    init: { headers: Record<string, string>; body: string; signal: AbortSignal },
  ): Promise<DeliveryResult>;
  close(): Promise<void>;
}

/** POSTs through an agent whose every connection passes the address check; no redirects. */
export function webhookSender(policy: WebhookTargetPolicy): WebhookSender {
  const agent = new Agent({ connect: { lookup: guardedLookup(policy) } });
  return {
    async send(url, init) {
      try {
        // Literal addresses never reach the lookup: check them here as well.
        checkWebhookUrl(url, policy);
      } catch {
        return { error: BLOCKED };
      }
      try {
        const res = await request(url, {
          method: 'POST',
          headers: init.headers,
          body: init.body,
          signal: init.signal,
          dispatcher: agent,
        });
        await res.body.dump();
        return { status: res.statusCode };
      } catch (err) {
        return { error: isBlocked(err) ? BLOCKED : NO_RESPONSE };
      }
    },
    close: () => agent.close(),
  };
}

function isBlocked(err: unknown): boolean {
  for (let e = err as { cause?: unknown } | undefined; e; e = e.cause as { cause?: unknown } | undefined)
    if (e instanceof TargetBlockedError) return true;
  return false;
}
