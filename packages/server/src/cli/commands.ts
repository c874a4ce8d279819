/**
 * The command table of `kopitra`: every command, its arguments and options. The parser, the
 * usage text and the test that checks every shell example in the docs all read this one table.
 */
import { parseArgs } from 'node:util';
import type { z } from 'zod';

export type CliValues = Record<string, string | boolean | undefined>;

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The placeholder shown in usage, e.g. `N` for `--port N`. */
  value?: string;
  required?: boolean;
}

export interface CommandSpec {
  /** The words that name it: `['accounts', 'keys', 'issue']`. */
  path: readonly string[];
  /** Positional arguments, in order; a trailing `?` marks an optional one. */
  args: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  summary: string;
  /** Parses its own options (`kopitra ea --help`). */
  external?: true;
}

const dataDir: Record<string, OptionSpec> = { 'data-dir': { type: 'string', value: 'DIR' } };
const by: Record<string, OptionSpec> = { by: { type: 'string', value: 'NAME' } };
const json: Record<string, OptionSpec> = { json: { type: 'boolean' } };
const server: Record<string, OptionSpec> = { port: { type: 'string', value: 'N' }, ...dataDir };

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ['up'],
    args: [],
    options: { ...server, demo: { type: 'boolean' } },
    summary: 'the whole platform in one process (--demo: a master and followers trading)',
  },
  { path: ['gateway'], args: [], options: server, summary: 'the EA gateway alone (scale-out)' },
  {
    path: ['management'],
    args: [],
    options: server,
    summary: 'the management API and the console alone (scale-out)',
  },
  { path: ['migrate'], args: [], options: dataDir, summary: 'apply database migrations and exit' },
  {
    path: ['admin', 'create-user'],
    args: [],
    options: {
      email: { type: 'string', value: 'E', required: true },
      role: { type: 'string', value: 'viewer|operator|admin', required: true },
      password: { type: 'string', value: 'P' },
      name: { type: 'string', value: 'N' },
      ...by,
      ...dataDir,
    },
    summary: 'a new operator; without --password a random one is printed once',
  },
  {
    path: ['admin', 'reset-password'],
    args: ['EMAIL'],
    options: { password: { type: 'string', value: 'P' }, ...by, ...dataDir },
    summary: 'a new password for an operator who lost theirs (signs them out); random unless --password',
  },
  { path: ['accounts', 'list'], args: [], options: { ...json, ...dataDir }, summary: 'trading accounts' },
  {
    path: ['accounts', 'create'],
    args: ['ACCOUNT_ID'],
    options: {
      platform: { type: 'string', value: 'MT4|MT5', required: true },
      name: { type: 'string', value: 'N' },
      broker: { type: 'string', value: 'B' },
      server: { type: 'string', value: 'S' },
      currency: { type: 'string', value: 'C' },
      'session-policy': { type: 'string', value: 'reject|takeover' },
      ...by,
      ...dataDir,
    },
    summary: 'register a trading account (its number at the broker)',
  },
  {
    path: ['accounts', 'keys', 'list'],
    args: ['ACCOUNT_ID'],
    options: { ...json, ...dataDir },
    summary: "an account's keys (fingerprints only)",
  },
  {
    path: ['accounts', 'keys', 'issue'],
    args: ['ACCOUNT_ID'],
    options: { 'expires-at': { type: 'string', value: 'ISO' }, ...by, ...dataDir },
    summary: 'a new approved key for the EA; printed once, stored only as a hash',
  },
  {
    path: ['accounts', 'keys', 'revoke'],
    args: ['ACCOUNT_ID', 'FINGERPRINT'],
    options: { ...by, ...dataDir },
    summary: 'revoke a key; sessions using it end',
  },
  {
    path: ['sessions', 'list'],
    args: [],
    options: { status: { type: 'string', value: 'S' }, ...json, ...dataDir },
    summary: 'terminals and their sessions (--status pending: those waiting for approval)',
  },
  {
    path: ['sessions', 'approve'],
    args: ['SESSION_ID'],
    options: { 'expires-at': { type: 'string', value: 'ISO' }, ...by, ...dataDir },
    summary: "approve a pending terminal's key",
  },
  {
    path: ['sessions', 'reject'],
    args: ['SESSION_ID'],
    options: { reason: { type: 'string', value: 'TEXT', required: true }, ...by, ...dataDir },
    summary: "reject a terminal's key; its session ends",
  },
  {
    path: ['groups', 'list'],
    args: [],
    options: { ...json, ...dataDir },
    summary: 'copy groups and their followers',
  },
  {
    path: ['groups', 'create'],
    args: [],
    options: {
      name: { type: 'string', value: 'NAME', required: true },
      master: { type: 'string', value: 'ACCOUNT_ID', required: true },
      ...by,
      ...dataDir,
    },
    summary: 'a copy group with its master account',
  },
  {
    path: ['groups', 'follow'],
    args: ['GROUP_ID', 'ACCOUNT_ID'],
    options: { settings: { type: 'string', value: 'JSON' }, ...by, ...dataDir },
    summary: 'subscribe a follower account (sizing, symbol map… as JSON)',
  },
  {
    path: ['groups', 'unfollow'],
    args: ['GROUP_ID', 'ACCOUNT_ID'],
    options: { ...by, ...dataDir },
    summary: 'end a subscription',
  },
  {
    path: ['ea'],
    args: ['master|follower'],
    options: {
      gateway: { type: 'string', value: 'URL', required: true },
      account: { type: 'string', value: 'ID', required: true },
      key: { type: 'string', value: 'KEY', required: true },
    },
    summary: 'a simulated terminal (kopitra ea --help lists its options)',
    external: true,
  },
];

