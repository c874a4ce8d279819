/** One readiness answer for every plane: each dependency checked with a time limit. */
import type { HealthResponse } from '@kopitra/contracts';

export interface HealthCheck {
  name: string;
  /** Named in the answer, e.g. which bus adapter is in use. */
  adapter?: string;
  check(): Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

/** Runs every check; a 503 answer carries the `not_ready` error code beside the details. */
export async function readiness(
  checks: readonly HealthCheck[],
  version: string,
  startedAt: number,
): Promise<{
  statusCode: 200 | 503;
  body: HealthResponse | (HealthResponse & { error: string; message: string });
}> {
  const results: HealthResponse['checks'] = {};
  await Promise.all(
    checks.map(async (c) => {
      const started = performance.now();
      try {
        await Promise.race([
          c.check(),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('timed out after 2 s')), CHECK_TIMEOUT_MS).unref(),
          ),
        ]);
        results[c.name] = {
          ok: true,
          latencyMs: Math.round((performance.now() - started) * 100) / 100,
          ...(c.adapter ? { adapter: c.adapter } : {}),
        };
      } catch (err) {
        results[c.name] = {
          ok: false,
          error: err instanceof Error ? err.message : String(err),
          ...(c.adapter ? { adapter: c.adapter } : {}),
        };
      }
    }),
  );
  const ok = Object.values(results).every((c) => c.ok);
  const body: HealthResponse = {
    status: ok ? 'ok' : 'unavailable',
    version,
    uptimeSec: Math.round((Date.now() - startedAt) / 1000),
    checks: results,
  };
  if (ok) return { statusCode: 200, body };
  return { statusCode: 503, body: { error: 'not_ready', message: 'A dependency is not ready.', ...body } };
}
