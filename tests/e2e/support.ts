/** Spawns the built `kopitra` command and waits until it is healthy. */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'packages/server/dist/bin/kopitra.js');

export interface Spawned {
  url: string;
  child: ChildProcess;
  logs: string[];
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnKopitra(args: string[], env: Record<string, string>): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, PORT: '0', KOPITRA_HOST: '127.0.0.1', KOPITRA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  try {
    return await started(child, args, logs);
  } catch (err) {
    // A process that did not come up healthy must not outlive the test that started it.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw err;
  }
}

async function started(child: ChildProcess, args: string[], logs: string[]): Promise<Spawned> {
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: on a loaded 2-core machine a cold start (imports, migrations) can take a while.
    const timer = setTimeout(() => reject(new Error(`kopitra did not start:\n${logs.join('\n')}`)), 60_000);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'kopitra listening' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kopitra exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  // A management process serves only the management plane's health route.
  const healthPath = args[0] === 'management' ? '/api/health' : '/trade-agent/v1/health';
  // Listening comes before every dependency answers (a broker connection, the LISTEN
  // connection): wait for the first healthy answer.
  for (const deadline = Date.now() + 30_000; ;) {
    const health = await fetch(`${url}${healthPath}`);
    if (health.status === 200) break;
    const detail = await health.text();
    if (Date.now() > deadline) throw new Error(`unhealthy after start: ${detail}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    logs,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export async function runKopitra(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
}

/** Runs the built command to its end, whatever its exit code. */
export function runKopitraStatus(
  args: string[],
  env: Record<string, string>,
  command: string[] = [process.execPath, BIN],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command[0]!,
      [...command.slice(1), ...args],
      { env: { ...process.env, ...env }, cwd: ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Resolves with the first output line matching `pattern` (lines already seen count). */
export function waitForOutput(spawned: Spawned, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const seen = spawned.logs.find((l) => pattern.test(l));
  if (seen !== undefined) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line === undefined) return;
      clearTimeout(timer);
      spawned.child.stdout!.off('data', onData);
      resolve(line);
    };
    const timer = setTimeout(() => {
      spawned.child.stdout!.off('data', onData);
      reject(new Error(`no output matching ${pattern}:\n${spawned.logs.join('\n')}`));
    }, timeoutMs);
    spawned.child.stdout!.on('data', onData);
  });
}

/** Every item of a paged management list (`items`, `nextCursor`), page after page. */
export async function allPages<T>(
  get: (path: string) => Promise<{ items: T[]; nextCursor: string | null }>,
  path: string,
): Promise<T[]> {
  const items: T[] = [];
  const join = path.includes('?') ? '&' : '?';
  for (let cursor: string | null = null; ;) {
    const page = await get(`${path}${cursor ? `${join}cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    if (!page.nextCursor) return items;
    cursor = page.nextCursor;
  }
}
