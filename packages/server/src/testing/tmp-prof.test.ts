import { it } from 'vitest';
import fc from 'fast-check';
import {
  SubscriptionSettings,
  SignalRequest,
  InboxRequest,
  AccountRequest,
  CreateSessionRequest,
  WebhookRequest,
} from '@kopitra/contracts';
import { mutatedOf, seedOf, jsonText } from './bad-input.js';
it('prof', () => {
  for (const [n, s] of Object.entries({
    SubscriptionSettings,
    SignalRequest,
    InboxRequest,
    AccountRequest,
    CreateSessionRequest,
    WebhookRequest,
  })) {
    let t = Date.now();
    fc.sample(seedOf(s as any, { now: Date.now() }), 200);
    const seedMs = Date.now() - t;
    t = Date.now();
    const m = fc.sample(mutatedOf(s as any, { now: Date.now() }).map(jsonText), 200);
    const mutMs = Date.now() - t;
    t = Date.now();
    let valid = 0;
    for (const x of m) {
      try {
        if (x && (s as any).safeParse(JSON.parse(x)).success) valid++;
      } catch {}
    }
    console.log(
      n,
      'seed',
      seedMs,
      'mut',
      mutMs,
      'parse',
      Date.now() - t,
      'valid',
      valid,
      'avg len',
      Math.round(m.reduce((a, x) => a + (x?.length ?? 0), 0) / 200),
    );
  }
});
