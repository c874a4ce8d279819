/**
 * The bus contract against a real Azure Service Bus namespace. No Service Bus emulator runs
 * without Docker, so this runs only when KOPITRA_TEST_SERVICE_BUS holds a connection string
 * with Manage rights (topics and subscriptions are created under a random prefix).
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { openNotifier } from '../../runtime.js';
import type { Notifier } from '../../notify/notifier.js';
import { migrate, openDatabase, type Database, type DatabaseTarget } from '../../store/database.js';
import { inTransaction } from '../../store/transaction.js';
import { dropTarget, freshTarget } from '../../testing/databases.js';
import { eventually } from '../../testing/platform.js';
import type { BusMessage } from '../bus.js';
import { EmbeddedBus } from '../embedded/embedded-bus.js';
import { serviceBusTarget } from './mapping.js';
import { ServiceBusBus } from './service-bus-bus.js';
import type { DeadLetter } from './mapping.js';

const connection = process.env['KOPITRA_TEST_SERVICE_BUS'];
const SKIP_REASON =
  'no Service Bus emulator runs here without Docker; set KOPITRA_TEST_SERVICE_BUS to a namespace connection string (Manage rights) to run it';

describe.skipIf(!connection)(
  `bus contract: Azure Service Bus${connection ? '' : ` (skipped: ${SKIP_REASON})`}`,
  () => {
    const topic = `contract-${Math.random().toString(36).slice(2, 8)}`;
    const logger = pino({ level: 'silent' });
    let target: DatabaseTarget | null;
    let database: Database;
    let notifier: Notifier;
    let bus: ServiceBusBus;
    const deadLetters: DeadLetter[] = [];

    beforeAll(async () => {
      target = await freshTarget('sqlite');
      database = await openDatabase(target!);
      await migrate(database);
      notifier = await openNotifier(database);
      const outbox = new EmbeddedBus({
        db: database.db,
        dialect: database.dialect,
        notifier,
        clock: systemClock,
        logger,
        pollMs: 50,
      });
      bus = new ServiceBusBus({
        target: serviceBusTarget(connection!)!,
        db: database.db,
        outbox,
        topics: [topic],
        clock: systemClock,
        logger,
        provision: true,
        onDeadLetter: async (d) => void deadLetters.push(d),
      });
    });

    afterAll(async () => {
      await bus?.close();
      await notifier?.close();
      await database?.close();
      await dropTarget(target);
    });

    it('delivers to every subscription, once per message id, never a rolled-back message, and redelivers after a failure', async () => {
      const alpha: BusMessage[] = [];
      const beta: BusMessage[] = [];
      let failOnce = true;
      const a = bus.subscribe(topic, 'alpha', async (m) => {
        if (failOnce && (m.body as { n: number }).n === 2) {
          failOnce = false;
          throw new Error('transient');
        }
        alpha.push(m);
      });
      const b = bus.subscribe(topic, 'beta', async (m) => void beta.push(m));
      await bus.ping();
      await bus.publish(topic, { n: 1, accountId: 'A' }, { messageId: `${topic}-1` });
      await bus.publish(topic, { n: 1, accountId: 'A' }, { messageId: `${topic}-1` });
      await inTransaction(database.db, ({ trx }) =>
        bus.publish(topic, { n: 2 }, { db: trx }).then(() => undefined),
      );
      await inTransaction(database.db, async ({ trx }) => {
        await bus.publish(topic, { n: 99 }, { db: trx });
        throw new Error('rolled back');
      }).catch(() => undefined);
      const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      await bus.publish(topic, { n: 3, accountId: 'A' }, { headers });
      await eventually(async () => alpha.length >= 3 && beta.length >= 3, 60_000);
      const ns = (list: BusMessage[]) => list.map((m) => (m.body as { n: number }).n).sort();
      expect(ns(alpha)).toEqual([1, 2, 3]);
      expect(ns(beta)).toEqual([1, 2, 3]);
      // The trace context rides along as application properties.
      for (const list of [alpha, beta])
        expect(list.find((m) => (m.body as { n: number }).n === 3)?.headers).toEqual(headers);
      await a.close();
      await b.close();
      expect(deadLetters).toEqual([]);
    }, 120_000);
  },
);
