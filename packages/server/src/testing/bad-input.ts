/**
 * Generated bad input, derived from the zod contracts: a value the schema accepts (a seed,
 * best effort — the schema itself is the oracle) and mutations of it — wrong types, missing and
 * extra fields, huge and tiny numbers, NaN-like strings, odd Unicode, oversized strings, deep
 * nesting, numbers no double can hold — and the bodies, content types and path ids a hostile
 * client sends. Used by the bad-input property tests (`http/generated-input.test.ts`).
 */
import fc from 'fast-check';
import type { z } from 'zod';

// --- valid seeds ---------------------------------------------------------------------------

/** What a seed may take from the world: the server's time, and real ids by field name. */
export interface SeedContext {
  now: number;
  fields?: Record<string, fc.Arbitrary<unknown>>;
}

interface Def {
  type: string;
  [k: string]: any;
}
const defOf = (s: z.ZodType): Def => (s as any)._zod.def as Def;
const checksOf = (s: z.ZodType): Array<Record<string, any>> =>
  ((defOf(s).checks ?? []) as any[]).map((c) => c._zod.def as Record<string, any>);

/** Bounds a schema declares through its checks (lengths, sizes, number ranges). */
function bounds(s: z.ZodType) {
  const b: {
    min?: number;
    max?: number;
    minInclusive?: boolean;
    maxInclusive?: boolean;
    minLength?: number;
    maxLength?: number;
    int?: boolean;
    format?: string;
    pattern?: RegExp;
  } = {};
  for (const c of checksOf(s)) {
    if (c['check'] === 'greater_than') [b.min, b.minInclusive] = [c['value'], c['inclusive']];
    else if (c['check'] === 'less_than') [b.max, b.maxInclusive] = [c['value'], c['inclusive']];
    else if (c['check'] === 'min_length' || c['check'] === 'min_size') b.minLength = c['minimum'];
    else if (c['check'] === 'max_length' || c['check'] === 'max_size') b.maxLength = c['maximum'];
    else if (c['check'] === 'length_equals') b.minLength = b.maxLength = c['length'];
    else if (c['check'] === 'number_format') b.int = /int/.test(String(c['format']));
    else if (c['check'] === 'string_format') {
      b.format = c['format'];
      if (c['pattern'] instanceof RegExp) b.pattern = c['pattern'];
    }
  }
  const d = defOf(s);
  if (typeof d['format'] === 'string') b.format ??= d['format'];
  if (d['pattern'] instanceof RegExp) b.pattern ??= d['pattern'];
  return b;
}

/** True when the schema accepts `undefined` (optional, default): the key may be left out. */
export const isOptional = (s: z.ZodType): boolean => (s as any)._zod.optin === 'optional';

