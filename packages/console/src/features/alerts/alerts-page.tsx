import { Link } from 'react-router';
import type { Alert } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { useUrlFilters } from '../../shared/ui/filters';
import { JsonView } from '../../shared/ui/json-view';
import { ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useAckAlert, useAlerts, useResetStopOut, useStopOuts } from './api';

function AckButton({ alert }: { alert: Alert }) {
  const ack = useAckAlert();
  return (
    <>
      <button
        type="button"
        onClick={() => ack.mutate(alert.alertId)}
        disabled={ack.isPending}
        data-testid="ack-alert"
      >
        {ack.isPending ? 'Acknowledging…' : 'Acknowledge'}
      </button>
      <ErrorNotice error={ack.error} />
    </>
  );
}

function Alerts() {
  const [{ open }, set] = useUrlFilters(['open'] as const);
  const list = useAlerts(open);
  const canWrite = useCan('operator');
  return (
    <div className="card">
      <div className="card-header">
        <h2>Alerts</h2>
        <div className="segmented" role="group" aria-label="Which alerts">
          {[
            ['', 'all'],
            ['true', 'open'],
            ['false', 'acknowledged'],
          ].map(([v, label]) => (
            <button
              key={v}
              type="button"
              aria-pressed={open === v}
              className={open === v ? 'active' : undefined}
              onClick={() => set('open', v!)}
            >
              {label}
            </button>
          ))}
        </div>
      </div>
      <ListTable
        list={list}
        testId="alerts-table"
        emptyText="No alerts."
        columns={['raised', 'severity', 'code', 'message', 'account / group', 'acknowledged']}
        row={(a) => (
          <tr key={a.alertId} data-testid="alert-row" data-alert-id={a.alertId}>
            <td>
              <Time iso={a.createdAt} />
            </td>
            <td>
              <StatusBadge status={a.severity} />
            </td>
            <td>
              <code>{a.code}</code>
            </td>
            <td>
              {a.message}
              {a.details != null && (
                <details>
                  <summary className="small">details</summary>
                  <JsonView value={a.details} />
                </details>
              )}
            </td>
            <td>
              {a.accountId && <Link to={`/accounts/${encodeURIComponent(a.accountId)}`}>{a.accountId}</Link>}
              {a.groupId && (
                <div>
                  <Link className="small" to={`/groups/${encodeURIComponent(a.groupId)}`}>
                    {a.groupId}
                  </Link>
                </div>
              )}
            </td>
            <td>
              {a.ackedAt ? (
                <span className="small">
                  {a.ackedBy} <Time iso={a.ackedAt} relative />
                </span>
              ) : canWrite ? (
                <AckButton alert={a} />
              ) : (
                <StatusBadge status="pending" />
              )}
            </td>
          </tr>
        )}
      />
    </div>
  );
}

function StopOuts() {
  const query = useStopOuts();
  const reset = useResetStopOut();
  const canWrite = useCan('operator');
  const list = { ...query, items: query.data?.items ?? [] };
  return (
    <div className="card">
      <h2>Risk-limit stop-outs</h2>
      <p className="hint">
        While a stop-out is active the subscription opens nothing new (exits are still copied). Reset it once
        the cause is understood.
      </p>
      <ListTable
        list={list}
        testId="stopouts-table"
        emptyText="No stop-outs."
        columns={['at', 'follower', 'group', 'limit', 'action', 'details', 'state']}
        row={(s) => (
          <tr key={s.stopOutId} data-testid="stopout-row">
            <td>
              <Time iso={s.at} />
            </td>
            <td>
              <Link to={`/accounts/${encodeURIComponent(s.followerAccountId)}`}>{s.followerAccountId}</Link>
            </td>
            <td>
              <Link to={`/groups/${encodeURIComponent(s.groupId)}`}>{s.groupId}</Link>
            </td>
            <td>
              {s.period} {s.metric.replace(/_/g, ' ')}
            </td>
            <td>{s.action.replace(/_/g, ' ')}</td>
            <td>
              <JsonView value={s.details} />
            </td>
            <td>
              {s.active ? (
                canWrite ? (
                  <ConfirmAction
                    label="Reset"
                    title={`Reset the stop-out of ${s.followerAccountId}?`}
                    confirmLabel="Reset stop-out"
                    tone="danger"
                    onConfirm={() => reset.mutateAsync(s.stopOutId)}
                  >
                    <p>
                      The subscription may open positions again at the master's next signal. The drawdown that
                      caused it is not undone.
                    </p>
                  </ConfirmAction>
                ) : (
                  <StatusBadge status="stopped_out" />
                )
              ) : (
                <span className="small">
                  reset by {s.resetBy} <Time iso={s.resetAt} relative />
                </span>
              )}
            </td>
          </tr>
        )}
      />
    </div>
  );
}

export function AlertsPage() {
  return (
    <section>
      <PageHeader title="Alerts and stop-outs" />
      <Alerts />
      <StopOuts />
    </section>
  );
}
