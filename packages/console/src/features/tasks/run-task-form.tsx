// The date helper alone: the package's root would bring zod, whose eval probe the CSP refuses.
import { isoTime } from '@kopitra/contracts/time';
import { useState, type FormEvent } from 'react';
import { useAccountIds } from '../../shared/api/use-account-ids';
import { ConfirmDialog } from '../../shared/ui/confirm-dialog';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { Field } from '../../shared/ui/field';
import { ProgressBar } from '../../shared/ui/progress-bar';
import type { TaskDefinition, TaskParameter, TaskRun } from '@kopitra/contracts';
import { useGroupChoices, useRunTask } from './api';

/** Tasks whose effect on followers' books calls for a second look before they run. */
const NEEDS_CONFIRMATION = new Set(['close-follower-positions', 'pause-group']);

/** JSON typed into an object parameter (what-if's settings); text that is not JSON goes as typed, for the API to refuse. */
function objectValue(v: string): unknown {
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/**
 * datetime-local → ISO instant, an object parameter's JSON → the object; everything else is
 * sent as typed for the API to validate.
 */
function toParams(def: TaskDefinition, values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(def.params.properties)) {
    const v = (values[name] ?? '').trim();
    if (v === '') continue;
    out[name] =
      schema.format === 'date-time' && !Number.isNaN(Date.parse(v))
        ? isoTime(Date.parse(v))
        : schema.type === 'object'
          ? objectValue(v)
          : v;
  }
  return out;
}

function ParamInput({
  taskId,
  name,
  schema,
  value,
  onChange,
}: {
  taskId: string;
  name: string;
  schema: TaskParameter;
  value: string;
  onChange(v: string): void;
}) {
  const accounts = useAccountIds();
  const groups = useGroupChoices();
  if (schema.enum) {
    return (
      <select name={name} value={value} onChange={(e) => onChange(e.target.value)}>
        {schema.default === undefined && <option value="">—</option>}
        {schema.enum.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  }
  if (schema.format === 'date-time')
    return (
      <input
        name={name}
        type="datetime-local"
        step={1}
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  const listId = `${taskId}-${name}-choices`;
  const choices =
    name === 'accountId'
      ? (accounts.data ?? []).map((a) => [a, a])
      : name === 'groupId'
        ? (groups.data ?? []).map((g) => [g.groupId, g.name])
        : [];
  return (
    <>
      <input
        name={name}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        list={choices.length ? listId : undefined}
      />
      {choices.length > 0 && (
        <datalist id={listId}>
          {choices.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </datalist>
      )}
    </>
  );
}

export function RunTaskForm({
  def,
  runs,
  canRun,
}: {
  def: TaskDefinition;
  runs: TaskRun[];
  canRun: boolean;
}) {
  const props = Object.entries(def.params.properties);
  const required = new Set(def.params.required ?? []);
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(props.map(([n, s]) => [n, typeof s.default === 'string' ? s.default : ''])),
  );
  const [confirming, setConfirming] = useState(false);
  const [lastRunId, setLastRunId] = useState<string | null>(null);
  const run = useRunTask(def.taskId);
  const lastRun = runs.find((r) => r.runId === lastRunId);

  const start = async () => setLastRunId((await run.mutateAsync(toParams(def, values))).runId);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (NEEDS_CONFIRMATION.has(def.taskId)) setConfirming(true);
    else start().catch(() => undefined);
  };
  return (
    <form
      className="card form task"
      onSubmit={submit}
      data-testid={`task-${def.taskId}`}
      aria-label={def.title}
    >
      <h2>{def.title}</h2>
      <p className="muted">{def.description}</p>
      {canRun && (
        <div className="form-grid">
          {props.map(([name, schema]) => (
            <Field key={name} label={`${name}${required.has(name) ? '' : ' (optional)'}`}>
              <ParamInput
                taskId={def.taskId}
                name={name}
                schema={schema}
                value={values[name] ?? ''}
                onChange={(v) => setValues({ ...values, [name]: v })}
              />
            </Field>
          ))}
        </div>
      )}
      {!confirming && <ErrorNotice error={run.error} />}
      {lastRun && (
        <ProgressBar value={lastRun.progress} status={lastRun.status} label={`${def.title} progress`} />
      )}
      {canRun && (
        <div className="form-actions">
          <button type="submit" className="primary" disabled={run.isPending}>
            {run.isPending ? 'Starting…' : 'Run'}
          </button>
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Run “${def.title}”?`}
          confirmLabel="Run task"
          tone="danger"
          onConfirm={start}
          onClose={() => setConfirming(false)}
        >
          <p>{def.description}</p>
          <pre className="json">{JSON.stringify(toParams(def, values), null, 2)}</pre>
        </ConfirmDialog>
      )}
    </form>
  );
}