function stringSeed(s: z.ZodType): fc.Arbitrary<string> {
  const b = bounds(s);
  const min = b.minLength ?? 0;
  const max = Math.max(min, Math.min(b.maxLength ?? 24, 24));
  let arb: fc.Arbitrary<string>;
  if (b.format === 'email') arb = fc.nat(99_999).map((n) => `fuzz${n}@example.com`);
  else if (b.format === 'url') arb = fc.constantFrom('https://example.com/hook', 'http://127.0.0.1:9/hook');
  else if (b.format === 'regex' && b.pattern) arb = fc.stringMatching(b.pattern);
  else arb = fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${min},${max}}$`));
  return arb.filter((v) => s.safeParse(v).success);
}

/** Values at the edges of the usual storage types, for numbers whose contract allows them. */
const EDGES = [
  0,
  -0,
  1,
  -1,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 53 - 1,
  -(2 ** 53) + 1,
  Number.MIN_VALUE,
  1e-300,
  1e300,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
];

function numberSeed(s: z.ZodType): fc.Arbitrary<number> {
  const b = bounds(s);
  const min = b.min ?? (b.int ? -1000 : -1e6);
  const max = b.max ?? (b.int ? Math.max(min, 0) + 100_000 : Math.max(min, 0) + 1e6);
  const ranged = (
    b.int
      ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
      : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
  ).filter((v) => s.safeParse(v).success);
  // The contract's own edges, and the storage types' edges it lets through.
  const edges = [...EDGES, b.min, b.max].filter(
    (v): v is number => typeof v === 'number' && s.safeParse(v).success,
  );
  return edges.length > 0
    ? fc.oneof({ arbitrary: ranged, weight: 3 }, { arbitrary: fc.constantFrom(...edges), weight: 1 })
    : ranged;
}

/** Values the schema (probably) accepts; the caller checks with the schema itself. */
export function seedOf(s: z.ZodType, ctx: SeedContext, field?: string): fc.Arbitrary<unknown> {
  const d = defOf(s);
  const hinted = field ? ctx.fields?.[field] : undefined;
  switch (d.type) {
    case 'string': {
      if (hinted) return hinted;
      if (bounds(s).format === 'datetime')
        return fc.integer({ min: -60_000, max: 0 }).map((ms) => new Date(ctx.now + ms).toISOString());
      return stringSeed(s);
    }
    case 'number':
      return hinted ?? numberSeed(s);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'enum':
      return hinted ?? fc.constantFrom(...(Object.values(d['entries']) as unknown[]));
    case 'literal':
      return fc.constantFrom(...(d['values'] as unknown[]));
    case 'optional':
      return fc.option(seedOf(d['innerType'], ctx, field), { nil: undefined, freq: 3 });
    case 'nullable':
      return fc.option(seedOf(d['innerType'], ctx, field), { nil: null, freq: 3 });
    case 'default':
    case 'prefault':
    case 'catch':
    case 'readonly':
    case 'nonoptional':
      return seedOf(d['innerType'], ctx, field);
    case 'pipe':
      return seedOf(d['in'], ctx, field);
    case 'lazy':
      return seedOf(d['getter'](), ctx, field);
    case 'object': {
      const shape = d['shape'] as Record<string, z.ZodType>;
      const model = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, seedOf(v, ctx, k)]));
      return fc.record(model, {
        requiredKeys: Object.keys(shape).filter((k) => !isOptional(shape[k]!)),
      });
    }
    case 'array': {
      const b = bounds(s);
      return fc.array(seedOf(d['element'], ctx), {
        minLength: b.minLength ?? 0,
        maxLength: Math.max(b.minLength ?? 0, Math.min(b.maxLength ?? 3, 3)),
      });
    }
    case 'record':
      return fc.dictionary(
        (seedOf(d['keyType'], ctx) as fc.Arbitrary<string>).filter((k) => typeof k === 'string'),
        seedOf(d['valueType'], ctx),
        { maxKeys: 3 },
      );
    case 'union':
      return fc.oneof(...(d['options'] as z.ZodType[]).map((o) => seedOf(o, ctx, field)));
    default:
      // unknown, any, custom and anything this walker does not know: small JSON.
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// --- mutations -----------------------------------------------------------------------------

/** A number token written into the JSON text as is (no double holds it, or it rounds to 0). */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '1E+999',
  '1e-400',
  '123456789012345678901234567890',
  '-0.000000000000000000000000000000000000000000000001',
  '18446744073709551616',
  '9223372036854775808',
];
const EXTREME_NUMBERS = [
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_SAFE_INTEGER - 2,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31) - 1,
  2 ** 32,
  2 ** 63,
  2 ** 64,
  1e21,
  -1,
  -0,
  0,
  0.1,
  1e-7,
  1.5,
];
const NAN_LIKE = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '0x10',
  '0b1',
  '1_000',
  ' 1 ',
  '',
  ' ',
  'null',
  'undefined',
  'true',
  '-0',
  '١٢٣',
  '１２３',
  '1,5',
  '+1',
  '.5',
  '1e',
  '--1',
];
/** NUL, lone and reversed surrogates, bidi overrides, zero-width, BOM, emoji, combining marks… */
const ODD_UNICODE = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u202e',
  '\u200f\u202b',
  '\u200b',
  '\ufeff',
  '💸',
  '👨‍👩‍👧',
  'e\u0301\u0301\u0301',
  '\u2028\u2029',
  '\u0085',
  '\u001b[31m',
  '\u0007\u0008',
  '\uffff',
  '\ufffd',
  '𝕂',
  '\\',
  '"',
  "'; DROP TABLE accounts; --",
  '${jndi:ldap://x}',
  '{{7*7}}',
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
];
const WRONG_TYPES: unknown[] = [null, true, false, 0, 1, -1, 1.5, '', 'x', [], [null], {}, { a: 1 }];
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '$where',
  '$gt',
  'k'.repeat(300),
  '',
  ' ',
  '💸',
  '\u202e',
  'a.b',
  'a[0]',
  '0',
  'extra',
];

export type MutationKind =
  | 'wrong_type'
  | 'delete_key'
  | 'extra_key'
  | 'extreme_number'
  | 'raw_number'
  | 'nan_like'
  | 'odd_unicode'
  | 'oversized'
  | 'deep'
  | 'array_size';

interface Mutation {
  kind: MutationKind;
  /** Which node of the value (index into its paths, modulo). */
  at: number;
  pick: number;
  size: number;
}

/** The string and array limits the contracts use. */
const LIMITS = [8, 16, 31, 32, 64, 128, 200, 254, 256, 500, 1024, 2000, 2048, 5000];

const ALL_KINDS: MutationKind[] = [
  'wrong_type',
  'delete_key',
  'extra_key',
  'extreme_number',
  'raw_number',
  'nan_like',
  'odd_unicode',
  'oversized',
  'deep',
  'array_size',
];

/** Mutations that often leave a value the schema still accepts: odd, but valid. */
export const ODD_BUT_VALID_KINDS: MutationKind[] = [
  'odd_unicode',
  'extreme_number',
  'extra_key',
  'oversized',
];

const mutationArb = (kinds: MutationKind[]): fc.Arbitrary<Mutation> =>
  fc.record({
    kind: fc.constantFrom(...kinds),
    at: fc.nat(),
    pick: fc.nat(),
    // Lengths just past the contracts' limits, now and then a big one (and past the body limit).
    size: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 50 },
      { arbitrary: fc.constantFrom(...LIMITS.map((n) => n + 1)), weight: 50 },
      { arbitrary: fc.constantFrom(70_000, 300_000), weight: 4 },
      { arbitrary: fc.constant(1_100_000), weight: 1 },
    ),
  });

type Path = Array<string | number>;

function pathsOf(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...path, i], out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...path, k], out);
  return out;
}

const clone = (v: unknown): unknown => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** Sets an own property, `__proto__` included (an assignment would change the prototype). */
const put = (o: Record<string, unknown>, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

function nested(depth: number, objects: boolean): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = objects ? { a: v } : [v];
  return v;
}

/** A mutated copy, and the raw number tokens to splice into its JSON text. */
export interface Mutated {
  value: unknown;
  raw: string[];
}

export const RAW_MARK = (i: number) => `@@raw-number-${i}@@`;

function applyMutation(root: unknown, m: Mutation, raw: string[]): unknown {
  const paths = pathsOf(root);
  const path = paths[m.at % paths.length]!;
  const node = path.reduce<any>((v, k) => v?.[k], root);
  let replacement: unknown = node;
  switch (m.kind) {
    case 'wrong_type':
      replacement = clone(WRONG_TYPES[m.pick % WRONG_TYPES.length]);
      break;
    case 'delete_key': {
      if (node && typeof node === 'object' && !Array.isArray(node)) {
        const keys = Object.keys(node);
        if (keys.length > 0) delete (node as Record<string, unknown>)[keys[m.pick % keys.length]!];
        return root;
      }
      replacement = undefined;
      break;
    }
    case 'extra_key': {
      const target = node && typeof node === 'object' && !Array.isArray(node) ? node : null;
      if (!target) break;
      put(
        target,
        HOSTILE_KEYS[m.pick % HOSTILE_KEYS.length]!,
        clone(WRONG_TYPES[m.size % WRONG_TYPES.length]),
      );
      return root;
    }
    case 'extreme_number':
      replacement = EXTREME_NUMBERS[m.pick % EXTREME_NUMBERS.length];
      break;
    case 'raw_number':
      raw.push(RAW_NUMBERS[m.pick % RAW_NUMBERS.length]!);
      replacement = RAW_MARK(raw.length - 1);
      break;
    case 'nan_like':
      replacement = NAN_LIKE[m.pick % NAN_LIKE.length];
      break;
    case 'odd_unicode': {
      const odd = ODD_UNICODE[m.pick % ODD_UNICODE.length]!;
      replacement = typeof node === 'string' ? node.slice(0, m.size % 8) + odd + node.slice(m.size % 8) : odd;
      break;
    }
    case 'oversized': {
      const unit = m.pick % 3 === 0 ? '💸' : m.pick % 3 === 1 ? 'x' : '\u202e';
      replacement = unit.repeat(Math.ceil(m.size / unit.length));
      break;
    }
    case 'deep': {
      const depth = [2, 20, 63, 64, 65, 200, 5000][m.size % 7]!;
      if (depth <= 200) replacement = nested(depth, m.pick % 2 === 0);
      else {
        // Too deep to build and stringify here: spliced into the text like a raw number.
        raw.push(
          m.pick % 2 === 0
            ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
            : '['.repeat(depth) + ']'.repeat(depth),
        );
        replacement = RAW_MARK(raw.length - 1);
      }
      break;
    }
    case 'array_size':
      if (Array.isArray(node)) {
        // Past the array's limit, but within ~200 kB of JSON: bigger is the body limit's job.
        const each = (JSON.stringify(node[0]) ?? 'null').length + 1;
        replacement =
          m.pick % 2 === 0 || node.length === 0
            ? []
            : Array.from({ length: Math.min(m.size, Math.floor(200_000 / each)) }, () => clone(node[0]));
      } else replacement = [node];
      break;
  }
  if (path.length === 0) return replacement;
  const parent = path.slice(0, -1).reduce<any>((v, k) => v?.[k], root);
  const key = path.at(-1)!;
  if (parent && typeof parent === 'object') {
    if (replacement === undefined) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (Array.isArray(parent)) parent[key as number] = replacement;
    else put(parent, String(key), replacement);
  }
  return root;
}

/** One to three mutations of a seed of the schema. */
export function mutatedOf(
  schema: z.ZodType,
  ctx: SeedContext,
  kinds: MutationKind[] = ALL_KINDS,
): fc.Arbitrary<Mutated> {
  return fc
    .tuple(seedOf(schema, ctx), fc.array(mutationArb(kinds), { minLength: 1, maxLength: 3 }))
    .map(([seed, mutations]) => {
      const raw: string[] = [];
      let value = clone(seed);
      for (const m of mutations) value = applyMutation(value, m, raw);
      return { value, raw };
    });
}

/** The JSON text of a (mutated) value, raw number tokens spliced in. */
export function jsonText(m: Mutated): string | undefined {
  if (m.value === undefined) return undefined;
  let text = JSON.stringify(m.value);
  m.raw.forEach((token, i) => (text = text.replace(`"${RAW_MARK(i)}"`, token)));
  return text;
}
