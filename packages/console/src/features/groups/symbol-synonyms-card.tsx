import { useState, type FormEvent } from 'react';
import { useCan } from '../../shared/auth/auth-context';
import { ErrorNotice } from '../../shared/ui/error-notice';
import { QueryState } from '../../shared/ui/states';
import { usePutSymbolSynonyms, useResetSymbolSynonyms, useSymbolSynonyms } from './api';

const toText = (groups: string[][]) => groups.map((g) => g.join(', ')).join('\n');
const fromText = (text: string) =>
  text
    .split('\n')
    .map((line) =>
      line
        .split(/[\s,]+/)
        .map((n) => n.trim())
        .filter(Boolean),
    )
    .filter((g) => g.length > 0);

/** The deployment's symbol synonym groups, used by subscriptions that resolve symbols automatically. */
export function SymbolSynonymsCard() {
  const query = useSymbolSynonyms();
  const canWrite = useCan('operator');
  const put = usePutSymbolSynonyms();
  const reset = useResetSymbolSynonyms();
  const [text, setText] = useState<string | null>(null);
  const current = query.data;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (text !== null) put.mutate(fromText(text), { onSuccess: () => setText(null) });
  };
  return (
    <div className="card" data-testid="symbol-synonyms">
      <div className="card-header">
        <h2>Symbol synonyms</h2>
        {current && <span className="muted small">{current.builtIn ? 'built in' : 'edited'}</span>}
      </div>
      <p className="hint">
        One instrument per line, its names separated by commas (XAUUSD, GOLD). Automatic symbol resolution
        copies a master's symbol to the first of its synonyms the follower lists.
      </p>
      <QueryState isPending={query.isPending} error={query.error}>
        {current && (
          <form className="form" onSubmit={submit}>
            <textarea
              name="synonyms"
              aria-label="Symbol synonyms, one instrument per line"
              className="code-block"
              wrap="off"
              spellCheck={false}
              rows={10}
              value={text ?? toText(current.groups)}
              readOnly={!canWrite}
              onChange={(e) => setText(e.target.value)}
            />
            <ErrorNotice error={put.error ?? reset.error} />
            {canWrite && (
              <div className="form-actions">
                <button
                  type="button"
                  disabled={current.builtIn || reset.isPending}
                  onClick={() => reset.mutate(undefined, { onSuccess: () => setText(null) })}
                >
                  Back to built-in
                </button>
                <button type="submit" className="primary" disabled={text === null || put.isPending}>
                  {put.isPending ? 'Saving…' : 'Save synonyms'}
                </button>
              </div>
            )}
          </form>
        )}
      </QueryState>
    </div>
  );
}
