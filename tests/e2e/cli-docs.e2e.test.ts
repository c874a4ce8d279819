/**
 * The `kopitra` command as the README shows it: `npx kopitra` from the repository root (CI
 * runs this on a fresh clone after `npm ci` and the build), and every shell example of the
 * READMEs and docs/ that is safe to run — it changes only a temporary data directory and
 * starts no server — run in the order written, each expected to succeed.
 * (packages/server/src/cli/doc-examples.test.ts checks every example against the command table.)
 */
import { describe, expect, it } from 'vitest';
import { shellExamples } from '../../packages/server/src/testing/doc-examples.js';
import { tempDir } from '../../packages/server/src/testing/databases.js';
import { ROOT, runKopitraStatus } from './support.js';

/** Commands that only read or change the database: no server, no terminal. */
const SAFE = new Set([
  'migrate',
  'accounts list',
  'accounts create',
  'accounts keys list',
  'accounts keys issue',
  'sessions list',
  'groups list',
  'groups create',
  'groups follow',
  'groups unfollow',
  'admin create-user',
]);
const commandOf = (argv: string[]) =>
  [argv.slice(0, 3).join(' '), argv.slice(0, 2).join(' '), argv[0] ?? ''].find((c) => SAFE.has(c));

describe('kopitra from the repository root', () => {
  it('npx kopitra --help lists every command', { timeout: 120_000 }, async () => {
    const res = await runKopitraStatus(['--help'], {}, ['npx', 'kopitra']);
    expect(res.stderr).not.toContain('could not determine executable');
    expect(res.code).toBe(0);
    for (const c of ['up', 'accounts create', 'accounts keys issue', 'groups follow', 'ea master|follower'])
      expect(res.stdout).toContain(`kopitra ${c}`);
  });

  // One fresh Node process per example: generous on a busy machine.
  it('runs the safe shell examples of the docs in order, each succeeding', { timeout: 300_000 }, async () => {
    const env = { KOPITRA_DATA_DIR: tempDir(), DATABASE_URL: '' };
    const values: Record<string, string> = {};
    const ran: string[] = [];
    for (const e of shellExamples(ROOT)) {
      const command = commandOf(e.argv);
      if (!command || e.placeholders.some((p) => values[p] === undefined)) continue;
      const argv = e.argv.map((w) => w.replace(/<([^>]+)>/g, (_, p: string) => values[p]!));
      const res = await runKopitraStatus(argv, env);
      expect({ where: e.where, code: res.code, stderr: res.stderr }).toEqual({
        where: e.where,
        code: 0,
        stderr: '',
      });
      if (command === 'groups create') values['groupId'] = res.stdout.trim();
      ran.push(`${e.where} ${command}`);
    }
    // The README's copying walk-through: accounts, a key, a group, a follower, the list.
    expect(ran.filter((r) => r.startsWith('README.md')).map((r) => r.split(' ').slice(1).join(' '))).toEqual(
      expect.arrayContaining([
        'sessions list',
        'accounts create',
        'accounts keys issue',
        'groups create',
        'groups follow',
        'groups list',
      ]),
    );
  });

  it(
    'answers a wrong command line with its usage in the command line words, and changes nothing',
    { timeout: 300_000 },
    async () => {
      const env = { KOPITRA_DATA_DIR: tempDir(), DATABASE_URL: '' };
      const missing = await runKopitraStatus(['accounts', 'create', '1001'], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('kopitra accounts create needs --platform MT4|MT5');
      expect(missing.stderr).toContain('kopitra accounts keys issue ACCOUNT_ID');
      const bad = await runKopitraStatus(['accounts', 'create', '1001', '--platform', 'MT6'], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--platform:');
      expect(bad.stderr).not.toContain('Invalid body');
      const unknown = await runKopitraStatus(['accounts', 'keys', 'issue', '1001'], env);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('account_not_found');
      const list = await runKopitraStatus(['accounts', 'list', '--json'], env);
      expect(JSON.parse(list.stdout)).toEqual([]);
    },
  );
});
