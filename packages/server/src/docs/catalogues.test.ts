import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '@kopitra/contracts';
import { renderCatalogues, renderOpenApi } from './catalogues.js';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../docs/errors.md');

describe('error catalogue', () => {
  it('docs/errors.md is in step with the catalogues (run `npm run docs` after changing a code)', () => {
    expect(fs.readFileSync(docs, 'utf8')).toBe(renderCatalogues());
  });

  it('docs/openapi.json is in step with the management routes (run `npm run docs`)', async () => {
    expect(fs.readFileSync(path.join(path.dirname(docs), 'openapi.json'), 'utf8')).toBe(
      await renderOpenApi(),
    );
  });

  it('has a message, a how-to-fix line and an error status for every code', () => {
    for (const [code, d] of Object.entries(errorCatalogue)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(d.status).toBeGreaterThanOrEqual(400);
      expect(d.message.length).toBeGreaterThan(10);
      expect(d.howToFix.length).toBeGreaterThan(10);
    }
  });
});
