import { useState } from 'react';
import type { SignalSecretIssued, SignalSource } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { CopyButton } from '../../shared/ui/copy-button';
import { Time } from '../../shared/ui/time';
import { useRevokeSignalSecret, useRotateSignalSecret } from './api';

/** The new signal secret: shown this once, never stored by the console. */
function IssuedSecretPanel({ issued, onDismiss }: { issued: SignalSecretIssued; onDismiss(): void }) {
  const url = `${window.location.origin}${issued.signalPath}`;
  return (
    <div className="notice notice-warn issued-key" role="alert" data-testid="signal-secret-panel">
      <strong>Copy this secret now — it will not be shown again.</strong>
      <p>
        Send signals to <code>{url}</code> with the secret as <code>Authorization: Bearer</code>, in the
        body's <code>secret</code> (TradingView alerts) or as an <code>X-Kopitra-Signature</code> HMAC.
      </p>
      <div className="key-row">
        <input
          readOnly
          value={issued.secret}
          aria-label="Signal secret"
          data-testid="signal-secret"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={issued.secret} label="Copy secret" />
      </div>
      <button type="button" onClick={onDismiss}>
        I have stored the secret
      </button>
    </div>
  );
}

/** External signals: whether this account is a virtual master, and its secret (admins). */
export function SignalSourceCard({ accountId, source }: { accountId: string; source: SignalSource | null }) {
  const isAdmin = useCan('admin');
  const rotate = useRotateSignalSecret(accountId);
  const revoke = useRevokeSignalSecret(accountId);
  const [issued, setIssued] = useState<SignalSecretIssued | null>(null);
  return (
    <div className="card" data-testid="signal-source-card">
      <div className="card-header">
        <h2>External signals</h2>
        {isAdmin && (
          <ConfirmAction
            label={source ? 'Rotate secret' : 'Take external signals'}
            className="primary"
            testId="rotate-signal-secret"
            title={
              source ? `Rotate the signal secret of ${accountId}?` : `Make ${accountId} a virtual master?`
            }
            confirmLabel={source ? 'Rotate secret' : 'Create secret'}
            onConfirm={async () => setIssued(await rotate.mutateAsync())}
          >
            <p>
              {source
                ? 'The current secret stops working at once; senders must use the new one.'
                : 'Its trades then arrive on POST /api/signals/' +
                  accountId +
                  ' (TradingView alerts, scripts).'}
            </p>
          </ConfirmAction>
        )}
      </div>
      {issued && <IssuedSecretPanel issued={issued} onDismiss={() => setIssued(null)} />}
      {source ? (
        <p data-testid="signal-source-status">
          Virtual master: takes external signals. Secret set by {source.rotatedBy}{' '}
          <Time iso={source.rotatedAt} relative />.{' '}
          {isAdmin && (
            <ConfirmAction
              label="Stop external signals"
              tone="danger"
              title={`Stop taking external signals for ${accountId}?`}
              confirmLabel="Stop"
              onConfirm={() => revoke.mutateAsync()}
            >
              <p>The secret is deleted; signals sent with it are refused from now on.</p>
            </ConfirmAction>
          )}
        </p>
      ) : (
        <p className="muted" data-testid="signal-source-status">
          Trades come from its terminal only.
        </p>
      )}
    </div>
  );
}
