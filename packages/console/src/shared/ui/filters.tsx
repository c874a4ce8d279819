import { useState } from 'react';
import { useSearchParams } from 'react-router';

/** List filters kept in the URL, so a filtered view can be linked and survives a reload. */
export function useUrlFilters<K extends string>(keys: readonly K[]) {
  const [params, setParams] = useSearchParams();
  const values = Object.fromEntries(keys.map((k) => [k, params.get(k) ?? ''])) as Record<K, string>;
  const set = (key: K, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  return [values, set] as const;
}

/** A text filter applied on Enter or when leaving the field (the API matches exactly). */
export function TextFilter({
  label,
  value,
  onChange,
  placeholder,
  testId,
}: {
  label: string;
  value: string;
  onChange(v: string): void;
  placeholder?: string;
  testId?: string;
}) {
  const [draft, setDraft] = useState(value);
  const [seen, setSeen] = useState(value);
  if (value !== seen) {
    setSeen(value);
    setDraft(value);
  }
  const commit = () => draft.trim() !== value && onChange(draft.trim());
  return (
    <label>
      {label}{' '}
      <input
        value={draft}
        placeholder={placeholder}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => e.key === 'Enter' && commit()}
        data-testid={testId}
      />
    </label>
  );
}

export function SelectFilter({
  label,
  value,
  options,
  onChange,
  testId,
}: {
  label: string;
  value: string;
  options: readonly string[];
  onChange(v: string): void;
  testId?: string;
}) {
  return (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value="">all</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o.replace(/_/g, ' ')}
          </option>
        ))}
      </select>
    </label>
  );
}

/** One filter of a list: a select when it has options, otherwise an exact-match text field. */
export type FilterField<K extends string> = {
  key: K;
  label: string;
  options?: readonly string[];
  placeholder?: string;
  testId?: string;
};

/** A list's filter bar, bound to the values and setter of `useUrlFilters`. */
export function FilterBar<K extends string>({
  fields,
  values,
  onChange,
}: {
  fields: readonly FilterField<K>[];
  values: Record<K, string>;
  onChange(key: K, value: string): void;
}) {
  return (
    <div className="filters">
      {fields.map(({ key, label, options, placeholder, testId }) =>
        options ? (
          <SelectFilter
            key={key}
            label={label}
            value={values[key]}
            options={options}
            onChange={(v) => onChange(key, v)}
            testId={testId}
          />
        ) : (
          <TextFilter
            key={key}
            label={label}
            value={values[key]}
            onChange={(v) => onChange(key, v)}
            placeholder={placeholder}
            testId={testId}
          />
        ),
      )}
    </div>
  );
}
