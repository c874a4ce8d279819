import { useState } from 'react';
import type { Webhook } from '@kopitra/contracts';
import { useCan } from '../../shared/auth/auth-context';
import { ConfirmAction } from '../../shared/ui/confirm-dialog';
import { CopyButton } from '../../shared/ui/copy-button';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field, issuesByPath } from '../../shared/ui/field';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { StatusBadge } from '../../shared/ui/status-badge';
import { Time } from '../../shared/ui/time';
import {
  EVENT_TYPES,
  useCreateWebhook,
  useDeleteWebhook,
  useDeliveries,
  useSetWebhookStatus,
  useWebhooks,
  type WebhookEventType,
} from './api';

/** The signing secret: shown this once; Kopitra keeps it sealed and never answers it again. */
function SecretPanel({ secret, onDismiss }: { secret: string; onDismiss(): void }) {
  return (
    <div className="notice notice-warn issued-key" role="alert" data-testid="webhook-secret-panel">
      <strong>Copy the signing secret now — it will not be shown again.</strong>
      <p>
        The receiver checks <code>X-Kopitra-Signature</code> with it. If it is lost, delete the webhook and
        register it again.
      </p>
      <div className="key-row">
        <input
          readOnly
          value={secret}
          aria-label="Signing secret"
          data-testid="webhook-secret"
          onFocus={(e) => e.currentTarget.select()}
        />
        <CopyButton text={secret} label="Copy secret" />
      </div>
      <button type="button" onClick={onDismiss}>
        I have stored the secret
      </button>
    </div>
  );
}

function CreateForm({ onCreated }: { onCreated(secret: string): void }) {
  const create = useCreateWebhook();
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [types, setTypes] = useState<WebhookEventType[]>(['alert.raised']);
  const issues = issuesByPath(create.error);
  return (
    <form
      className="card form-grid"
      data-testid="webhook-form"
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(
          { url, eventTypes: types, ...(description.trim() ? { description: description.trim() } : {}) },
          {
            onSuccess: (w) => {
              onCreated(w.secret);
              setUrl('');
              setDescription('');
            },
          },
        );
      }}
    >
      <h2>Register a webhook</h2>
      <Field label="URL" hint="http or https; the receiver answers 2xx" issue={issues['url']}>
        <input
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="https://example.com/kopitra"
        />
      </Field>
      <Field label="Description" hint="optional" issue={issues['description']}>
        <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={200} />
      </Field>
      <fieldset className="field">
        <legend>Events</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t} className="check">
            <input
              type="checkbox"
              checked={types.includes(t)}
              onChange={(e) => setTypes(e.target.checked ? [...types, t] : types.filter((x) => x !== t))}
            />{' '}
            {t}
          </label>
        ))}
        {issues['eventTypes'] && (
          <small className="field-issue" role="alert">
            {issues['eventTypes']}
          </small>
        )}
      </fieldset>
      <ErrorNotice error={create.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={create.isPending}>
          {create.isPending ? 'Registering…' : 'Register'}
        </button>
      </div>
    </form>
  );
}

function DeliveryLog({ webhookId }: { webhookId: string }) {
  const log = useDeliveries(webhookId);
  return (
    <QueryState
      isPending={log.isPending}
      error={log.error}
      empty={log.data?.length === 0}
      emptyText="No deliveries yet."
    >
      <table className="table" data-testid="delivery-log">
        <thead>
          <tr>
            <th>created</th>
            <th>event</th>
            <th>status</th>
            <th className="num">attempts</th>
            <th className="num">response</th>
            <th>next retry</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {log.data?.map((d) => (
            <tr key={d.deliveryId} data-testid="delivery-row" data-status={d.status}>
              <td className="small">
                <Time iso={d.createdAt} />
              </td>
              <td>{d.eventType}</td>
              <td>
                <StatusBadge status={d.status} />
              </td>
              <td className="num">{d.attempts}</td>
              <td className="num">{d.lastStatus ?? '—'}</td>
              <td className="small">{d.nextAttemptAt ? <Time iso={d.nextAttemptAt} relative /> : '—'}</td>
              <td className="small">{d.lastError ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </QueryState>
  );
}

function WebhookCard({ webhook, isAdmin }: { webhook: Webhook; isAdmin: boolean }) {
  const setStatus = useSetWebhookStatus(webhook.webhookId);
  const remove = useDeleteWebhook(webhook.webhookId);
  const [showLog, setShowLog] = useState(false);
  return (
    <div className="card" data-testid="webhook-card" data-webhook-id={webhook.webhookId}>
      <div className="card-header">
        <h2 className="break">{webhook.url}</h2>
        <StatusBadge status={webhook.status} testId="webhook-status" />
      </div>
      <p className="muted small">
        {webhook.eventTypes.join(', ')}
        {webhook.description ? ` · ${webhook.description}` : ''} · by {webhook.createdBy},{' '}
        <Time iso={webhook.createdAt} />
      </p>
      {isAdmin && (
        <div className="actions">
          {webhook.status === 'active' ? (
            <ConfirmAction
              label="Disable"
              title={`Disable the webhook to ${webhook.url}?`}
              confirmLabel="Disable"
              onConfirm={() => setStatus.mutateAsync('disabled')}
            >
              <p>It receives nothing until enabled again; deliveries still pending are dropped.</p>
            </ConfirmAction>
          ) : (
            <ConfirmAction
              label="Enable"
              title={`Enable the webhook to ${webhook.url}?`}
              confirmLabel="Enable"
              onConfirm={() => setStatus.mutateAsync('active')}
            >
              <p>New events are delivered to it again; events in between are not.</p>
            </ConfirmAction>
          )}{' '}
          <ConfirmAction
            label="Delete"
            tone="danger"
            title={`Delete the webhook to ${webhook.url}?`}
            confirmLabel="Delete"
            onConfirm={() => remove.mutateAsync()}
          >
            <p>Pending deliveries are dropped; the delivery log stays. Its secret is gone for good.</p>
          </ConfirmAction>{' '}
          <button type="button" onClick={() => setShowLog(!showLog)} aria-expanded={showLog}>
            {showLog ? 'Hide deliveries' : 'Deliveries'}
          </button>
        </div>
      )}
      {isAdmin && showLog && <DeliveryLog webhookId={webhook.webhookId} />}
    </div>
  );
}

/** Outgoing webhooks; registering, switching and the delivery log are for admins (as in the API). */
export function WebhooksPage() {
  const isAdmin = useCan('admin');
  const list = useWebhooks();
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <section>
      <PageHeader title="Webhooks" />
      {!isAdmin && <p className="muted">Registering webhooks and their delivery logs are for admins.</p>}
      {secret && <SecretPanel secret={secret} onDismiss={() => setSecret(null)} />}
      {isAdmin && <CreateForm onCreated={setSecret} />}
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.data?.length === 0}
        emptyText="No webhooks registered."
      >
        {list.data?.map((w) => (
          <WebhookCard key={w.webhookId} webhook={w} isAdmin={isAdmin} />
        ))}
      </QueryState>
    </section>
  );
}
