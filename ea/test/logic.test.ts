/**
 * The EA's decisions (ea/include/Kopitra/Logic.mqh) compiled with g++ from the very file the
 * terminal compiles, and checked against ea/test/decisions.json. There is no MQL compiler
 * outside MetaTrader; Logic.mqh is kept to the part of MQL that is also C++ so that what
 * decides a retry, a drop, a recovery or a close is tested here. What needs a terminal is
 * checked by hand, step by step, in docs/ea-testing.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue, positionTag, shortHash } from '@kopitra/contracts';

interface Decision {
  finding: number;
  name: string;
  call: string[];
  expect: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const decisions = (JSON.parse(readFileSync(join(here, 'decisions.json'), 'utf8')) as { vectors: Decision[] })
  .vectors;
const hasGpp = spawnSync('g++', ['--version']).status === 0;
const required = process.env['KOPITRA_REQUIRE_SERVICES'] === '1';
if (!hasGpp && !required)
  console.warn(
    'ea/test/logic.test.ts skipped: g++ is not installed (apt-get install g++ to run the EA logic tests)',
  );

let dir = '';
let driver = '';
beforeAll(() => {
  if (!hasGpp) return;
  dir = mkdtempSync(join(tmpdir(), 'kopitra-ea-logic-'));
  driver = join(dir, 'logic-driver');
  execFileSync(
    'g++',
    ['-std=c++17', '-Wall', '-Wextra', '-Werror', '-o', driver, join(here, 'logic-driver.cpp')],
    {
      stdio: 'pipe',
    },
  );
}, 120_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs calls through the compiled driver in one process; one answer per call. */
function run(calls: string[][]): string[] {
  const input = calls.map((c) => c.map((a) => encodeURIComponent(a)).join('\t')).join('\n') + '\n';
  const out = execFileSync(driver, { input, encoding: 'utf8' });
  return out.split('\n').slice(0, calls.length);
}

describe.skipIf(!hasGpp && !required)('EA decisions (Logic.mqh under g++)', () => {
  it('g++ is available (CI requires it)', () => {
    expect(hasGpp, 'g++ is needed to compile ea/include/Kopitra/Logic.mqh').toBe(true);
  });

  const byFinding = new Map<number, Decision[]>();
  for (const d of decisions) byFinding.set(d.finding, [...(byFinding.get(d.finding) ?? []), d]);
  for (const [finding, list] of [...byFinding.entries()].sort((a, b) => a[0] - b[0])) {
    describe(`finding ${finding}`, () => {
      for (const d of list)
        it(d.name, () => {
          expect(run([d.call])[0], d.call.join(' ')).toBe(d.expect);
        });
    });
  }

  it('drops a queued request only on codes the gateway catalogues as a 4xx', () => {
    const codes = Object.keys(errorCatalogue) as Array<keyof typeof errorCatalogue>;
    const answers = run(codes.map((c) => ['permanentError', c]));
    const permanent = codes.filter((_, i) => answers[i] === 'true');
    expect(permanent.length).toBeGreaterThan(5);
    for (const code of permanent) {
      const status = errorCatalogue[code].status;
      expect(status >= 400 && status < 500 && status !== 401 && status !== 429, code).toBe(true);
    }
    expect(permanent).not.toContain('session_pending');
    expect(run([['permanentError', 'a_code_the_gateway_does_not_have']])[0]).toBe('false');
  });

  it('formats every magic number of the signal vectors as the vectors carry it', () => {
    const vectorDir = join(here, '..', 'testdata');
    for (const file of ['signals-mt4.json', 'signals-mt5.json']) {
      const unsigned = file.includes('mt5');
      const { vectors } = JSON.parse(readFileSync(join(vectorDir, file), 'utf8')) as {
        vectors: Array<{ body?: { magic?: string } }>;
      };
      const magics = vectors.flatMap((v) => (v.body?.magic !== undefined ? [v.body.magic] : []));
      expect(magics.length).toBeGreaterThan(0);
      expect(run(magics.map((m) => ['magic', m, String(unsigned)]))).toEqual(magics);
    }
  });

  it("hashes as the gateway does, so the group part of the tags it sends is the EA's KpShortHash", () => {
    const inputs = ['', 'a', 'grp_01JH4K7Q2W3E5R6T7Y8U9I0OPA', 'g'.repeat(80), 'grupo:ñ/€'];
    // The driver's strings are bytes: the gateway's UTF-16 agrees where a byte is a code unit (ASCII).
    const ascii = inputs.filter((s) => /^[\x00-\x7f]*$/.test(s));
    expect(run(ascii.map((s) => ['shortHash', s]))).toEqual(ascii.map(shortHash));
    const tag = positionTag('grp_01JH4K7Q2W3E5R6T7Y8U9I0OPA', '1184327701');
    expect(run([['tagMatch', tag, tag, '1184327701']])[0]).toBe('exact');
    expect(run([['tagMatch', positionTag('grp_other', '1184327701'), tag, '1184327701']])[0]).toBe('none');
  });

  it('keeps order and command tags within the 31 characters MetaTrader keeps of a comment', () => {
    for (const tag of run([
      ['orderTag', 'co_' + 'x'.repeat(60)],
      ['orderTag', ''],
    ]))
      expect(tag.length).toBeLessThanOrEqual(31);
  });

  it('gives every account id a distinct file name without characters Windows refuses', () => {
    const ids = ['a:b', 'a_b', 'a-b', 'A.b', 'a:b:c', 'a_b_c', 'x'.repeat(64)];
    const names = run(ids.map((id) => ['fileSafeId', id]));
    expect(new Set(names).size).toBe(ids.length);
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9._~-]+$/);
  });
});
