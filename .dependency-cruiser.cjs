/**
 * The layers, checked on every CI run (`npm run deps:check`):
 *   contracts ← engine ← server (store ← services ← the adapters: gateway/, management/, cli/)
 * and the two HTTP planes never import each other. docs/architecture.md has the picture.
 */
const SERVER = '^packages/server/src/';
const ADAPTERS = `${SERVER}(gateway|management|cli|bin|demo)/|${SERVER}(app|runtime|index|console)[.]ts$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-gateway-to-management',
      comment: 'The EA plane and the management plane share code only through services/ and http/.',
      severity: 'error',
      from: { path: `${SERVER}gateway/` },
      to: { path: `${SERVER}management/` },
    },
    {
      name: 'no-management-to-gateway',
      comment: 'The EA plane and the management plane share code only through services/ and http/.',
      severity: 'error',
      from: { path: `${SERVER}management/` },
      to: { path: `${SERVER}gateway/` },
    },
    {
      name: 'services-below-adapters',
      comment: 'Services are called by the adapters (planes, CLI, composition root), never the reverse.',
      severity: 'error',
      from: { path: `${SERVER}(services|store|bus|notify|http|reports)/`, pathNot: '[.]test[.]ts$' },
      to: { path: ADAPTERS },
    },
    {
      name: 'store-at-the-bottom',
      comment: 'The store answers queries; it does not call services.',
      severity: 'error',
      from: { path: `${SERVER}store/` },
      to: { path: `${SERVER}services/` },
    },
    {
      name: 'kysely-only-in-store',
      comment:
        'Tables are read and written in store/ (and by the adapters that own their own tables: the bus adapters, the notifier).',
      severity: 'error',
      from: {
        path: '^packages/',
        pathNot: [
          `${SERVER}store/`,
          `${SERVER}bus/`,
          `${SERVER}notify/`,
          `${SERVER}testing/`,
          '[.]test[.]ts$',
        ],
      },
      to: { path: 'node_modules/kysely/' },
    },
    {
      name: 'otel-sdk-only-in-telemetry-sdk',
      comment:
        'Traces off must cost nothing: only telemetry/sdk.ts (imported dynamically when traces are on) may load the OpenTelemetry SDK; everything else uses @opentelemetry/api.',
      severity: 'error',
      from: { path: '^packages/', pathNot: [`${SERVER}telemetry/sdk[.]ts$`, '[.]test[.]ts$'] },
      to: { path: 'node_modules/@opentelemetry/(sdk-|exporter-|otlp-|resources|core|context-async-hooks)' },
    },
    {
      name: 'telemetry-sdk-loaded-dynamically',
      comment: 'telemetry/sdk.ts is imported with import() when traces are on, never statically.',
      severity: 'error',
      from: { path: '^packages/', pathNot: '[.]test[.]ts$' },
      to: { path: `${SERVER}telemetry/sdk[.]ts$`, dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'contracts-depend-on-nothing-of-ours',
      severity: 'error',
      from: { path: '^packages/contracts/src/' },
      to: { path: '^packages/(engine|server|ea-sdk|functions|console)/' },
    },
    {
      name: 'engine-is-pure',
      comment: 'The engine decides; it knows nothing of HTTP, databases or the bus.',
      severity: 'error',
      from: { path: '^packages/engine/src/' },
      to: {
        path: [
          '^packages/(server|ea-sdk|functions|console)/',
          'node_modules/(fastify|@fastify|kysely|pg|better-sqlite3|ws|pino|nats|@azure)/',
        ],
      },
    },
    {
      name: 'no-upward-package-imports',
      comment: 'contracts ← engine ← ea-sdk/server ← functions; the console sees only contracts.',
      severity: 'error',
      from: { path: '^packages/(server|ea-sdk)/src/', pathNot: '[.]test[.]ts$' },
      to: { path: '^packages/(functions|console)/' },
    },
    {
      name: 'console-sees-only-contracts',
      severity: 'error',
      from: { path: '^packages/console/src/' },
      to: { path: '^packages/(engine|server|ea-sdk|functions)/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle through type-only imports vanishes at run time and is allowed.',
      severity: 'error',
      from: { path: '^packages/(contracts|engine|server|functions)/src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^packages/[^/]+/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.tests.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'types', 'default'],
      mainFields: ['module', 'main', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
