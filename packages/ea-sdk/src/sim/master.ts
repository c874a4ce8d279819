/**
 * A simulated master terminal: trades on a seeded random schedule (`MasterScript`) and
 * reports each deal through `POST /signals`, keyed by its deal ticket so a resend after a
 * lost answer is never copied twice. Signals go out strictly in order; one that cannot be
 * delivered is retried (same key) before the next is sent.
 */
import type { OrderSignalRequest, OutboxEvent, SignalRequest, SignalResponse } from '@kopitra/contracts';
import { isFatal } from '../outbox.js';
import { backoffDelay } from '../transport.js';
import { MasterScript, type MasterScriptOptions } from './master-script.js';
import type { Prng } from './prng.js';
import { SimTerminal, describe, type TerminalOptions } from './terminal.js';

export interface MasterOptions extends TerminalOptions, MasterScriptOptions {
  /** Signals to send before `run()` resolves (default: until stopped). */
  trades?: number;
  /** Mean pause between trades in ms (each pause is 0.5–1.5 × this; default 2000). */
  intervalMs?: number;
  /** Called after each signal was accepted. */
  onSignal?: (request: SignalRequest | OrderSignalRequest, response: SignalResponse) => void;
}

/** A master terminal. */
export class SimMaster extends SimTerminal {
  readonly script: MasterScript;
  /** Every signal sent, with the gateway's answer. */
  readonly sent: Array<{ request: SignalRequest | OrderSignalRequest; response: SignalResponse }> = [];
  private readonly schedule: Prng;

  /** Creates the terminal; `start()` connects it and `run()` trades. */
  constructor(readonly masterOptions: MasterOptions) {
    super('master', { balance: 100_000, ...masterOptions });
    this.schedule = this.prng.fork('schedule');
    this.script = new MasterScript(this.prng.fork('trades'), this.account, this.feed, masterOptions);
  }

  /** Connects, sends the catalogue and heartbeats, and reads its own outbox (init ack, shutdown). */
  async start(): Promise<this> {
    await this.boot();
    this.consume(async (event: OutboxEvent) => {
      if (event.type === 'session.shutdown')
        this.log(`session shut down: ${String(event.payload['reason'])}`);
    });
    return this;
  }

  /** Trades until `trades` signals were accepted or the terminal stops; resolves with the count sent. */
  async run(opts: { trades?: number; intervalMs?: number } = {}): Promise<number> {
    const trades = opts.trades ?? this.masterOptions.trades ?? Number.POSITIVE_INFINITY;
    const interval = opts.intervalMs ?? this.masterOptions.intervalMs ?? 2000;
    let count = 0;
    while (count < trades && !this.signal.aborted) {
      await this.clock.sleep(Math.round(interval * this.schedule.uniform(0.5, 1.5)), this.signal);
      if (this.signal.aborted) break;
      const step = this.script.next(this.clock.now());
      const response = await this.deliver(step.request);
      if (!response) break;
      this.sent.push({ request: step.request, response });
      count++;
      this.log(
        `${step.line} → ${response.copies.length} copies, ${response.skipped.length} skipped${summariseSkips(response)}`,
      );
      this.masterOptions.onSignal?.(step.request, response);
    }
    return count;
  }

  /** Sends one signal until it is accepted; null when the terminal stopped first. */
  private async deliver(request: SignalRequest | OrderSignalRequest): Promise<SignalResponse | null> {
    for (let attempt = 1; !this.signal.aborted; attempt++) {
      try {
        return await this.client.signal(request, { signal: this.signal });
      } catch (err) {
        if (this.signal.aborted) return null;
        if (isFatal(err)) throw err;
        this.log(
          `signal ${request.dealTicket ?? request.signalId} not delivered (attempt ${attempt}), retrying: ${describe(err)}`,
        );
        await this.clock.sleep(
          backoffDelay(this.client.transport.options.retry, attempt, this.client.random),
          this.signal,
        );
      }
    }
    return null;
  }
}

function summariseSkips(r: SignalResponse): string {
  if (r.skipped.length === 0) return '';
  const reasons = new Map<string, number>();
  for (const s of r.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
  return ` (${[...reasons].map(([k, n]) => `${k}×${n}`).join(', ')})`;
}
