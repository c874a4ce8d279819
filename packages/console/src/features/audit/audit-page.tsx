import type { AuditEntry } from '@kopitra/contracts';
import { Fragment, useState } from 'react';
import { resources } from '../../shared/api/query-keys';
import { useCursorList } from '../../shared/api/use-cursor-list';
import { FilterBar, type FilterField, useUrlFilters } from '../../shared/ui/filters';
import { JsonView } from '../../shared/ui/json-view';
import { ListTable } from '../../shared/ui/list-table';
import { PageHeader } from '../../shared/ui/states';
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

const FILTERS: readonly FilterField<'actor' | 'action' | 'targetId'>[] = [
  { key: 'actor', label: 'Actor', placeholder: 'email or terminal:ID' },
  { key: 'action', label: 'Action', placeholder: 'session.approve' },
  { key: 'targetId', label: 'Target', placeholder: 'exact id' },
];

export function AuditPage() {
  const [filters, set] = useUrlFilters(FILTERS.map((f) => f.key));
  const list = useCursorList<AuditEntry>(resources.audit, '/api/admin/audit', filters);
  return (
    <section>
      <PageHeader title="Audit log" />
      <p className="muted">Every operator action and session state change, newest first. Append-only.</p>
      <FilterBar fields={FILTERS} values={filters} onChange={set} />
      <ListTable
        list={list}
        testId="audit-table"
        emptyText="No entries match."
        columns={['at', 'actor', 'action', 'target', '']}
        row={(e) => <AuditRow key={e.auditId} e={e} />}
      />
    </section>
  );
}
