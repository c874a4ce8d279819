/**
 * `kopitra ea follower` as an operator runs it, spawned against the spawned all-in-one
 * server: stopped with SIGTERM or SIGINT while it waits for approval, rejected by an operator,
 * and given a key that starts with `-` (keys issued before keys were alphanumeric).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../packages/server/src/testing/databases.js';
import { BIN, runKopitra, spawnKopitra, type Spawned } from './support.js';

interface Terminal {
  child: ChildProcess;
  lines: string[];
  stderr: string[];
  exited: Promise<number | null>;
  /** Resolves with the first stdout line matching `pattern` (lines already seen count). */
  line(pattern: RegExp): Promise<string>;
}

/** Generous: a terminal that ignores a signal never exits, and the test fails here instead of hanging. */
const EXIT_BOUND_MS = 15_000;

function startTerminal(args: string[]): Terminal {
  const child = spawn(process.execPath, [BIN, 'ea', 'follower', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (l: string) => void }> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.splice(0)) {
        if (w.pattern.test(l)) w.resolve(l);
        else waiters.push(w);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr,
    exited,
    line: (pattern) => {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        void exited.then(() =>
          reject(new Error(`exited before ${pattern}:\n${lines.join('\n')}\n${stderr.join('')}`)),
        );
      });
    },
  };
}

async function exitWithin(t: Terminal, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms later:\n${t.lines.join('\n')}`)), ms);
  });
  try {
    return await Promise.race([t.exited, bound]);
  } finally {
    clearTimeout(timer);
  }
}

const sessionOf = (line: string) => /session (ses_\S+)/.exec(line)![1]!;

describe('kopitra ea follower', () => {
  let server: Spawned;
  let env: Record<string, string>;
  const terminals: Terminal[] = [];
  const follower = (account: string, key: string[]) => {
    const t = startTerminal(['--gateway', server.url, '--account', account, ...key, '--snapshot-ms', '0']);
    terminals.push(t);
    return t;
  };

  beforeAll(async () => {
    const dataDir = tempDir();
    env = { KOPITRA_DATA_DIR: dataDir, KOPITRA_BUS_POLL_MS: '50' };
    server = await spawnKopitra(['up'], env);
  });
  afterAll(async () => {
    for (const t of terminals) if (t.child.exitCode === null) t.child.kill('SIGKILL');
    await server?.kill('SIGTERM');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits cleanly on %s while pending approval', async (signal) => {
    const account = signal === 'SIGTERM' ? '8101' : '8102';
    const t = follower(account, ['--key', `new-terminal-key-${account}-0123456789`]);
    await t.line(/waiting for an operator to approve/);
    t.child.kill(signal);
    expect(await exitWithin(t, EXIT_BOUND_MS)).toBe(0);
    expect(t.lines.at(-1)).toBe(`follower ${account}: stopped while waiting for approval`);
    expect(t.stderr.join('')).toBe('');
    // It released its session on the way out (ended "released by terminal"): a restarted
    // terminal is not refused as a second one.
    const list = JSON.parse((await runKopitra(['sessions', 'list', '--json'], env)).stdout) as Array<{
      accountId: string;
      status: string;
    }>;
    expect(list.filter((s) => s.accountId === account).map((s) => s.status)).toEqual(['terminated']);
  });

  it('after a rejection logs the reason and never "approved"', async () => {
    const t = follower('8103', ['--key', 'stranger-key-8103-0123456789']);
    const pending = await t.line(/session ses_\S+ pending/);
    await t.line(/waiting for an operator to approve/);
    await runKopitra(['sessions', 'reject', sessionOf(pending), '--reason', 'unknown terminal'], env);
    expect(await exitWithin(t, EXIT_BOUND_MS)).toBe(1);
    const all = [...t.lines, ...t.stderr.join('').split('\n')];
    const rejected = all.findIndex((l) => l.includes('unknown terminal'));
    expect(rejected).toBeGreaterThanOrEqual(0);
    expect(all.filter((l) => /\bapproved\b/.test(l))).toEqual([]);
  });

  it('accepts a key that starts with "-" as --key KEY and as --key=KEY', async () => {
    const key = '-legacy-key-8104-0123456789';
    const first = follower('8104', ['--key', key]);
    const pending = await first.line(/session ses_\S+ pending/);
    await runKopitra(['sessions', 'approve', sessionOf(pending)], env);
    await first.line(/ approved$/);
    first.child.kill('SIGTERM');
    expect(await exitWithin(first, EXIT_BOUND_MS)).toBe(0);

    const second = follower('8104', [`--key=${key}`]);
    await second.line(/session ses_\S+ authenticated/);
    await second.line(/^follower 8104: running/);
    second.child.kill('SIGTERM');
    expect(await exitWithin(second, EXIT_BOUND_MS)).toBe(0);
    expect(second.lines.at(-1)).toMatch(/^follower 8104: 0 executions/);
  });
});
