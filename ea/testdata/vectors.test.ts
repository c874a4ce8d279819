/**
 * The EA protocol as the MQL4/MQL5 Expert Advisor speaks it, checked against the contract.
 *
 * Every file in this folder holds vectors: the exact JSON the EA sends (`direction: "request"`,
 * in the key order and number format of its JSON writer, ea/include/Kopitra/Json.mqh) and the
 * answers it handles (`direction: "response"`). There is no MQL compiler in CI, so this is
 * where the wire format is pinned down: each request must parse with the gateway's schema
 * without losing a key (zod strips unknown keys, which would hide a misspelt field), carry the
 * headers the gateway requires, and use only what the MQL writer can produce (plain decimals,
 * ISO-8601 UTC times, tickets as strings). Each response must parse with its response schema,
 * and every outbox event's payload with the payload schema the EA reads it by.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AccountId,
  CreateSessionRequest,
  CreateSessionResponse,
  errorCatalogue,
  ExecutionRequest,
  ExecutionResponse,
  InboxRequest,
  InboxResponse,
  ManualOrderRequest,
  OutboxEventType,
  OutboxQuery,
  OrderSignalRequest,
  OrderSignalType,
  OutboxResponse,
  SessionConflictBody,
  SessionInitAckPayload,
  SessionShutdownPayload,
  SignalRequest,
  SignalResponse,
  SignalType,
  telemetryTypes,
  TradeFollowUpPayload,
  TradeIncreasedPayload,
  TradeOrderPayload,
  TradeStartedPayload,
  EA_BASE_PATH,
} from '@kopitra/contracts';

interface Vector {
  name: string;
  direction: 'request' | 'response';
  platform?: 'MT4' | 'MT5';
  method?: 'GET' | 'POST' | 'DELETE';
  path?: string;
  headers?: Record<string, string>;
  status?: number;
  schema: string | null;
  note?: string;
  body: any;
}

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.json'))
  .sort();
const vectorsOf = (file: string): Vector[] =>
  (JSON.parse(readFileSync(join(here, file), 'utf8')) as { vectors: Vector[] }).vectors;
const all = files.flatMap((file) => vectorsOf(file).map((v) => ({ file, ...v })));

interface Parser {
  safeParse(
    input: unknown,
  ): { success: true; data: unknown } | { success: false; error: { issues: unknown[] } };
}
const schemas: Record<string, Parser> = {
  CreateSessionRequest,
  CreateSessionResponse,
  SessionConflictBody,
  InboxRequest,
  InboxResponse,
  SignalRequest,
  OrderSignalRequest,
  SignalResponse,
  ExecutionRequest,
  ExecutionResponse,
  OutboxResponse,
};

/** The payload schema the EA reads each outbox event type by (null: no contract schema, keys checked below). */
const payloadSchemas: Record<string, Parser | null> = {
  'session.init_ack': SessionInitAckPayload,
  'trade.started': TradeStartedPayload,
  'trade.increased': TradeIncreasedPayload,
  'trade.modified': TradeFollowUpPayload,
  'trade.partial_close': TradeFollowUpPayload,
  'trade.closed': TradeFollowUpPayload,
  'trade.order_placed': TradeOrderPayload,
  'trade.order_modified': TradeOrderPayload,
  'trade.order_cancelled': TradeOrderPayload,
  'order.command': ManualOrderRequest,
  'session.shutdown': SessionShutdownPayload,
  'order.cancel': null,
  'sync.request': null,
  'error.alert': null,
};

function parseOrFail(schema: Parser, input: unknown, what: string): unknown {
  const result = schema.safeParse(input);
  if (!result.success)
    throw new Error(`${what} does not parse: ${JSON.stringify(result.error.issues, null, 2)}`);
  return result.data;
}

/** Key paths present in `input` but missing from the parsed output (stripped as unknown by the schema). */
function droppedKeys(input: unknown, parsed: unknown, path = ''): string[] {
  if (Array.isArray(input)) {
    return input.flatMap((item, i) =>
      droppedKeys(item, Array.isArray(parsed) ? parsed[i] : undefined, `${path}[${i}]`),
    );
  }
  if (input === null || typeof input !== 'object') return [];
  const out = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  return Object.entries(input as Record<string, unknown>).flatMap(([key, value]) =>
    key in out ? droppedKeys(value, out[key], `${path}.${key}`) : [`${path}.${key}`],
  );
}

