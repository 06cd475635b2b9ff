'use client';

import { useId } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { describeError } from '../../lib/graphql/errors.ts';
import { jsonInline } from './prompt-editing.ts';
import { sideBySide } from './prompt-diff-rows.ts';
import {
  PROMPT_VERSION_DIFF,
  type PromptValueChange,
  type PromptVersion,
  type PromptVersionDiffResult,
} from './prompts.documents.ts';

/**
 * Two versions side by side (`promptVersionDiff`): the template's line diff (removed lines on the
 * left, added on the right), variables added and removed, and the leaf changes of the model
 * configuration and response format. Versions are immutable, so a diff is read once.
 */
export function PromptDiffView({
  name,
  versions,
  from,
  to,
  onChange,
}: {
  name: string;
  versions: PromptVersion[];
  from: number | null;
  to: number | null;
  onChange: (from: number, to: number) => void;
}) {
  const ready = from !== null && to !== null && from > 0 && to > 0;
  const [result] = useQuery<PromptVersionDiffResult>({
    query: PROMPT_VERSION_DIFF,
    variables: { name, from: from ?? 0, to: to ?? 0 },
    pause: !ready,
  });
  const fromId = useId();
  const toId = useId();
  const diff = result.data?.promptVersionDiff ?? null;
  const options = versions.map((v) => (
    <option key={v.version} value={v.version}>
      v{v.version}
    </option>
  ));
  const rows = diff ? sideBySide(diff.template) : [];
  return (
    <section aria-labelledby="diff-heading" className="prompt-diff" data-testid="prompt-diff">
      <h2 id="diff-heading">Compare versions</h2>
      <div className="toolbar">
        <label className="field" htmlFor={fromId}>
          <span>From</span>
        </label>
        <select
          id={fromId}
          value={from ?? ''}
          onChange={(e) => onChange(Number(e.target.value), to ?? versions[0]!.version)}
        >
          {from !== null && !versions.some((v) => v.version === from) && (
            <option value={from}>v{from}</option>
          )}
          {options}
        </select>
        <label className="field" htmlFor={toId}>
          <span>to</span>
        </label>
        <select
          id={toId}
          value={to ?? ''}
          onChange={(e) => onChange(from ?? versions[0]!.version, Number(e.target.value))}
        >
          {to !== null && !versions.some((v) => v.version === to) && (
            <option value={to}>v{to}</option>
          )}
          {options}
        </select>
        {ready && from !== to && (
          <button type="button" onClick={() => onChange(to, from)} aria-label="Swap the versions">
            ⇄ Swap
          </button>
        )}
      </div>
      {result.error && <ErrorMessage error={describeError(result.error)} />}
      {!ready && <p className="muted">Choose two versions.</p>}
      {ready && result.fetching && !diff && <p className="muted">Loading…</p>}
      {diff && (
        <>
          {diff.templateTypeChanged && (
            <p className="notice" role="note">
              The template type changed: v{diff.from.version} is{' '}
              {diff.from.templateType.toLowerCase()}, v{diff.to.version} is{' '}
              {diff.to.templateType.toLowerCase()}.
            </p>
          )}
          {diff.commitMessage && (
            <p>
              <span className="muted">v{diff.to.version}:</span> {diff.commitMessage}
            </p>
          )}
          <h3>Template</h3>
          <table
            className="diff-table mono"
            aria-label={`Template diff v${diff.from.version} → v${diff.to.version}`}
            data-testid="template-diff"
          >
            <colgroup>
              <col className="diff-num-col" />
              <col />
              <col className="diff-num-col" />
              <col />
            </colgroup>
            <thead>
              <tr>
                <th scope="col" colSpan={2}>
                  v{diff.from.version}
                </th>
                <th scope="col" colSpan={2}>
                  v{diff.to.version}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={i}>
                  <td className="diff-num">{r.left?.line ?? ''}</td>
                  <td
                    className={`diff-cell ${r.left ? `diff-${r.left.op}` : 'diff-none'}`}
                    data-op={r.left?.op}
                  >
                    {r.left && r.left.op === 'REMOVED' && (
                      <span className="visually-hidden">removed: </span>
                    )}
                    {r.left?.text ?? ''}
                  </td>
                  <td className="diff-num">{r.right?.line ?? ''}</td>
                  <td
                    className={`diff-cell ${r.right ? `diff-${r.right.op}` : 'diff-none'}`}
                    data-op={r.right?.op}
                  >
                    {r.right && r.right.op === 'ADDED' && (
                      <span className="visually-hidden">added: </span>
                    )}
                    {r.right?.text ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(diff.variablesAdded.length > 0 || diff.variablesRemoved.length > 0) && (
            <p data-testid="variables-diff">
              Variables:{' '}
              {diff.variablesAdded.map((v) => (
                <span key={`+${v}`} className="chip diff-chip-added mono">
                  +{v}
                </span>
              ))}{' '}
              {diff.variablesRemoved.map((v) => (
                <span key={`-${v}`} className="chip diff-chip-removed mono">
                  −{v}
                </span>
              ))}
            </p>
          )}
          <ValueChanges
            title="Model configuration"
            changes={diff.modelConfig}
            testId="model-config-diff"
          />
          <ValueChanges
            title="Response format"
            changes={diff.responseFormat}
            testId="response-format-diff"
          />
        </>
      )}
    </section>
  );
}

function ValueChanges({
  title,
  changes,
  testId,
}: {
  title: string;
  changes: PromptValueChange[];
  testId: string;
}) {
  return (
    <>
      <h3>{title}</h3>
      {changes.length === 0 ? (
        <p className="muted">No change.</p>
      ) : (
        <table className="data kv" aria-label={`${title} changes`} data-testid={testId}>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((c) => (
              <tr key={c.path} data-op={c.op}>
                <td className="mono">{c.path}</td>
                <td className={`mono ${c.op === 'ADDED' ? 'muted' : 'diff-REMOVED'}`}>
                  {c.op === 'ADDED' ? '—' : jsonInline(c.from)}
                </td>
                <td className={`mono ${c.op === 'REMOVED' ? 'muted' : 'diff-ADDED'}`}>
                  {c.op === 'REMOVED' ? '—' : jsonInline(c.to)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
