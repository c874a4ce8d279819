import { ApiError } from '../api/client';

/** An API failure exactly as the API worded it: message, code and every validation issue. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const api = error instanceof ApiError ? error : null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="notice notice-error" role="alert" data-testid="error-notice">
      {title && <strong>{title}: </strong>}
      <span data-testid="error-message">{message}</span>
      {api && (
        <div className="error-code-line small">
          code <code className="error-code">{api.code}</code>
        </div>
      )}
      {api && api.issues.length > 0 && (
        <ul className="issues" data-testid="error-issues">
          {api.issues.map((i, n) => (
            <li key={n}>
              <code>{i.path}</code>: {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
