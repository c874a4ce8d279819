/** Chooses the bus adapter from the configuration (`KOPITRA_BUS_URL`). */
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { BusSetting } from '../config.js';
import type { Dialect } from '../store/database.js';
import type { DB } from '../store/schema.js';
import type { Notifier } from '../notify/notifier.js';
import type { Bus } from './bus.js';
import { EmbeddedBus } from './embedded/embedded-bus.js';
import type { DeadLetter } from './service-bus/mapping.js';

export interface BusDeps {
  readonly db: Kysely<DB>;
  readonly dialect: Dialect;
  readonly notifier: Notifier;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pollMs: number;
  /** Every topic this process publishes to inside a transaction (relayed to an external broker). */
  readonly topics: readonly string[];
  readonly onDeadLetter: (deadLetter: DeadLetter) => Promise<void>;
}

export interface OpenedBus {
  readonly bus: Bus;
  /** Named in the health check. */
  readonly adapter: 'embedded' | 'nats' | 'service-bus';
}

/** Broker SDKs are loaded only when their adapter is chosen: the embedded default pays nothing for them. */
export async function openBus(setting: BusSetting, deps: BusDeps): Promise<OpenedBus> {
  const embedded = new EmbeddedBus({
    db: deps.db,
    dialect: deps.dialect,
    notifier: deps.notifier,
    clock: deps.clock,
    logger: deps.logger,
    pollMs: deps.pollMs,
  });
  if (setting.kind === 'embedded') return { bus: embedded, adapter: 'embedded' };
  if (setting.kind === 'nats') {
    const { NatsBus } = await import('./nats/nats-bus.js');
    return {
      adapter: 'nats',
      bus: new NatsBus({
        target: setting.target,
        db: deps.db,
        outbox: embedded,
        topics: deps.topics,
        logger: deps.logger,
        onDeadLetter: deps.onDeadLetter,
      }),
    };
  }
  const { ServiceBusBus } = await import('./service-bus/service-bus-bus.js');
  return {
    adapter: 'service-bus',
    bus: new ServiceBusBus({
      target: setting.target,
      db: deps.db,
      outbox: embedded,
      topics: deps.topics,
      clock: deps.clock,
      logger: deps.logger,
      onDeadLetter: deps.onDeadLetter,
      provision: setting.target.auth === 'connectionString',
    }),
  };
}
