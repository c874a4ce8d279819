#!/usr/bin/env node
/** The `kopitra` command. */
import { ConfigError, loadConfig, type Config } from '../config.js';
import { migrate, openDatabase } from '../store/database.js';
import { databaseTargetFor, startPlatform, type Platform } from '../runtime.js';
import { AppError } from '@kopitra/contracts';
import { accountsCommand } from '../cli/accounts.js';
import { adminCommand } from '../cli/admin.js';
import { parseCommandLine, usage, UsageError } from '../cli/commands.js';
import { groupsCommand } from '../cli/groups.js';
import { sessionsCommand } from '../cli/sessions.js';
import { VERSION } from '../version.js';
import { runEaCommand } from '@kopitra/ea-sdk';
import { startDemo, type Demo } from '../demo/demo.js';
import { startupBanner } from '../banner.js';

const USAGE = `kopitra ${VERSION}

usage:
${usage()}

Operator commands (admin, accounts, sessions, groups) go through the same services as the API
and are written to the audit log as cli:$USER, or as --by NAME.

configuration: environment variables (PORT, DATABASE_URL, KOPITRA_*), see README.`;

async function serve(
  config: Config,
  serve: { gateway: boolean; management: boolean },
  demo = false,
): Promise<number> {
  const platform: Platform = await startPlatform(config, { serve });
  let running: Demo | undefined;
  if (demo) {
    try {
      running = await startDemo(platform, { dataDir: config.dataDir });
    } catch (err) {
      platform.logger.error({ err }, 'demo failed to start; the platform keeps running');
    }
  }
  if (platform.url)
    console.log(
      startupBanner({
        url: platform.url,
        admin: platform.firstAdmin,
        demo: running !== undefined,
        console: serve.management,
      }),
    );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    platform.logger.info({ signal }, 'shutting down');
    // The demo terminals release their sessions while the gateway still answers.
    (running?.stop() ?? Promise.resolve())
      .catch((err: unknown) => platform.logger.error({ err }, 'demo stop failed'))
      .then(() => platform.stop())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          platform.logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return new Promise<number>(() => undefined);
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0) {
    console.log(USAGE);
    return 2;
  }
  const parsed = parseCommandLine(argv);
  // The simulated terminals parse their own options.
  if (parsed.kind === 'external') return runEaCommand(parsed.argv);
  if (parsed.kind === 'version') {
    console.log(VERSION);
    return 0;
  }
  if (parsed.kind === 'help') {
    console.log(parsed.group ? `usage:\n${usage(parsed.group)}` : USAGE);
    return 0;
  }
  const { command, args, values } = parsed;
  const env = { ...process.env };
  if (typeof values['port'] === 'string') env['PORT'] = values['port'];
  if (typeof values['data-dir'] === 'string') env['KOPITRA_DATA_DIR'] = values['data-dir'];
  const config = loadConfig(env);
  const [group, ...rest] = command.path;
  const sub = rest.join(' ');
  switch (group) {
    case 'up':
      return serve(config, { gateway: true, management: true }, values['demo'] === true);
    case 'gateway':
      return serve(config, { gateway: true, management: false });
    case 'management':
      return serve(config, { gateway: false, management: true });
    case 'migrate': {
      const database = await openDatabase(databaseTargetFor(config));
      try {
        const applied = await migrate(database);
        console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      } finally {
        await database.close();
      }
      return 0;
    }
    case 'admin':
      return adminCommand(config, sub, args, values);
    case 'accounts':
      return accountsCommand(config, sub, args, values);
    case 'sessions':
      return sessionsCommand(config, sub, args, values);
    default:
      return groupsCommand(config, sub, args, values);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`kopitra: ${err.message}\n\nusage:\n${err.usage}`);
      process.exit(2);
    }
    if (err instanceof AppError) console.error(`kopitra: ${err.code}: ${err.message}`);
    else if (err instanceof ConfigError) console.error(err.message);
    else if ((err as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE') {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      console.error(
        `kopitra: cannot listen on ${e.address ?? 'the address'}:${e.port ?? ''}: the port is already in use.\n` +
          'Stop whatever holds it, or choose another port: PORT=8081 npm start, or kopitra up --port 8081.',
      );
    } else console.error(err);
    process.exit(1);
  },
);
