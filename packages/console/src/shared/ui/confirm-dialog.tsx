import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { ErrorNotice } from './error-notice';

export interface ConfirmDialogProps {
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  tone?: 'danger' | 'primary';
  /** Ask for a reason (sent to the API and kept in the audit log). */
  reason?: { label: string; required: boolean };
  onConfirm(reason: string): Promise<unknown>;
  onClose(): void;
}

/**
 * A modal that states the consequence, optionally takes a reason, and shows the API's refusal in
 * place. It renders into document.body: opened from inside another form (a task card), a nested
 * <form> would have the browser close the dialog without the confirmation ever running.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  tone = 'primary',
  reason,
  onConfirm,
  onClose,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const titleId = useId();

  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm(text.trim());
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  const blocked = busy || (reason?.required === true && text.trim() === '');

  return createPortal(
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        if (!busy) onClose();
      }}
      data-testid="confirm-dialog"
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          // React bubbles through the portal: the form that opened the dialog must not see this.
          e.stopPropagation();
          if (!blocked) void submit();
        }}
      >
        <h2 id={titleId}>{title}</h2>
        {children && <div className="dialog-body">{children}</div>}
        {reason && (
          <label className="field">
            <span>
              {reason.label}
              {reason.required ? ' (required)' : ''}
            </span>
            <textarea
              value={text}
              onChange={(e) => setText(e.target.value)}
              rows={3}
              maxLength={500}
              autoFocus
              name="reason"
            />
          </label>
        )}
        <ErrorNotice error={error} />
        <div className="dialog-actions">
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className={tone === 'danger' ? 'danger' : 'primary'} disabled={blocked}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </dialog>,
    document.body,
  );
}

/** A button that opens a ConfirmDialog; the usual way to offer a consequential action. */
export function ConfirmAction({
  label,
  className,
  testId,
  ...dialog
}: Omit<ConfirmDialogProps, 'onClose'> & { label: string; className?: string; testId?: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className={className ?? (dialog.tone === 'danger' ? 'danger' : undefined)}
        onClick={() => setOpen(true)}
        data-testid={testId}
      >
        {label}
      </button>
      {open && <ConfirmDialog {...dialog} onClose={() => setOpen(false)} />}
    </>
  );
}
