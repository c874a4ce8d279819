// Regenerates the committed docs that are derived from code (docs/errors.md, docs/openapi.json).
import fs from 'node:fs';
import { renderCatalogues, renderOpenApi } from '../packages/server/dist/docs/catalogues.js';

fs.writeFileSync(new URL('../docs/errors.md', import.meta.url), renderCatalogues());
fs.writeFileSync(new URL('../docs/openapi.json', import.meta.url), await renderOpenApi());
console.log('docs/errors.md and docs/openapi.json written');
