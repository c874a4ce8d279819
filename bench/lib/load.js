/** Closed-loop HTTP load with autocannon's programmatic API, reduced to the figures we report. */
import autocannon from 'autocannon';
import { round } from './stats.js';

export async function load({ url, headers = {}, connections, durationSec, workers }) {
  const result = await autocannon({
    url,
    headers,
    connections,
    duration: durationSec,
    // In a worker thread the load generator gets its own event loop (and, here, its own core),
    // instead of sharing one with the servers it is measuring.
    ...(workers ? { workers } : {}),
  });
  const failures = result.errors + result.timeouts + result.non2xx;
  return {
    rps: round(result.requests.average, 1),
    p50: round(result.latency.p50),
    p99: round(result.latency.p99),
    requests: result.requests.total,
    failures,
  };
}
