// Regenerates the committed docs that are derived from code (docs/errors.md).
import fs from 'node:fs';
import { renderCatalogues } from '../packages/server/dist/docs/catalogues.js';

fs.writeFileSync(new URL('../docs/errors.md', import.meta.url), renderCatalogues());
console.log('docs/errors.md written');
