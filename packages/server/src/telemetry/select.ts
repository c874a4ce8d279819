/** Opens tracing as configured: off costs nothing (the SDK is imported only when traces are on). */
import type { TracesSetting } from '../config.js';
import { VERSION } from '../version.js';
import { tracingOff, type Tracing } from './tracing.js';

export async function openTracing(setting: TracesSetting, serviceName: string): Promise<Tracing> {
  if (setting.kind === 'off') return tracingOff;
  const { startTracing } = await import('./sdk.js');
  return startTracing({ serviceName, serviceVersion: VERSION });
}
