import { describe, expect, it } from 'vitest';
import { joinDashValues, runEaCommand } from './cli.js';

describe('kopitra ea options', () => {
  it('takes a value that starts with "-" as the value of a string option', () => {
    expect(joinDashValues(['follower', '--key', '-abc0123456789xyz', '--suffix', '-ECN'])).toEqual([
      'follower',
      '--key=-abc0123456789xyz',
      '--suffix=-ECN',
    ]);
    expect(joinDashValues(['--key=-abc', '--', '--key', '-x'])).toEqual(['--key=-abc', '--', '--key', '-x']);
  });

  it('still reports a missing value when the next word is one of its options', async () => {
    expect(joinDashValues(['--key', '--account', '1', '--gateway', '-h'])).toEqual([
      '--key',
      '--account',
      '1',
      '--gateway',
      '-h',
    ]);
    const err: string[] = [];
    expect(await runEaCommand(['follower', '--key', '--account', '1'], { err: (l) => err.push(l) })).toBe(2);
    expect(err.join('\n')).toContain("Option '--key' argument is ambiguous");
  });
});
