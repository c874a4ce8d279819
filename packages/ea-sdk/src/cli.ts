/**
 * `kopitra ea master|follower …`: plays a master or follower terminal against a gateway,
 * printing one line per trade and execution. Runs until `--trades` are done or SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { SimFollower } from './sim/follower.js';
import { SimMaster } from './sim/master.js';
import { describe } from './sim/terminal.js';

export const EA_USAGE = `usage:
  kopitra ea master   --gateway URL --account ID --key KEY [options]
  kopitra ea follower --gateway URL --account ID --key KEY [options]

options:
  --seed N             seed of every random choice (default: the account id)
  --role R             master | follower (instead of the first argument)
  --platform P         MT5 (default) | MT4 (MT4 gives the rest of a partial close a new ticket)
  --suffix S           broker symbol suffix, e.g. .m or -ECN
  --symbols LIST       comma-separated: EURUSD,GBPUSD,USDJPY,XAUUSD,US30 (default all)
  --balance N          starting balance (default 100000 master, 10000 follower)
  --trades N           master: signals to send; follower: executions to make; then exit
  --interval-ms N      master: mean pause between trades (default 2000)
  --netting            an MT5 netting account (one position per symbol)
  --add-rate R         master: share of steps that add to a position (default 0)
  --reject-rate R      follower: share of trade requests the broker rejects (default 0)
  --latency-ms A-B     follower: fill latency range (default 5-30)
  --slippage-points N  follower: largest adverse slippage (default 3)
  --snapshot-ms N      follower: ea.sync_snapshot period (default 30000)
  --transport T        poll (default) | websocket
`;

export interface EaCommandIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stops the terminal (default: SIGINT / SIGTERM). */
  signal?: AbortSignal;
  /** Only check the command line: 0 when it would run, 2 with the problems otherwise. */
  checkOnly?: boolean;
}

const num = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${v}"`);
  return n;
};

