/** The OpenAPI document, generated from the route declarations and their zod contracts. */
import { errorCatalogue, Magic, managementComponents, type OpenApiDocument } from '@kopitra/contracts';
import { z } from 'zod';
import { VERSION } from '../version.js';
import { responseOf, type RouteSpec } from './registry.js';

const COMPONENTS = '#/components/schemas/';
const components = z.registry<{ id: string }>();
for (const [id, schema] of Object.entries(managementComponents)) components.add(schema, { id });

/**
 * The JSON Schema the document gives for an answer's contract, and the named components
 * (`managementComponents`) it refers to. Times keep `format: date-time` without zod's long
 * pattern, which would repeat in every time field. A magic number is parsed from a number or
 * text and answered as its decimal text: JSON Schema cannot describe the transform, so its
 * output is stated here.
 */
export function responseJsonSchema(schema: z.ZodType): {
  schema: Record<string, unknown>;
  components: Record<string, unknown>;
} {
  const converted = z.toJSONSchema(schema, {
    io: 'output',
    metadata: components,
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (zodSchema === Magic) {
        for (const key of Object.keys(jsonSchema)) delete jsonSchema[key];
        Object.assign(jsonSchema, { type: 'string', pattern: '^-?\\d{1,20}$' });
      }
      if (jsonSchema.format === 'date-time') delete jsonSchema.pattern;
    },
  });
  const {
    $schema: _draft,
    $defs = {},
    ...json
  } = JSON.parse(JSON.stringify(converted).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as Record<
    string,
    unknown
  > & { $defs?: Record<string, unknown> };
  return { schema: json, components: $defs };
}

export function openApiDocument(routes: RouteSpec[]): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of routes) {
    const contract = responseOf(r);
    const response = contract && responseJsonSchema(contract);
    if (response) Object.assign(schemas, response.components);
    const params = [...r.url.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const query = r.query
      ? Object.entries(
          (z.toJSONSchema(r.query, { io: 'input' }) as { properties?: Record<string, unknown> }).properties ??
            {},
        ).map(([name, schema]) => ({ name, in: 'query', required: false, schema }))
      : [];
    (paths[r.url] ??= {})[r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.role === 'public' ? { security: [] } : { 'x-required-role': r.role }),
      parameters: [...params, ...query],
      ...(r.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input' }) } },
            },
          }
        : {}),
      responses: {
        [String(r.status ?? 200)]: response
          ? {
              description: 'Success',
              content: { 'application/json': { schema: response.schema } },
            }
          : { description: 'text/event-stream' },
        default: {
          description: 'A coded error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Kopitra management API',
      version: VERSION,
      description:
        'Operators: sign in with POST /api/auth/login and send the token as Authorization: Bearer <token>. Roles: viewer reads, operator acts, admin manages users.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        ...Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b))),
        Error: {
          type: 'object',
          required: ['error', 'message'],
          properties: {
            error: { type: 'string', enum: Object.keys(errorCatalogue) },
            message: { type: 'string' },
            howToFix: { type: 'string' },
            requestId: { type: 'string' },
          },
        },
      },
    },
  };
}
