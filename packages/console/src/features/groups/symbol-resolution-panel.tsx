import { useState } from 'react';
import { QueryState } from '../../shared/ui/states';
import { useSymbolResolution } from './api';

const VIA: Record<string, string> = {
  map: 'symbol map',
  rules: 'affix rules',
  same: 'same name',
  affix: "broker's affixes",
  synonym: 'synonym',
  none: '—',
};

/**
 * How each of the master's symbols (traded, held, or in its catalog) resolves for one
 * follower, by the same rules the copy engine applies; those that resolve to nothing first.
 */
export function SymbolResolutionPanel({ groupId, accountId }: { groupId: string; accountId: string }) {
  const query = useSymbolResolution(groupId, accountId);
  const [onlyUnresolved, setOnlyUnresolved] = useState(false);
  const r = query.data;
  const items = (r?.items ?? [])
    .filter((i) => !onlyUnresolved || !i.listed)
    .sort((a, b) => Number(a.listed) - Number(b.listed));
  return (
    <div className="card" data-testid="symbol-resolution" aria-label={`Symbols of ${accountId}`}>
      <div className="card-header">
        <h2>Symbols of {accountId}</h2>
        <label className="check">
          <input
            type="checkbox"
            checked={onlyUnresolved}
            onChange={(e) => setOnlyUnresolved(e.target.checked)}
          />{' '}
          only unresolved
        </label>
      </div>
      <QueryState isPending={query.isPending} error={query.error}>
        {r && (
          <>
            <p className="muted small">
              {r.unresolved === 0
                ? 'Every master symbol resolves.'
                : `${r.unresolved} of ${r.items.length} master symbols resolve to nothing the follower lists: their opens are skipped.`}{' '}
              Automatic resolution is {r.automatic ? 'on' : 'off'}; {r.followerCatalogSize} follower symbols,{' '}
              {r.masterCatalogSize} master symbols reported; {r.builtInSynonyms ? 'built-in' : 'custom'}{' '}
              synonyms.
            </p>
            {r.followerCatalogSize === 0 && (
              <p className="notice notice-warn">
                The follower has not reported its symbol list yet; nothing can be copied until it does.
              </p>
            )}
            {items.length === 0 ? (
              <p className="muted empty">No master symbols known yet.</p>
            ) : (
              <table className="table" data-testid="symbol-resolution-table">
                <thead>
                  <tr>
                    <th>master symbol</th>
                    <th>follower symbol</th>
                    <th>how</th>
                    <th>details</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((i) => (
                    <tr key={i.masterSymbol} data-testid="symbol-row" data-symbol={i.masterSymbol}>
                      <td>
                        {i.masterSymbol}
                        {i.traded && <span className="muted small"> traded</span>}
                      </td>
                      <td className={i.listed ? undefined : 'text-bad'} data-testid="symbol-target">
                        {i.followerSymbol ?? 'nothing'}
                        {i.followerSymbol && !i.listed && <span className="small"> (not listed)</span>}
                      </td>
                      <td>{VIA[i.via] ?? i.via}</td>
                      <td className="small muted">{i.detail}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </>
        )}
      </QueryState>
    </div>
  );
}
