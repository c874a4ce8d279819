/**
 * The layer rules are shown to fail: a scratch tree with deliberate violations is checked
 * with the project's own dependency-cruiser configuration and ESLint configuration, and each
 * violation is reported, while the allowed imports next to them are not.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './testing/databases.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The scratch tree: path → source. */
const files: Record<string, string> = {
  'packages/server/src/gateway/probe.ts': `export const fromGateway = 1;\n`,
  'packages/server/src/services/probe.ts': `export const fromServices = 1;\n`,
  // The violations.
  'packages/server/src/management/reaches-gateway.ts': `import { fromGateway } from '../gateway/probe.js';\nexport const a = fromGateway;\n`,
  'packages/server/src/gateway/reaches-management.ts': `import { a } from '../management/reaches-gateway.js';\nexport const b = a;\n`,
  'packages/server/src/store/reaches-services.ts': `import { fromServices } from '../services/probe.js';\nexport const c = fromServices;\n`,
  'packages/server/src/services/reaches-plane.ts': `import { fromGateway } from '../gateway/probe.js';\nexport const d = fromGateway;\n`,
  'packages/engine/src/reaches-server.ts': `import { fromServices } from '../../server/src/services/probe.js';\nexport const e = fromServices;\n`,
  'packages/server/src/services/uses-kysely.ts': `import { sql } from 'kysely';\nexport const f = sql;\n`,
  'packages/server/src/services/uses-otel-sdk.ts': `import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';\nexport const i = BasicTracerProvider;\n`,
  'packages/server/src/telemetry/static-sdk.ts': `import { sdk } from './sdk.js';\nexport const j = sdk;\n`,
  // Allowed: the SDK inside telemetry/sdk.ts, imported dynamically; the API anywhere.
  'packages/server/src/telemetry/sdk.ts': `import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';\nexport const sdk = BasicTracerProvider;\n`,
  'packages/server/src/telemetry/dynamic-sdk.ts': `export const k = () => import('./sdk.js');\n`,
  'packages/server/src/services/uses-otel-api.ts': `import { trace } from '@opentelemetry/api';\nexport const l = trace;\n`,
  // Allowed: a plane calls a service; the store uses kysely.
  'packages/server/src/management/calls-service.ts': `import { fromServices } from '../services/probe.js';\nexport const g = fromServices;\n`,
  'packages/server/src/store/uses-kysely.ts': `import { sql } from 'kysely';\nexport const h = sql;\n`,
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

describe('the layer rules', () => {
  let scratch: string;
  let violations: Violation[];

  beforeAll(async () => {
    scratch = tempDir('kopitra-rules-');
    for (const [file, source] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(scratch, file)), { recursive: true });
      fs.writeFileSync(path.join(scratch, file), source);
    }
    // The project's TypeScript settings (module resolution of `.js` specifiers) and packages.
    for (const config of ['tsconfig.base.json', 'tsconfig.tests.json'])
      fs.copyFileSync(path.join(root, config), path.join(scratch, config));
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    const run = await promisify(execFile)(
      process.execPath,
      [
        path.join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs'),
        'packages',
        '--config',
        path.join(root, '.dependency-cruiser.cjs'),
        '--output-type',
        'json',
      ],
      { cwd: scratch, maxBuffer: 16 * 1024 * 1024 },
    ).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
    violations = (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
  }, 60_000);

  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const ruleOf = (from: string) =>
    violations.filter((v) => v.from === from && !v.to.includes('node_modules')).map((v) => v.rule.name);

  it('reports an import from management/ into gateway/, and the reverse', () => {
    expect(ruleOf('packages/server/src/management/reaches-gateway.ts')).toEqual(['no-management-to-gateway']);
    expect(ruleOf('packages/server/src/gateway/reaches-management.ts')).toEqual(['no-gateway-to-management']);
  });

  it('reports upward imports: store to services, services to a plane, engine to server', () => {
    expect(ruleOf('packages/server/src/store/reaches-services.ts')).toEqual(['store-at-the-bottom']);
    expect(ruleOf('packages/server/src/services/reaches-plane.ts')).toEqual(['services-below-adapters']);
    expect(ruleOf('packages/engine/src/reaches-server.ts')).toContain('engine-is-pure');
  });

  it('reports kysely imported outside store/, and leaves the allowed imports alone', () => {
    expect(
      violations
        .filter((v) => v.from === 'packages/server/src/services/uses-kysely.ts')
        .map((v) => v.rule.name),
    ).toEqual(['kysely-only-in-store']);
    expect(violations.filter((v) => v.from === 'packages/server/src/store/uses-kysely.ts')).toEqual([]);
    expect(violations.filter((v) => v.from === 'packages/server/src/management/calls-service.ts')).toEqual(
      [],
    );
  });

  it('reports the OpenTelemetry SDK loaded outside telemetry/sdk.ts, or that file imported statically', () => {
    const rulesOf = (from: string) => violations.filter((v) => v.from === from).map((v) => v.rule.name);
    expect(rulesOf('packages/server/src/services/uses-otel-sdk.ts')).toEqual([
      'otel-sdk-only-in-telemetry-sdk',
    ]);
    expect(rulesOf('packages/server/src/telemetry/static-sdk.ts')).toEqual([
      'telemetry-sdk-loaded-dynamically',
    ]);
    for (const allowed of ['telemetry/sdk.ts', 'telemetry/dynamic-sdk.ts', 'services/uses-otel-api.ts'])
      expect(rulesOf(`packages/server/src/${allowed}`)).toEqual([]);
  });

  it('reports a table touched outside store/ (ESLint), and not inside it', async () => {
    const eslint = new ESLint({ cwd: root });
    const source = [
      `import type { Db } from '../store/schema.js';`,
      `export const rows = (db: Db) => db.selectFrom('accounts').selectAll().execute();`,
      `export const drop = (db: Db) => db.deleteFrom('alerts').execute();`,
      '',
    ].join('\n');
    const ruleHits = async (file: string) =>
      (await eslint.lintText(source, { filePath: path.join(root, file) }))[0]!.messages
        .filter((m) => m.ruleId === 'no-restricted-syntax')
        .map((m) => m.line);
    expect(await ruleHits('packages/server/src/services/probe-table.ts')).toEqual([2, 3]);
    expect(await ruleHits('packages/server/src/management/routes/probe-table.ts')).toEqual([2, 3]);
    expect(await ruleHits('packages/server/src/cli/probe-table.ts')).toEqual([2, 3]);
    expect(await ruleHits('packages/server/src/store/probe-table.ts')).toEqual([]);
  }, 60_000);
});
