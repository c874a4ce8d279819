/**
 * What one NATS server on this machine carries, measured in the same run as the replicas
 * bench: core-subject messages (the cross-replica wake-ups) from one connection to a
 * subscriber on another, and JetStream publishes acknowledged by the server (the bus: one
 * stream, file storage, as the NATS bus adapter creates it). Gives the capacity model's
 * "messages/s per NATS node" instead of a guess. The stream is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { round } from './stats.js';

/** Core messages: `count` of `size` bytes published back to back, until the subscriber has all. */
async function coreRate(url, count, size) {
  const pub = await connect({ servers: url });
  const sub = await connect({ servers: url });
  try {
    const subject = `kopitra-bench.floor.${randomBytes(4).toString('hex')}`;
    const payload = randomBytes(size);
    let got = 0;
    let done;
    const all = new Promise((resolve) => (done = resolve));
    const s = sub.subscribe(subject, {
      callback: () => {
        if (++got === count) done();
      },
    });
    await sub.flush();
    const started = performance.now();
    for (let i = 0; i < count; i++) pub.publish(subject, payload);
    await pub.flush();
    await all;
    const sec = (performance.now() - started) / 1000;
    s.unsubscribe();
    return {
      messages: count,
      bytes: size,
      perSec: round(count / sec, 0),
      mbPerSec: round((count * size) / sec / 1e6, 1),
    };
  } finally {
    await pub.close();
    await sub.close();
  }
}

/** JetStream: `count` publishes of `size` bytes, `inFlight` awaiting their acknowledgement at once. */
async function jetStreamRate(url, count, size, inFlight) {
  const nc = await connect({ servers: url });
  const jsm = await jetstreamManager(nc);
  const name = `KOPITRA_BENCH_FLOOR_${randomBytes(4).toString('hex').toUpperCase()}`;
  const subject = `kopitra-bench-floor.${name}`;
  await jsm.streams.add({ name, subjects: [subject], storage: 'file' });
  try {
    const js = jetstream(nc);
    const payload = randomBytes(size);
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          const i = next++;
          await js.publish(subject, payload, { msgID: `${name}-${i}` });
        }
      }),
    );
    const sec = (performance.now() - started) / 1000;
    return { messages: count, bytes: size, inFlight, perSec: round(count / sec, 0) };
  } finally {
    await jsm.streams.delete(name).catch(() => undefined);
    await nc.close();
  }
}

export async function natsFloor(url, quick) {
  return {
    // A wake-up carrying one follower's rows is a few hundred bytes; a whole batch's, tens of KB.
    core: await coreRate(url, quick ? 20_000 : 200_000, 512),
    coreLarge: await coreRate(url, quick ? 500 : 5_000, 64 * 1024),
    jetStream: await jetStreamRate(url, quick ? 5_000 : 50_000, 512, 256),
  };
}
