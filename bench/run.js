/**
 * Benchmarks of the built gateway (each package's `dist/`). See bench/README.md.
 *
 *   node bench/run.js [session|fanout|idle|replicas|commit|all] [--quick] [--dialect sqlite|postgres] [--out FILE]
 *
 * `session` (default): outbox long-poll wake latency and idle-poll throughput (bench/session.js).
 * `fanout`: one master signal fanned out to 1…1000 followers (bench/fanout.js).
 * `idle`: 10,000 idle terminals on the stream held by one gateway process (bench/idle.js).
 * `replicas`: 10,000 stream followers over 1, then 3 gateway processes on PostgreSQL + NATS (bench/replicas.js).
 * `commit`: SQLite's group commit against a transaction each, on 100 acknowledgements at once (bench/commit.js).
 * `all`: session and fanout, one after the other; with --out, one JSON `{ session, fanout }` in that file.
 */
import { runMain } from './lib/main.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COMMIT_OUT, runCommit } from './commit.js';
import { FANOUT_OUT, runFanout } from './fanout.js';
import { IDLE_OUT, runIdle } from './idle.js';
import { REPLICAS_OUT, runReplicas } from './replicas.js';
import { runSession } from './session.js';
import { checkDialect, writeResult } from './lib/target.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SESSION_OUT = path.join(HERE, 'results', 'latest.json');

async function main() {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      dialect: { type: 'string', default: 'sqlite' },
      out: { type: 'string' },
    },
  });
  const which = positionals[0] ?? 'session';
  if (positionals.length > 1 || !['session', 'fanout', 'idle', 'replicas', 'commit', 'all'].includes(which)) {
    console.error(
      `usage: node bench/run.js [session|fanout|idle|replicas|commit|all] [--quick] [--dialect sqlite|postgres] [--out FILE] (got "${positionals.join(' ')}")`,
    );
    process.exit(2);
  }
  try {
    checkDialect(flags.dialect);
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  const opts = { quick: flags.quick, dialect: flags.dialect };
  if (which === 'session') await runSession({ ...opts, out: flags.out ?? SESSION_OUT });
  else if (which === 'fanout') await runFanout({ ...opts, out: flags.out ?? FANOUT_OUT });
  else if (which === 'idle') await runIdle({ ...opts, out: flags.out ?? IDLE_OUT });
  else if (which === 'replicas') await runReplicas({ quick: flags.quick, out: flags.out ?? REPLICAS_OUT });
  else if (which === 'commit') await runCommit({ quick: flags.quick, out: flags.out ?? COMMIT_OUT });
  else {
    const combined = flags.out !== undefined;
    const session = await runSession({ ...opts, out: combined ? null : SESSION_OUT });
    const fanout = await runFanout({ ...opts, out: combined ? null : FANOUT_OUT });
    if (combined) {
      writeResult(flags.out, { session, fanout });
      process.stdout.write(
        `both results written to ${path.relative(process.cwd(), path.resolve(flags.out))}\n`,
      );
    }
  }
}

runMain(main);
