import type { AuditEntry } from '@kopitra/contracts';
import { Fragment, useState } from 'react';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';
import { TextFilter, useUrlFilters } from '../../shared/ui/filters';
import { JsonView } from '../../shared/ui/json-view';
import { LoadMore, PageHeader, QueryState } from '../../shared/ui/states';
import { Time } from '../../shared/ui/time';

function AuditRow({ e }: { e: AuditEntry }) {
  const [open, setOpen] = useState(false);
  const hasBody = e.before != null || e.after != null;
  return (
    <Fragment>
      <tr data-testid="audit-row" data-action={e.action}>
        <td>
          <Time iso={e.at} />
        </td>
        <td>{e.actor}</td>
        <td>
          <code>{e.action}</code>
        </td>
        <td>
          {e.targetType} <span className="muted small">{e.targetId}</span>
        </td>
        <td>
          {hasBody && (
            <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
              {open ? 'hide' : 'before / after'}
            </button>
          )}
        </td>
      </tr>
      {open && (
        <tr className="detail-row">
          <td colSpan={5}>
            <div className="grid-2">
              <div>
                <h3>before</h3>
                <JsonView value={e.before} />
              </div>
              <div>
                <h3>after</h3>
                <JsonView value={e.after} />
              </div>
            </div>
          </td>
        </tr>
      )}
    </Fragment>
  );
}

export function AuditPage() {
  const [filters, set] = useUrlFilters(['actor', 'action', 'targetId'] as const);
  const list = useCursorList<AuditEntry>(resources.audit, '/api/admin/audit', filters);
  return (
    <section>
      <PageHeader title="Audit log" />
      <p className="muted">Every operator action and session state change, newest first. Append-only.</p>
      <div className="filters">
        <TextFilter
          label="Actor"
          value={filters.actor}
          onChange={(v) => set('actor', v)}
          placeholder="email or terminal:ID"
        />
        <TextFilter
          label="Action"
          value={filters.action}
          onChange={(v) => set('action', v)}
          placeholder="session.approve"
        />
        <TextFilter
          label="Target"
          value={filters.targetId}
          onChange={(v) => set('targetId', v)}
          placeholder="exact id"
        />
      </div>
      <QueryState
        isPending={list.isPending}
        error={list.error}
        empty={list.items.length === 0}
        emptyText="No entries match."
      >
        <table className="table" data-testid="audit-table">
          <thead>
            <tr>
              <th>at</th>
              <th>actor</th>
              <th>action</th>
              <th>target</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.items.map((e) => (
              <AuditRow key={e.auditId} e={e} />
            ))}
          </tbody>
        </table>
        <LoadMore {...list} />
      </QueryState>
    </section>
  );
}
