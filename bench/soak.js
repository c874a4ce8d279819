/**
 * soak: correctness under churn. The SDK's simulated master trades N times against the
 * spawned all-in-one server, copied to ten followers, while the server is SIGKILLed and
 * restarted twice and followers are killed and restarted on their books; then every book
 * (positions and pending orders), link, copy order and reason is checked (bench/lib/soak.js).
 * Exits 1 on any divergence.
 *
 *   npm run soak -- --trades N [--pg] [--out FILE]
 *   node bench/soak.js --trades N [--pg]        (without building first)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runMain } from './lib/main.js';
import { runSoak } from './lib/soak.js';
import { table } from './lib/stats.js';
import { machine, writeResult } from './lib/target.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    trades: { type: 'string', default: '10000' },
    pg: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(HERE, 'results', 'soak.json') },
  },
});
const trades = Number(values.trades);
if (!Number.isInteger(trades) || trades < 10)
  throw new Error(`--trades must be an integer ≥ 10, not "${values.trades}"`);
const dialect = values.pg ? 'postgres' : 'sqlite';

runMain(async () => {
  console.log(`soak: ${trades} trades on ${dialect}`);
  const started = Date.now();
  const { figures, problems } = await runSoak({
    trades,
    dialect,
    log: (line) => console.log(`soak: ${line}`),
  });
  const f = figures;
  console.log(
    `\n${table(
      ['check', 'result'],
      [
        ['trades', f.trades],
        ['copy orders', f.copyOrders],
        [
          'by status',
          Object.entries(f.byStatus)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        ['orders from reconciliation', f.reconcileOrders],
        ['broker rejects', f.brokerRejects],
        ['server SIGKILLs / follower kills', `${f.serverKills} / ${f.followerKills}`],
        ['books converged', f.converged ? 'yes' : 'NO'],
        ['divergences', f.divergences],
        ['doubled', f.doubled],
        ['sizing replayed / wrong', `${f.sizingChecked} / ${f.sizingWrong}`],
        ['opened after master close', f.reopenedAfterClose],
        [
          'master pending orders',
          Object.entries(f.pendingSignals)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        [
          'pending copies by status',
          Object.entries(f.orderCopiesByStatus)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
        ['pending-order book divergences', f.pendingDivergences],
        ['master fills checked / wrong', `${f.pendingFillsChecked} / ${f.pendingFillsWrong}`],
        ['free-text reasons', f.freeTextReasons],
        ['master close → copy closed p50 (ms)', f.closeToCopiesCloseMs.p50],
        ['master close → copy closed p99 (ms)', f.closeToCopiesCloseMs.p99],
      ],
    )}\n`,
  );
  writeResult(values.out, {
    bench: 'soak',
    dialect,
    machine: machine(),
    seconds: Math.round((Date.now() - started) / 1000),
    figures,
    problems,
  });
  if (problems.length) {
    console.error(`soak: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('soak: no divergence');
});