const OPTIONS = {
  gateway: { type: 'string' },
  account: { type: 'string' },
  key: { type: 'string' },
  seed: { type: 'string' },
  role: { type: 'string' },
  platform: { type: 'string' },
  suffix: { type: 'string' },
  symbols: { type: 'string' },
  balance: { type: 'string' },
  trades: { type: 'string' },
  'interval-ms': { type: 'string' },
  netting: { type: 'boolean' },
  'add-rate': { type: 'string' },
  'reject-rate': { type: 'string' },
  'latency-ms': { type: 'string' },
  'slippage-points': { type: 'string' },
  'snapshot-ms': { type: 'string' },
  transport: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Joins `--opt VALUE` into `--opt=VALUE` when VALUE starts with `-` but is no option of this
 * command: keys issued before keys were alphanumeric may start with `-`, and so do suffixes
 * such as `-ECN`. Plain `parseArgs` refuses those as ambiguous.
 */
export function joinDashValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : null;
    const next = argv[i + 1];
    const isString =
      name !== null &&
      Object.hasOwn(OPTIONS, name) &&
      OPTIONS[name as keyof typeof OPTIONS].type === 'string';
    if (isString && next !== undefined && next.startsWith('-') && next !== '-h' && !isOption(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

const isOption = (arg: string): boolean =>
  arg.startsWith('--') && Object.hasOwn(OPTIONS, arg.slice(2).split('=')[0]!);

/** Runs `kopitra ea …` with `argv` (after `ea`); resolves with the process exit code. */
export async function runEaCommand(argv: readonly string[], io: EaCommandIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => console.log(l));
  const err = io.err ?? ((l: string) => console.error(l));
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: joinDashValues(argv),
      allowPositionals: true,
      options: OPTIONS,
    }));
  } catch (e) {
    err(`kopitra ea: ${e instanceof Error ? e.message : String(e)}\n\n${EA_USAGE}`);
    return 2;
  }
  if (values['help']) {
    out(EA_USAGE);
    return 0;
  }
  const role = (positionals[0] ?? values['role']) as string | undefined;
  const gateway = values['gateway'] as string | undefined;
  const accountId = values['account'] as string | undefined;
  const authKey = values['key'] as string | undefined;
  const problems = [
    ...(role === 'master' || role === 'follower'
      ? []
      : [`the role must be master or follower (got "${role ?? ''}")`]),
    ...(gateway ? [] : ['--gateway URL is required']),
    ...(accountId ? [] : ['--account ID is required']),
    ...(authKey && authKey.length >= 16 ? [] : ['--key KEY is required (at least 16 characters)']),
  ];
  const platform = (values['platform'] as string | undefined)?.toUpperCase() ?? 'MT5';
  if (platform !== 'MT4' && platform !== 'MT5') problems.push('--platform must be MT4 or MT5');
  const transport = (values['transport'] as string | undefined) ?? 'poll';
  if (transport !== 'poll' && transport !== 'websocket')
    problems.push('--transport must be poll or websocket');
  let latency: [number, number] | undefined;
  let numbers: Record<string, number | undefined> = {};
  try {
    numbers = Object.fromEntries(
      [
        'seed',
        'balance',
        'trades',
        'interval-ms',
        'add-rate',
        'reject-rate',
        'slippage-points',
        'snapshot-ms',
      ].map((k) => [k, num(values[k] as string | undefined, k)]),
    );
    const l = values['latency-ms'] as string | undefined;
    if (l !== undefined) {
      const [a, b] = l.split('-').map(Number);
      if (!Number.isFinite(a) || !Number.isFinite(b ?? a)) throw new Error('--latency-ms must be A-B in ms');
      latency = [a!, b ?? a!];
    }
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  if (problems.length) {
    err(`kopitra ea: ${problems.join('; ')}\n\n${EA_USAGE}`);
    return 2;
  }
  if (io.checkOnly) return 0;

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const common = {
    gateway: gateway!,
    accountId: accountId!,
    authKey: authKey!,
    platform: platform as 'MT4' | 'MT5',
    log: out,
    transport: transport as 'poll' | 'websocket',
    ...(numbers['seed'] !== undefined ? { seed: numbers['seed'] } : {}),
    ...(values['suffix'] !== undefined ? { suffix: values['suffix'] as string } : {}),
    ...(values['symbols'] !== undefined
      ? {
          symbols: (values['symbols'] as string)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(numbers['balance'] !== undefined ? { balance: numbers['balance'] } : {}),
    ...(values['netting'] ? { netting: true } : {}),
  };
  const target = numbers['trades'];
  const terminal =
    role === 'master'
      ? new SimMaster({
          ...common,
          ...(numbers['interval-ms'] !== undefined ? { intervalMs: numbers['interval-ms'] } : {}),
          ...(numbers['add-rate'] !== undefined ? { addRate: numbers['add-rate'] } : {}),
        })
      : new SimFollower({
          ...common,
          ...(numbers['reject-rate'] !== undefined ? { rejectRate: numbers['reject-rate'] } : {}),
          ...(numbers['slippage-points'] !== undefined ? { slippagePoints: numbers['slippage-points'] } : {}),
          ...(numbers['snapshot-ms'] !== undefined ? { snapshotIntervalMs: numbers['snapshot-ms'] } : {}),
          ...(latency ? { latencyMs: latency } : {}),
          onExecution: () => {
            if (target !== undefined && (terminal as SimFollower).stats.executions >= target) stop.abort();
          },
        });
  // Stopping releases the session, also while the terminal still waits for approval.
  let stopping: Promise<void> | undefined;
  const stopTerminal = () => (stopping ??= terminal.stop());
  stop.signal.addEventListener('abort', () => void stopTerminal().catch(() => undefined), { once: true });
  try {
    try {
      await terminal.start();
    } catch (e) {
      if (!stop.signal.aborted) throw e;
      const waiting = terminal.awaitingApproval;
      await stopTerminal();
      out(`${role} ${accountId}: stopped ${waiting ? 'while waiting for approval' : 'before it started'}`);
      return 0;
    }
    out(`${role} ${accountId}: running (SIGINT or SIGTERM stops it)`);
    if (terminal instanceof SimMaster) {
      const sent = await terminal.run(numbers['trades'] !== undefined ? { trades: numbers['trades'] } : {});
      await stopTerminal();
      out(`master ${accountId}: ${sent} signals sent`);
      return terminal.fatal ? 1 : 0;
    }
    const follower = terminal as SimFollower;
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted || follower.signal.aborted) return resolve();
      stop.signal.addEventListener('abort', () => resolve(), { once: true });
      follower.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await stopTerminal();
    const s = follower.stats;
    out(
      `follower ${accountId}: ${s.executions} executions (${s.filled} filled, ${s.rejected} rejected, ${s.failed} failed), ${follower.account.positions.size} positions open, balance ${follower.account.balance}`,
    );
    return follower.fatal ? 1 : 0;
  } catch (e) {
    await stopTerminal().catch(() => undefined);
    err(`kopitra ea ${role}: ${describe(e)}`);
    return 1;
  } finally {
    if (!io.signal) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
