/** The NATS bus address, parsed without loading the NATS client (configuration reads it). */

/** Where the broker is: `KOPITRA_BUS_URL=nats://host:port[,host:port…]`. */
export interface NatsTarget {
  readonly servers: readonly string[];
  /** Prefix of every stream, subject and consumer, so several deployments can share a server. */
  readonly namespace: string;
}

const SERVER = /^(\[[0-9a-f:]+\]|[a-z0-9.-]+):\d{1,5}$/i;

/** null when `url` is not a NATS URL; throws when it is one but malformed. */
export function natsTarget(url: string, namespace = 'kopitra'): NatsTarget | null {
  if (!/^nats:\/\//i.test(url)) return null;
  const servers = url
    .slice('nats://'.length)
    .split(',')
    .map((s) => s.trim().replace(/^nats:\/\//i, ''))
    .filter((s) => s !== '');
  if (servers.length === 0 || !servers.every((s) => SERVER.test(s)))
    throw new Error(`KOPITRA_BUS_URL: expected nats://host:port[,host:port…], got "${url}"`);
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(namespace))
    throw new Error(`KOPITRA_BUS_NAMESPACE: letters, digits, _ and - only (at most 32), got "${namespace}"`);
  return { servers, namespace };
}
