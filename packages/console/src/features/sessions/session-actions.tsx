// The date helper alone: the package's root would bring zod, whose eval probe the CSP refuses.
import { isoTime } from '@kopitra/contracts/time';
import { useState } from 'react';
import type { Session } from '@kopitra/contracts';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { Field } from '../../shared/ui/field';
import { useSessionDecision } from './api';

const LIVE = new Set(['pending', 'authenticated']);

/** datetime-local gives local wall time without a zone; the API wants an ISO instant. */
const toIso = (local: string): string | null => (local ? isoTime(Date.parse(local)) : null);

export function SessionActions({ session }: { session: Session }) {
  const decide = useSessionDecision(session.sessionId);
  const [expiry, setExpiry] = useState('');
  const who = `${session.accountId} (${session.role}, ${session.platform})`;
  if (!LIVE.has(session.status)) return null;
  return (
    <div className="actions">
      {session.status === 'pending' && (
        <>
          <ConfirmAction
            label="Approve"
            className="primary"
            testId="approve-session"
            title={`Approve terminal ${session.accountId}?`}
            confirmLabel="Approve key"
            onConfirm={() => decide.mutateAsync({ action: 'approve', expiresAt: toIso(expiry) })}
          >
            <p>
              The key <code>{session.keyFingerprint}</code> of {who} becomes approved: this terminal and any
              later session with the same key are let in.
            </p>
            <Field label="Key expires (optional, your local time)">
              <input type="datetime-local" value={expiry} onChange={(e) => setExpiry(e.target.value)} />
            </Field>
          </ConfirmAction>
          <ConfirmAction
            label="Reject"
            tone="danger"
            testId="reject-session"
            title={`Reject terminal ${session.accountId}?`}
            confirmLabel="Reject key"
            reason={{ label: 'Reason (shown in the audit log)', required: true }}
            onConfirm={(reason) => decide.mutateAsync({ action: 'reject', reason })}
          >
            <p>
              The key <code>{session.keyFingerprint}</code> is rejected: this session ends and the key is
              refused from now on.
            </p>
          </ConfirmAction>
        </>
      )}
      <ConfirmAction
        label="Terminate"
        tone="danger"
        testId="terminate-session"
        title={`Terminate the session of ${session.accountId}?`}
        confirmLabel="Terminate session"
        reason={{ label: 'Reason (sent to the EA and kept in the audit log)', required: true }}
        onConfirm={(reason) => decide.mutateAsync({ action: 'terminate', reason })}
      >
        <p>
          The EA receives <code>session.shutdown</code>. It may connect again with a new session; disable the
          account to keep it out.
        </p>
      </ConfirmAction>
    </div>
  );
}
