import { useCan } from '../../shared/auth/auth-context';
import { JsonView } from '../../shared/ui/json-view';
import { ProgressBar } from '../../shared/ui/progress-bar';
import { PageHeader, QueryState } from '../../shared/ui/states';
import { Time } from '../../shared/ui/time';
import { ErrorNotice } from '../../shared/ui/error-notice';
import type { TaskRun } from '@kopitra/contracts';
import { useDownloadReport, useTaskProgress, useTasks } from './api';

const sizeText = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1048576).toFixed(1)} MB`;

function DownloadReport({ run }: { run: TaskRun }) {
  const download = useDownloadReport();
  if (!run.report || run.status !== 'completed') return null;
  return (
    <div className="report-download">
      <button
        type="button"
        className="small"
        data-testid="download-report"
        disabled={download.isPending}
        onClick={() => download.mutate(run.runId)}
        title={run.report.name}
      >
        Download {run.report.name.split('.').pop()?.toUpperCase()} ({sizeText(run.report.size)})
      </button>
      <ErrorNotice error={download.error} title="Download failed" />
    </div>
  );
}
import { RunTaskForm } from './run-task-form';

function RunsTable({ runs, titles }: { runs: TaskRun[]; titles: Map<string, string> }) {
  if (runs.length === 0) return <p className="muted">No runs yet.</p>;
  return (
    <table className="table" data-testid="task-runs-table">
      <thead>
        <tr>
          <th>task</th>
          <th>params</th>
          <th className="progress-col">progress</th>
          <th>requested</th>
          <th>finished</th>
          <th>result</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr
            key={r.runId}
            data-testid="task-run-row"
            data-run-id={r.runId}
            data-task-id={r.taskId}
            data-status={r.status}
          >
            <td>
              {titles.get(r.taskId) ?? r.taskId}
              <div className="muted small">
                <code>{r.runId}</code>
              </div>
            </td>
            <td className="small">
              {r.params
                ? Object.entries(r.params)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(', ')
                : '—'}
            </td>
            <td>
              <ProgressBar value={r.progress} status={r.status} label={`Run ${r.runId}`} />
            </td>
            <td className="small">
              {r.requestedBy} <Time iso={r.createdAt} relative />
            </td>
            <td>
              <Time iso={r.finishedAt} relative />
            </td>
            <td>
              {r.error && <span className="text-bad">{r.error}</span>}
              <DownloadReport run={r} />
              {r.result != null && (
                <details>
                  <summary className="small">result</summary>
                  <JsonView value={r.result} />
                </details>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TasksPage() {
  const tasks = useTasks();
  const canRun = useCan('operator');
  useTaskProgress();
  const defs = tasks.data?.items ?? [];
  const runs = tasks.data?.recentRuns ?? [];
  return (
    <section>
      <PageHeader title="Tasks" />
      <QueryState isPending={tasks.isPending} error={tasks.error}>
        <div className="card">
          <h2>Recent runs</h2>
          <RunsTable runs={runs} titles={new Map(defs.map((d) => [d.taskId, d.title]))} />
        </div>
        <div className="tasks-grid">
          {defs.map((d) => (
            <RunTaskForm key={d.taskId} def={d} runs={runs} canRun={canRun} />
          ))}
        </div>
      </QueryState>
    </section>
  );
}
