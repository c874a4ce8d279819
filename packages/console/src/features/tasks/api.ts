import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useApi } from '../../shared/api/api-context';
import { resources } from '../../shared/api/query-keys';
import type { Page, ReportLink, TaskCatalogue, TaskRun } from '@kopitra/contracts';
import { useLiveEvent } from '../../shared/sse/live-events';

const key = [resources.tasks];
const FINISHED = new Set(['completed', 'failed']);

export function useTasks() {
  const api = useApi();
  return useQuery({ queryKey: key, queryFn: () => api.get<TaskCatalogue>('/api/admin/tasks') });
}

/** Puts a run into the cached list; a late, older report never moves a finished run back. */
function mergeRun(client: QueryClient, run: TaskRun) {
  client.setQueryData<TaskCatalogue>(key, (data) => {
    if (!data) return data;
    const existing = data.recentRuns.find((r) => r.runId === run.runId);
    if (!existing) return { ...data, recentRuns: [run, ...data.recentRuns] };
    if (FINISHED.has(existing.status) && !FINISHED.has(run.status)) return data;
    return {
      ...data,
      recentRuns: data.recentRuns.map((r) => (r.runId === run.runId ? { ...r, ...run } : r)),
    };
  });
}

/** Progress bars move with the stream's `task.progress` events, not with polling. */
export function useTaskProgress() {
  const client = useQueryClient();
  useLiveEvent('task.progress', (e) => mergeRun(client, e.data as unknown as TaskRun));
}

export function useRunTask(taskId: string) {
  const api = useApi();
  const client = useQueryClient();
  return useMutation({
    mutationFn: (params: Record<string, unknown>) =>
      api.post<TaskRun>(`/api/admin/tasks/${encodeURIComponent(taskId)}/run`, { params }),
    onSuccess: (run) => mergeRun(client, run),
  });
}

/** Group ids for the task parameter pickers. */
export function useGroupChoices() {
  const api = useApi();
  return useQuery({
    queryKey: [resources.groups, 'choices'],
    queryFn: async () => (await api.get<Page<{ groupId: string; name: string }>>('/api/admin/groups')).items,
  });
}

/**
 * Downloads a run's report: asks the API for a short-lived link (the bearer token stays in the
 * console) and lets the browser fetch it as a file.
 */
export function useDownloadReport() {
  const api = useApi();
  return useMutation({
    mutationFn: async (runId: string) => {
      const link = await api.get<ReportLink>(`/api/admin/task-runs/${encodeURIComponent(runId)}/report`);
      const a = document.createElement('a');
      a.href = link.url;
      a.download = link.name;
      a.rel = 'noopener';
      document.body.appendChild(a);
      a.click();
      a.remove();
      return link;
    },
  });
}
