/**
 * Renders docs/errors.md from the error and reason catalogues. The file is committed, and a
 * test fails when it drifts from the code; `npm run docs` rewrites it.
 */
import { errorCatalogue } from '@kopitra/contracts';
import { reasonCatalogue } from '@kopitra/engine';

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function renderCatalogues(): string {
  const lines = [
    '# Error and reason codes',
    '',
    '<!-- Generated from packages/contracts/src/errors.ts and packages/engine/src/copy/reasons.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'Every error response is JSON: `{ "error": "<code>", "message": "…", "requestId": "…", … }`.',
    'Codes are stable and never reused.',
    '',
    '## Error codes',
    '',
    '| code | HTTP | meaning | how to fix |',
    '|---|---|---|---|',
    ...Object.entries(errorCatalogue).map(
      ([code, d]) => `| \`${code}\` | ${d.status} | ${cell(d.message)} | ${cell(d.howToFix)} |`,
    ),
    '',
    '## Copy reason codes',
    '',
    "The `reason` of every copy order that was not done as asked (skipped, rejected, failed, expired, withdrawn) or was sent for a reason of its own (a close), of `skipped: [{ followerAccountId, reason }]` in a signal's answer, and of alerts from reconciliation. The specifics are in the order's `detail`; the broker's own code and message in `errorCode` and `message`.",
    '',
    '| code | category | meaning |',
    '|---|---|---|',
    ...Object.entries(reasonCatalogue).map(
      ([code, d]) => `| \`${code}\` | ${d.category} | ${cell(d.description)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

/** The management OpenAPI document as committed in docs/openapi.json. */
export async function renderOpenApi(): Promise<string> {
  const { managementRouteSpecs } = await import('../management/app.js');
  const { openApiDocument } = await import('../management/openapi.js');
  // Route declarations only close over their dependencies; describing them needs none.
  const routes = managementRouteSpecs({} as Parameters<typeof managementRouteSpecs>[0]);
  return `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;
}
