'use client';

import { useEffect, useId, useRef, type ReactNode } from 'react';

/**
 * A modal confirmation (`<dialog>` with showModal: focus is trapped, Escape cancels). Rendered
 * while `open`; `onConfirm` / `onCancel` close it.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger = false,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      className="confirm-dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      {open && (
        <form
          method="dialog"
          onSubmit={(e) => {
            e.preventDefault();
            onConfirm();
          }}
        >
          <h2 id={titleId} style={{ marginTop: 0 }}>
            {title}
          </h2>
          <div>{children}</div>
          <div className="toolbar" style={{ justifyContent: 'flex-end' }}>
            {/* A destructive action starts on Cancel. */}
            <button type="button" onClick={onCancel} autoFocus={danger}>
              Cancel
            </button>
            <button type="submit" className={danger ? 'danger' : 'primary'} autoFocus={!danger}>
              {confirmLabel}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
