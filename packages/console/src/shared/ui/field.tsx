import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';

/** A labelled control with the API's issue for its path (e.g. `body.sizing.multiplier`) under it. */
export function Field({
  label,
  hint,
  issue,
  children,
  className,
}: {
  label: string;
  hint?: string;
  issue?: string | undefined;
  children: ReactNode;
  className?: string;
}) {
  return (
    <label className={`field${issue ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <span>{label}</span>
      {children}
      {hint && !issue && <small className="hint">{hint}</small>}
      {issue && (
        <small className="field-issue" role="alert">
          {issue}
        </small>
      )}
    </label>
  );
}

/** The issue messages of an API error keyed by path without the leading `body.`. */
export function issuesByPath(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const issues = (error as ApiError | null)?.issues ?? [];
  for (const i of issues) {
    const path = i.path.replace(/^body\.?/, '');
    out[path] = out[path] ? `${out[path]}; ${i.message}` : i.message;
  }
  return out;
}
