import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import type { Group } from '@kopitra/contracts';
import { useAccountIds } from '../../shared/api/use-account-ids';
import { useCan } from '../../shared/auth/auth-context';
import { formatMs, formatNumber, formatPercent } from '../../shared/lib/format';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import { useDeleteGroup, useGroup, useGroupAnalytics, usePatchGroup, useRemoveFollower } from './api';
import { summarize } from './settings-codec';
import { SubscriptionForm } from './subscription-form';
import { SymbolResolutionPanel } from './symbol-resolution-panel';

function GroupActions({ group }: { group: Group }) {
  const patch = usePatchGroup(group.groupId);
  const remove = useDeleteGroup(group.groupId);
  const navigate = useNavigate();
  return (
    <>
      {group.status === 'active' ? (
        <ConfirmAction
          label="Pause group"
          title={`Pause ${group.name}?`}
          confirmLabel="Pause"
          testId="pause-group"
          onConfirm={() => patch.mutateAsync({ status: 'paused' })}
        >
          <p>
            New signals of {group.masterAccountId} are no longer copied to this group's followers until it is
            resumed. Open copied positions stay open.
          </p>
        </ConfirmAction>
      ) : (
        <ConfirmAction
          label="Resume group"
          className="primary"
          title={`Resume ${group.name}?`}
          confirmLabel="Resume"
          testId="resume-group"
          onConfirm={() => patch.mutateAsync({ status: 'active' })}
        >
          <p>New signals are copied again. Signals sent while paused are not replayed.</p>
        </ConfirmAction>
      )}
      <ConfirmAction
        label="Delete group"
        tone="danger"
        title={`Delete ${group.name}?`}
        confirmLabel="Delete group"
        onConfirm={async () => {
          await remove.mutateAsync();
          navigate('/groups');
        }}
      >
        <p>
          All {group.followers?.length ?? 0} subscriptions are removed. Copied positions stay open on the
          followers and are no longer managed.
        </p>
      </ConfirmAction>
    </>
  );
}

function Followers({ group }: { group: Group }) {
  const canWrite = useCan('operator');
  const remove = useRemoveFollower(group.groupId);
  const accountIds = useAccountIds();
  const [editing, setEditing] = useState<string | null>(null);
  const [symbolsOf, setSymbolsOf] = useState<string | null>(null);
  const followers = group.followers ?? [];
  const taken = new Set([group.masterAccountId, ...followers.map((f) => f.accountId)]);
  const current = followers.find((f) => f.accountId === editing);
  return (
    <div className="card">
      <div className="card-header">
        <h2>Followers</h2>
        {canWrite && editing === null && (
          <button type="button" className="primary" onClick={() => setEditing('')}>
            Add follower
          </button>
        )}
      </div>
      {editing === '' && (
        <SubscriptionForm
          groupId={group.groupId}
          candidates={(accountIds.data ?? []).filter((a) => !taken.has(a))}
          onDone={() => setEditing(null)}
        />
      )}
      {current && (
        <SubscriptionForm
          key={current.accountId}
          groupId={group.groupId}
          accountId={current.accountId}
          settings={current.settings}
          onDone={() => setEditing(null)}
        />
      )}
      {followers.length === 0 ? (
        <p className="muted">No followers yet.</p>
      ) : (
        <table className="table" data-testid="followers-table">
          <thead>
            <tr>
              <th>follower</th>
              <th>mode</th>
              <th>settings</th>
              <th>updated</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {followers.map((f) => (
              <tr key={f.accountId} data-testid="follower-row" data-account-id={f.accountId}>
                <td>
                  <Link to={`/accounts/${encodeURIComponent(f.accountId)}`}>{f.accountId}</Link>
                </td>
                <td>
                  <StatusBadge status={f.settings.mode ?? 'active'} />
                </td>
                <td className="small" data-testid="follower-summary">
                  {summarize(f.settings)}
                </td>
                <td>
                  <Time iso={f.updatedAt} relative />
                </td>
                <td className="actions">
                  <button
                    type="button"
                    aria-pressed={symbolsOf === f.accountId}
                    onClick={() => setSymbolsOf(symbolsOf === f.accountId ? null : f.accountId)}
                  >
                    Symbols
                  </button>
                  {canWrite && (
                    <button type="button" onClick={() => setEditing(f.accountId)} disabled={editing !== null}>
                      Edit
                    </button>
                  )}
                  {canWrite && (
                    <ConfirmAction
                      label="Remove"
                      tone="danger"
                      title={`Remove follower ${f.accountId}?`}
                      confirmLabel="Remove follower"
                      onConfirm={() => remove.mutateAsync(f.accountId)}
                    >
                      <p>
                        {f.accountId} stops copying {group.masterAccountId}. Its copied positions stay open
                        and are no longer managed; close them first with the task "Close a follower's copied
                        positions" if needed.
                      </p>
                    </ConfirmAction>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {symbolsOf && followers.some((f) => f.accountId === symbolsOf) && (
        <SymbolResolutionPanel key={symbolsOf} groupId={group.groupId} accountId={symbolsOf} />
      )}
    </div>
  );
}

export function GroupPage() {
  const { groupId = '' } = useParams();
  const query = useGroup(groupId);
  const analytics = useGroupAnalytics(groupId).data;
  const canWrite = useCan('operator');
  const g = query.data;
  return (
    <section>
      <p className="crumbs">
        <Link to="/groups">Copy groups</Link> /
      </p>
      <PageHeader title={g?.name ?? groupId}>
        {g && <StatusBadge status={g.status} testId="group-status" />}
        {g && canWrite && <GroupActions group={g} />}
      </PageHeader>
      <QueryState isPending={query.isPending} error={query.error}>
        {g && (
          <>
            <div className="card">
              <dl className="facts facts-inline">
                <dt>Master</dt>
                <dd>
                  <Link to={`/accounts/${encodeURIComponent(g.masterAccountId)}`}>{g.masterAccountId}</Link>
                </dd>
                <dt>Group id</dt>
                <dd>
                  <code>{g.groupId}</code>
                </dd>
                <dt>Created</dt>
                <dd>
                  <Time iso={g.createdAt} />
                </dd>
                {analytics && (
                  <>
                    <dt>Copied trades, 24 h</dt>
                    <dd>
                      {analytics.copiedTrades} <span className="muted">of {analytics.copyOrders} orders</span>
                    </dd>
                    <dt>Success rate</dt>
                    <dd>{formatPercent(analytics.successRate)}</dd>
                    <dt>Latency p50 / p90</dt>
                    <dd>
                      {formatMs(analytics.latencyMs['signalToExecuted']?.p50)} /{' '}
                      {formatMs(analytics.latencyMs['signalToExecuted']?.p90)}
                    </dd>
                    <dt>PnL</dt>
                    <dd>{formatNumber(analytics.profit)}</dd>
                  </>
                )}
              </dl>
              <p>
                <Link to={`/orders?groupId=${encodeURIComponent(g.groupId)}`}>Orders of this group</Link> ·{' '}
                <Link to={`/positions?groupId=${encodeURIComponent(g.groupId)}`}>Positions</Link> ·{' '}
                <Link to={`/analytics?groupId=${encodeURIComponent(g.groupId)}`}>Analytics</Link>
              </p>
            </div>
            <Followers group={g} />
          </>
        )}
      </QueryState>
    </section>
  );
}
