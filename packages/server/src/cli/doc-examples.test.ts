/**
 * Every `kopitra …` line in the shell blocks of the READMEs and docs/ names a command of the
 * command table, with its arguments and only its options, and parses; `kopitra ea` lines
 * pass the simulated terminal's own checks. (tests/e2e/cli-docs.e2e.test.ts runs the safe ones.)
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runEaCommand } from '../../../ea-sdk/src/cli.js';
import { shellExamples } from '../testing/doc-examples.js';
import { COMMANDS, parseCommandLine, UsageError } from './commands.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const examples = shellExamples(ROOT);
/** A value for each `<placeholder>`, long enough for a key. */
const filled = (argv: string[]) => argv.map((w) => w.replace(/<([^>]+)>/g, 'example-$1-0123456789abcdef'));

describe('shell examples in the docs', () => {
  it('are found (README, docs, package READMEs)', () => {
    expect(examples.length).toBeGreaterThan(10);
    expect(examples.some((e) => e.where.startsWith('README.md'))).toBe(true);
  });

  it.each(examples.map((e) => [e.where, e] as const))('%s parses against the command table', async (_, e) => {
    let problem = '';
    try {
      const parsed = parseCommandLine(filled(e.argv));
      if (parsed.kind === 'external') {
        const err: string[] = [];
        if ((await runEaCommand(parsed.argv, { checkOnly: true, err: (l) => err.push(l) })) !== 0)
          problem = err.join('\n');
      }
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      problem = err.message;
    }
    expect(problem, `${e.where}: ${e.text}`).toBe('');
  });

  it('would catch a wrong example: unknown command, unknown option, missing argument', () => {
    for (const argv of [
      ['accounts', 'add', '1001'],
      ['groups', 'create', '--name', 'A', '--master', '1001', '--settings', '{}'],
      ['groups', 'follow', 'grp_1'],
      ['sessions', 'reject', 'ses_1'],
      ['frobnicate'],
    ])
      expect(() => parseCommandLine(argv), argv.join(' ')).toThrow(UsageError);
  });

  it('every command of the table is in the README', async () => {
    const readme = (await import('node:fs')).readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    for (const c of COMMANDS) expect(readme, c.path.join(' ')).toContain(`kopitra ${c.path.join(' ')}`);
  });
});
