#!/usr/bin/env node
/** The `kopitra` command. */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { migrate, openDatabase } from '../store/database.js';
import { databaseTargetFor, startPlatform, type Platform } from '../runtime.js';
import { sessionsCommand } from '../cli/sessions.js';
import { groupsCommand } from '../cli/groups.js';
import { adminCommand } from '../cli/admin.js';
import { VERSION } from '../version.js';
import { runEaCommand } from '@kopitra/ea-sdk';
import { startDemo, type Demo } from '../demo/demo.js';
import { startupBanner } from '../banner.js';

const USAGE = `kopitra ${VERSION}

usage:
  kopitra up [--port N] [--data-dir DIR] [--demo]  the whole platform in one process (--demo: a master and followers trading)
  kopitra gateway [--port N] [--data-dir DIR] the EA gateway alone (scale-out)
  kopitra management [--port N] [--data-dir DIR] the management API alone (scale-out)
  kopitra migrate                             apply database migrations and exit
  kopitra admin create-user --email E --role viewer|operator|admin [--password P] [--name N]
  kopitra admin reset-password EMAIL [--password P]   a new password when one is lost
  kopitra sessions list [--status S] [--json] terminals and their sessions
  kopitra sessions approve <sessionId> [--expires-at ISO]
  kopitra sessions reject <sessionId> --reason TEXT
  kopitra groups list | create --name N --master ID | follow <groupId> <accountId> [--settings JSON] | unfollow <groupId> <accountId>
  kopitra ea master|follower --gateway URL --account ID --key KEY [...]  a simulated terminal (kopitra ea --help)

Operator commands (admin, sessions, groups) go through the same services as the API and
are written to the audit log as cli:$USER, or as --by NAME.

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
  // The simulated terminals parse their own options.
  if (argv[0] === 'ea') return runEaCommand(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      'expires-at': { type: 'string' },
      reason: { type: 'string' },
      by: { type: 'string' },
      status: { type: 'string' },
      json: { type: 'boolean' },
      name: { type: 'string' },
      master: { type: 'string' },
      settings: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      password: { type: 'string' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (values.version) {
    console.log(VERSION);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  const env = { ...process.env };
  if (values.port !== undefined) env['PORT'] = values.port;
  if (values['data-dir'] !== undefined) env['KOPITRA_DATA_DIR'] = values['data-dir'];
  const config = loadConfig(env);
  switch (command) {
    case 'up':
      return serve(config, { gateway: true, management: true }, values.demo === true);
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
    case 'sessions':
      return sessionsCommand(config, rest, {
        ...(values['expires-at'] ? { expiresAt: values['expires-at'] } : {}),
        ...(values.reason ? { reason: values.reason } : {}),
        ...(values.by ? { by: values.by } : {}),
        ...(values.status ? { status: values.status } : {}),
        ...(values.json ? { json: true } : {}),
      });
    case 'admin':
      return adminCommand(config, rest, {
        ...(values.email ? { email: values.email } : {}),
        ...(values.role ? { role: values.role } : {}),
        ...(values.password ? { password: values.password } : {}),
        ...(values.name ? { name: values.name } : {}),
        ...(values.by ? { by: values.by } : {}),
      });
    case 'groups':
      return groupsCommand(config, rest, {
        ...(values.name ? { name: values.name } : {}),
        ...(values.master ? { master: values.master } : {}),
        ...(values.settings ? { settings: values.settings } : {}),
        ...(values.by ? { by: values.by } : {}),
      });
    default:
      console.error(`kopitra: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else if ((err as NodeJS.ErrnoException | null)?.code === 'EADDRINUSE') {
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      console.error(
        `kopitra: cannot listen on ${e.address ?? 'the address'}:${e.port ?? ''}: the port is already in use.\n` +
          'Stop whatever holds it, or choose another port: PORT=8081 npm start, or kopitra up --port 8081.',
      );
    } else if (
      err instanceof TypeError &&
      'code' in err &&
      String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')
    )
      console.error(`kopitra: ${err.message}\n\n${USAGE}`);
    else console.error(err);
    process.exit(1);
  },
);
