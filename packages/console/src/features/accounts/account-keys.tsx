// The date helper alone: the package's root would bring zod, whose eval probe the CSP refuses.
import { isoTime } from '@kopitra/contracts/time';
import { useState } from 'react';
import type { AccountKey, IssuedKey } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { CopyButton } from '../../shared/ui/copy-button';
import { Field } from '../../shared/ui/field';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useIssueKey, useRevokeKey } from './api';

/** The freshly issued key: shown this once, never stored by the console. */
function IssuedKeyPanel({ issued, onDismiss }: { issued: IssuedKey; onDismiss(): void }) {
  return (
    <div className="notice notice-warn issued-key" role="alert" data-testid="issued-key-panel">
      <strong>Copy this key now — it will not be shown again.</strong>
      <p>
        Kopitra keeps only a hash. Enter it in the EA's settings for this account; if it is lost, revoke it
        and issue a new one.
      </p>
      <div className="key-row">
        <input
          readOnly
          value={issued.key}
          aria-label="New key"
          data-testid="issued-key"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={issued.key} label="Copy key" />
      </div>
      <p className="small muted">
        Fingerprint <code>{issued.fingerprint}</code>
        {issued.expiresAt ? (
          <>
            , expires <Time iso={issued.expiresAt} />
          </>
        ) : (
          ', no expiry'
        )}
        .
      </p>
      <button type="button" onClick={onDismiss}>
        I have stored the key
      </button>
    </div>
  );
}

export function AccountKeys({ accountId, keys }: { accountId: string; keys: AccountKey[] }) {
  const canWrite = useCan('operator');
  const issue = useIssueKey(accountId);
  const revoke = useRevokeKey(accountId);
  const [issued, setIssued] = useState<IssuedKey | null>(null);
  const [expiry, setExpiry] = useState('');
  return (
    <div className="card">
      <div className="card-header">
        <h2>Keys</h2>
        {canWrite && (
          <ConfirmAction
            label="Issue key"
            className="primary"
            testId="issue-key"
            title={`Issue a pre-shared key for ${accountId}?`}
            confirmLabel="Issue key"
            onConfirm={async () =>
              setIssued(await issue.mutateAsync(expiry ? isoTime(Date.parse(expiry)) : null))
            }
          >
            <p>The key is approved at once and shown to you a single time.</p>
            <Field label="Expires (optional, your local time)">
              <input type="datetime-local" value={expiry} onChange={(e) => setExpiry(e.target.value)} />
            </Field>
          </ConfirmAction>
        )}
      </div>
      {issued && <IssuedKeyPanel issued={issued} onDismiss={() => setIssued(null)} />}
      {keys.length === 0 ? (
        <p className="muted">No keys. Issue one, or approve the key a terminal presents in Sessions.</p>
      ) : (
        <table className="table" data-testid="keys-table">
          <thead>
            <tr>
              <th>fingerprint</th>
              <th>status</th>
              <th>origin</th>
              <th>expires</th>
              <th>decided</th>
              <th>created</th>
              {canWrite && <th />}
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.fingerprint} data-testid="key-row" data-fingerprint={k.fingerprint}>
                <td>
                  <code>{k.fingerprint}</code>
                </td>
                <td>
                  <StatusBadge status={k.status} />
                  {k.decisionReason && <div className="muted small">{k.decisionReason}</div>}
                </td>
                <td>{k.origin}</td>
                <td>
                  <Time iso={k.expiresAt} />
                </td>
                <td className="small">
                  {k.decidedBy ?? '—'} <Time iso={k.decidedAt} relative />
                </td>
                <td>
                  <Time iso={k.createdAt} relative />
                </td>
                {canWrite && (
                  <td>
                    {k.status !== 'rejected' && (
                      <ConfirmAction
                        label="Revoke"
                        tone="danger"
                        title={`Revoke key ${k.fingerprint}?`}
                        confirmLabel="Revoke key"
                        onConfirm={() => revoke.mutateAsync(k.fingerprint)}
                      >
                        <p>
                          Sessions using this key end now, and the key is refused from then on. This cannot be
                          undone.
                        </p>
                      </ConfirmAction>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
