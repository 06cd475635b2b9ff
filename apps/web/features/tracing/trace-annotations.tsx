'use client';

import { useRouter } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import type { KeyValue } from '../../lib/graphql/documents.ts';
import { useAction } from '../model-registry/use-action.ts';
import {
  DELETE_TRACE_METADATA,
  DELETE_TRACE_TAG,
  DELETE_TRACES,
  KEY_MAX,
  SET_TRACE_METADATA,
  SET_TRACE_TAG,
  VALUE_MAX,
} from './trace-documents.ts';

/**
 * A trace's tags or metadata: the effective entries (from spans or set by people), a form that
 * sets one (a key that exists is replaced), "Edit" to load an entry into the form and, for tags,
 * "Remove". Each change is a mutation with read-your-writes; `onDone` re-reads the trace (other
 * open pages follow through `tracesChanged`). API errors are shown under the form.
 */
export function TraceKeyValueEditor({
  kind,
  traceId,
  entries,
  onDone,
}: {
  kind: 'tag' | 'metadata';
  traceId: string;
  entries: KeyValue[];
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const keyId = useId();
  const title = kind === 'tag' ? 'Tags' : 'Metadata';
  const noun = kind === 'tag' ? 'tag' : 'metadata entry';
  const replacing = entries.some((e) => e.key === key);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (key === '') return;
    const ok = await action.run(kind === 'tag' ? SET_TRACE_TAG : SET_TRACE_METADATA, {
      traceId,
      key,
      value,
    });
    if (ok) {
      setKey('');
      setValue('');
    }
  };

  return (
    <section aria-label={title} data-testid={`trace-${kind}`}>
      <h2>
        {title} <span className="muted">({entries.length})</span>
      </h2>
      {entries.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table className="data kv" aria-label={`Trace ${title.toLowerCase()}`}>
          <tbody>
            {entries.map((t) => (
              <tr key={t.key} data-key={t.key}>
                <td>{t.key}</td>
                <td className="mono" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                  {t.value === '' ? <span className="muted">(empty)</span> : t.value}
                </td>
                <td className="row-action">
                  <button
                    type="button"
                    className="link"
                    aria-label={`Edit ${noun} ${t.key}`}
                    onClick={() => {
                      setKey(t.key);
                      setValue(t.value);
                      action.clear();
                      document.getElementById(`${keyId}-value`)?.focus();
                    }}
                  >
                    Edit
                  </button>{' '}
                  <button
                    type="button"
                    className="link"
                    disabled={action.busy}
                    aria-label={`Remove ${noun} ${t.key}`}
                    onClick={() =>
                      void action.run(kind === 'tag' ? DELETE_TRACE_TAG : DELETE_TRACE_METADATA, {
                        traceId,
                        key: t.key,
                      })
                    }
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="toolbar"
        onSubmit={(e) => void submit(e)}
        aria-label={kind === 'tag' ? 'Set a tag' : 'Set metadata'}
      >
        <label className="field" htmlFor={keyId}>
          <span className="visually-hidden">{kind === 'tag' ? 'Tag key' : 'Metadata key'}</span>
          <input
            id={keyId}
            type="text"
            value={key}
            placeholder="key"
            maxLength={KEY_MAX}
            spellCheck={false}
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <label className="field" htmlFor={`${keyId}-value`}>
          <span className="visually-hidden">{kind === 'tag' ? 'Tag value' : 'Metadata value'}</span>
          <input
            id={`${keyId}-value`}
            type="text"
            value={value}
            placeholder="value"
            maxLength={VALUE_MAX}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        <button type="submit" disabled={action.busy || key === ''}>
          {replacing ? 'Save' : kind === 'tag' ? 'Set tag' : 'Set metadata'}
        </button>
      </form>
      {action.error && <ErrorMessage error={action.error} />}
    </section>
  );
}

/**
 * "Delete trace": after a confirmation, `deleteTraces([id])`, then back to the traces list (where
 * it is gone). Its spans, tags and metadata go; spans arriving later for it are ignored.
 */
export function DeleteTraceButton({ traceId, name }: { traceId: string; name: string }) {
  const router = useRouter();
  const [gone, setGone] = useState<string | null>(null);
  const action = useAction(() => undefined);
  const remove = async () => {
    if (
      !window.confirm(
        `Delete the trace ${name || traceId}? Its spans, tags and metadata are removed for good.`,
      )
    )
      return;
    if (await action.run(DELETE_TRACES, { traceIds: [traceId] })) {
      setGone('Trace deleted.');
      router.push('/traces');
    }
  };
  return (
    <span className="field">
      <button
        type="button"
        className="danger"
        disabled={action.busy || gone !== null}
        onClick={() => void remove()}
      >
        Delete trace
      </button>
      {gone && (
        <span role="status" className="muted">
          {gone}
        </span>
      )}
      {action.error && <ErrorMessage error={action.error} />}
    </span>
  );
}