/** Every (key, value) pair in a JSON value, depth first. */
function* entries(value: unknown, key = ''): Generator<[string, unknown]> {
  yield [key, value];
  if (Array.isArray(value)) for (const item of value) yield* entries(item, key);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* entries(v, k);
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;
const TICKET_KEYS = new Set(['ticket', 'previousTicket', 'masterPositionId', 'masterOrderId', 'dealTicket']);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * The MQL writer's KpFormatNumber at its finest precision: DoubleToString(v, d) with d ≤ 12 and
 * integer digits + d ≤ 15 (what a double holds exactly), trailing zeros cut. A value it prints
 * differently from JavaScript's shortest form is one the EA cannot send as written here.
 */
function mqlNumber(n: number): string {
  const magnitude = Math.abs(n);
  const intDigits = magnitude >= 1 ? Math.floor(Math.log10(magnitude)) + 1 : 0;
  const digits = Math.max(0, Math.min(12, 15 - intDigits));
  const fixed = n.toFixed(digits);
  const trimmed = fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  return trimmed === '-0' ? '0' : trimmed;
}

function checkWriterFormat(body: unknown): void {
  const text = JSON.stringify(body);
  expect(text, 'no NUL byte in the body (StringToCharArray copies one: the EA cuts it)').not.toContain(
    '\u0000',
  );
  for (const [key, value] of entries(body)) {
    if (typeof value === 'number') {
      expect(Number.isFinite(value), `${key} is finite`).toBe(true);
      expect(mqlNumber(value), `${key}=${value}: the MQL writer prints plain decimals`).toBe(String(value));
    }
    if (typeof value === 'string' && /At$/.test(key))
      expect(value, `${key} is ISO-8601 UTC`).toMatch(ISO_UTC);
    if (key === 'magic') {
      expect(typeof value, 'magic is a decimal string (MT5 magic numbers are 64-bit)').toBe('string');
      expect(value as string).toMatch(/^-?\d{1,20}$/);
    }
    if (TICKET_KEYS.has(key)) {
      expect(typeof value, `${key} is a string (64-bit MetaTrader tickets exceed 2^53)`).toBe('string');
      expect(value as string, `${key} is a MetaTrader ticket`).toMatch(/^\d+$/);
    }
  }
}

function checkHeaders(v: Vector): void {
  const headers = v.headers ?? {};
  expect(
    AccountId.safeParse(headers['X-TradeAgent-Account']).success,
    'X-TradeAgent-Account is a valid account id',
  ).toBe(true);
  const isCreate = v.method === 'POST' && v.path === `${EA_BASE_PATH}/sessions`;
  if (v.method === 'GET')
    expect(headers['Idempotency-Key'], 'GET carries no Idempotency-Key').toBeUndefined();
  else
    expect(headers['Idempotency-Key'], 'mutating requests carry an Idempotency-Key').toMatch(IDEMPOTENCY_KEY);
  if (isCreate) expect(headers.Authorization, 'POST /sessions has no token yet').toBeUndefined();
  else
    expect(headers.Authorization, 'authenticated requests carry the session token').toMatch(/^Bearer \S+$/);
  expect(v.path?.startsWith(`${EA_BASE_PATH}/`), 'path under the EA base path').toBe(true);
}

describe('EA protocol vectors', () => {
  it('found the vector files', () => {
    expect(files).toEqual([
      'executions.json',
      'inbox.json',
      'outbox.json',
      'sessions.json',
      'signals-mt4.json',
      'signals-mt5.json',
    ]);
  });

  for (const v of all) {
    it(`${v.file}: ${v.direction} ${v.platform && !v.name.startsWith(v.platform) ? `${v.platform} ` : ''}${v.name}`, () => {
      if (v.direction === 'request') {
        checkHeaders(v);
        if (v.method === 'GET') {
          const query = Object.fromEntries(new URL(`http://gateway${v.path}`).searchParams);
          const parsed = parseOrFail(OutboxQuery, query, 'outbox query') as { wait: number };
          expect(parsed.wait, 'the EA does not long-poll from the terminal thread').toBe(0);
          expect(v.body).toBeNull();
          return;
        }
        if (v.schema === null) {
          expect(v.body, `${v.method} ${v.path} has no body`).toBeNull();
          expect(v.method, 'the EA sends only what WebRequest documents: GET and POST').toBe('POST');
          return;
        }
        const schema = schemas[v.schema];
        if (!schema) throw new Error(`unknown schema ${v.schema}`);
        const parsed = parseOrFail(schema, v.body, v.name);
        expect(droppedKeys(v.body, parsed), 'keys the gateway would silently drop').toEqual([]);
        checkWriterFormat(v.body);
        if (v.schema === 'SignalRequest' || v.schema === 'OrderSignalRequest')
          expect(v.headers?.['Idempotency-Key']).toBe(`sig:${v.body.signalId}`);
        if (v.schema === 'ExecutionRequest')
          expect(v.headers?.['Idempotency-Key']).toBe(`exec:${v.body.orderId}:${v.body.status}`);
        if (v.schema === 'CreateSessionRequest') expect(v.body.platform).toBe(v.platform);
        return;
      }

      // responses
      if (v.schema === 'ErrorBody') {
        const code = v.body.error as keyof typeof errorCatalogue;
        expect(Object.keys(errorCatalogue), 'a catalogued error code').toContain(code);
        expect(errorCatalogue[code].status, `${code} comes with the catalogued status`).toBe(v.status);
        expect(typeof v.body.message).toBe('string');
        if ('retryAfterSec' in v.body) expect(Number.isInteger(v.body.retryAfterSec)).toBe(true);
        return;
      }
      const schema = v.schema ? schemas[v.schema] : undefined;
      if (!schema) throw new Error(`unknown schema ${v.schema}`);
      parseOrFail(schema, v.body, v.name);
      if (v.schema !== 'OutboxResponse') return;
      for (const event of v.body.events as Array<{
        type: string;
        payload: Record<string, unknown>;
        eventId: string;
      }>) {
        expect(Object.keys(payloadSchemas)).toContain(event.type);
        const payloadSchema = payloadSchemas[event.type];
        if (payloadSchema) {
          const parsed = parseOrFail(payloadSchema, event.payload, `${event.type} payload`);
          if (event.type === 'order.command') {
            // ManualOrderRequest plus what the gateway adds when it queues the command.
            expect(typeof event.payload.commandId).toBe('string');
            expect(typeof event.payload.requestedBy).toBe('string');
            const { commandId: _c, requestedBy: _r, ...command } = event.payload;
            expect(droppedKeys(command, parsed)).toEqual([]);
          } else {
            expect(
              droppedKeys(event.payload, parsed),
              `${event.type} keys the contract does not define`,
            ).toEqual([]);
          }
        }
        if (event.type === 'order.cancel') expect(typeof event.payload.orderId).toBe('string');
        if (event.type === 'sync.request') expect(typeof event.payload.reason).toBe('string');
        if (event.type === 'error.alert') {
          expect(typeof event.payload.code).toBe('string');
          expect(typeof event.payload.message).toBe('string');
        }
        // The EA acknowledges by eventId with OutboxAck, whose eventId is at most 64 characters.
        expect(event.eventId.length).toBeLessThanOrEqual(64);
      }
    });
  }

  describe('coverage', () => {
    const requests = all.filter((v) => v.direction === 'request');
    const responses = all.filter((v) => v.direction === 'response');

    it('every signal type, from MT5 and from MT4', () => {
      for (const platform of ['MT5', 'MT4'] as const) {
        const types = new Set(
          requests
            .filter((v) => v.schema === 'SignalRequest' && v.platform === platform)
            .map((v) => v.body.type),
        );
        // MT4 has no netting accounts, so its masters never add to a position.
        const expected = SignalType.options.filter((t) => platform === 'MT5' || t !== 'position.increased');
        expect([...types].sort(), platform).toEqual([...expected].sort());
        const orderTypes = new Set(
          requests
            .filter((v) => v.schema === 'OrderSignalRequest' && v.platform === platform)
            .map((v) => v.body.type),
        );
        expect([...orderTypes].sort(), platform).toEqual([...OrderSignalType.options].sort());
      }
    });

    it('every inbox event type the EA sends, and OutboxAck', () => {
      const types = new Set(
        requests
          .filter((v) => v.schema === 'InboxRequest')
          .flatMap((v) => (v.body.events as Array<{ eventType: string }>).map((e) => e.eventType)),
      );
      expect([...types].sort()).toEqual([...telemetryTypes, 'OutboxAck'].sort());
    });

    it('every outbox event type', () => {
      const types = new Set(
        responses
          .filter((v) => v.schema === 'OutboxResponse')
          .flatMap((v) => (v.body.events as Array<{ type: string }>).map((e) => e.type)),
      );
      expect([...types].sort()).toEqual([...OutboxEventType.options].sort());
    });

    it('every manual order.command action', () => {
      const actions = new Set(
        responses
          .filter((v) => v.schema === 'OutboxResponse')
          .flatMap((v) =>
            (v.body.events as Array<{ type: string; payload: { action?: string } }>)
              .filter((e) => e.type === 'order.command')
              .map((e) => e.payload.action),
          ),
      );
      expect([...actions].sort()).toEqual(['close', 'close_all', 'modify', 'open']);
    });

    it('every execution status, from both platforms', () => {
      const seen = new Set(
        requests.filter((v) => v.schema === 'ExecutionRequest').map((v) => `${v.platform}:${v.body.status}`),
      );
      for (const s of [
        'MT5:filled',
        'MT5:placed',
        'MT5:rejected',
        'MT4:filled',
        'MT4:placed',
        'MT4:rejected',
        'MT4:failed',
      ])
        expect(seen).toContain(s);
    });

    it('session creation and telemetry from both platforms and roles', () => {
      const creates = requests
        .filter((v) => v.schema === 'CreateSessionRequest')
        .map((v) => `${v.body.platform}:${v.body.role}`);
      expect(creates.sort()).toEqual(['MT4:master', 'MT5:follower']);
      const inboxPlatforms = new Set(
        requests.filter((v) => v.schema === 'InboxRequest').map((v) => v.platform),
      );
      expect([...inboxPlatforms].sort()).toEqual(['MT4', 'MT5']);
    });

    it('the error answers the EA has a log line for', () => {
      const codes = new Set(
        responses
          .filter((v) => v.schema === 'ErrorBody' || v.schema === 'SessionConflictBody')
          .map((v) => v.body.error),
      );
      for (const code of [
        'session_conflict',
        'key_rejected',
        'account_disabled',
        'rate_limited',
        'invalid_request',
        'session_expired',
        'session_terminated',
        'session_pending',
        'execution_conflict',
        'order_not_found',
      ]) {
        expect(codes).toContain(code);
      }
    });
  });
});