/** A command line that does not parse: said in the command line's words, with its usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

const optionUsage = (name: string, o: OptionSpec) => {
  const text = `--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
  return o.required ? text : `[${text}]`;
};

export const commandLine = (c: CommandSpec): string =>
  [
    'kopitra',
    ...c.path,
    ...c.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : a)),
    ...Object.entries(c.options).map(([n, o]) => optionUsage(n, o)),
    ...(c.external ? ['[...]'] : []),
  ].join(' ');

/** Usage of every command, or of those under `group` (`accounts`, `groups`…). */
export function usage(group?: string): string {
  return COMMANDS.filter((c) => group === undefined || c.path[0] === group)
    .map((c) => `  ${commandLine(c)}\n      ${c.summary}`)
    .join('\n');
}

const ALL_OPTIONS = (() => {
  const all: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  };
  for (const c of COMMANDS)
    if (!c.external) for (const [n, o] of Object.entries(c.options)) all[n] = { type: o.type };
  return all;
})();

export type ParsedCommand =
  | { kind: 'help'; group?: string }
  | { kind: 'version' }
  | { kind: 'run'; command: CommandSpec; args: string[]; values: CliValues }
  | { kind: 'external'; command: CommandSpec; argv: string[] };

/**
 * Parses a command line (without `kopitra`) against the table: the command, its arguments in
 * number, only its own options and every required one. Throws `UsageError` otherwise.
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  if (argv[0] === 'ea')
    return { kind: 'external', command: COMMANDS.find((c) => c.external)!, argv: argv.slice(1) };
  let values: CliValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: ALL_OPTIONS }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err), usage());
  }
  if (values['version']) return { kind: 'version' };
  const command = COMMANDS.filter((c) => c.path.every((w, i) => positionals[i] === w)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];
  const group = positionals[0];
  const known = group !== undefined && COMMANDS.some((c) => c.path[0] === group);
  if (values['help'] || group === undefined) return known ? { kind: 'help', group } : { kind: 'help' };
  if (!command) {
    if (!known) throw new UsageError(`unknown command "${group}"`, usage());
    const sub = positionals.slice(1).join(' ');
    throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'which subcommand?', usage(group));
  }
  const name = `kopitra ${command.path.join(' ')}`;
  const here = usage(group);
  const args = positionals.slice(command.path.length);
  const needed = command.args.filter((a) => !a.endsWith('?'));
  if (args.length < needed.length) throw new UsageError(`${name} needs ${needed[args.length]}`, here);
  if (args.length > command.args.length)
    throw new UsageError(`unexpected argument "${args[command.args.length]}"`, here);
  for (const [option, value] of Object.entries(values)) {
    if (value === undefined || option === 'help') continue;
    if (!Object.hasOwn(command.options, option))
      throw new UsageError(`${name} has no option --${option}`, here);
  }
  for (const [option, spec] of Object.entries(command.options))
    if (spec.required && values[option] === undefined)
      throw new UsageError(`${name} needs ${optionUsage(option, { ...spec, required: true })}`, here);
  return { kind: 'run', command, args, values };
}

/**
 * Parses with a contract schema, naming problems by the command line's options
 * (`--platform: …`) instead of request fields.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  flagOf: Record<string, string>,
  group: string,
): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new UsageError(
    result.error.issues
      .map((i) => `${flagOf[String(i.path[0])] ?? i.path.join('.')}: ${i.message}`)
      .join('; '),
    usage(group),
  );
}
