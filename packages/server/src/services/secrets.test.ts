import { describe, expect, it } from 'vitest';
import { oneTimePassword } from './operators.js';
import { newAccountKey, randomAlphanumeric } from './secrets.js';

describe('issued secrets', () => {
  it('are letters and digits only, so none reads as an option', () => {
    const keys = Array.from({ length: 2000 }, newAccountKey);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(new Set(keys).size).toBe(keys.length);
    for (let i = 0; i < 200; i++) expect(oneTimePassword()).toMatch(/^[A-Za-z0-9]{16}$/);
  });

  it('use the whole alphabet', () => {
    const seen = new Set(randomAlphanumeric(20_000));
    expect(seen.size).toBe(62);
  });
});
