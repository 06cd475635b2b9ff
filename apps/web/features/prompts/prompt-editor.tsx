'use client';

import { useId, useMemo, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { draftFrom, draftVariables, versionInput, type PromptDraft } from './prompt-editing.ts';
import {
  CREATE_PROMPT_VERSION,
  type CreatePromptVersionResult,
  type PromptVersion,
} from './prompts.documents.ts';

const localError = (message: string): ApiErrorInfo => ({
  message,
  code: null,
  position: null,
  argument: null,
  network: false,
});

/**
 * Writes a new version (`createPromptVersion`), starting from a copy of `base`: a text template
 * or a chat template (role/content messages), the model configuration and response format as
 * JSON objects, and a commit message. The variables the template holds are previewed as typed;
 * the server's error, if any, is shown as it says it.
 */
export function PromptEditor({
  name,
  base,
  onSaved,
  onCancel,
}: {
  name: string;
  base: PromptVersion | null;
  onSaved: (version: number) => void;
  onCancel: () => void;
}) {
  const { urql } = useDashboard();
  const [draft, setDraft] = useState<PromptDraft>(() => draftFrom(base));
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const variables = useMemo(() => draftVariables(draft), [draft]);
  const id = useId();
  const update = (patch: Partial<PromptDraft>) => setDraft((d) => ({ ...d, ...patch }));
  const setMessage = (i: number, patch: Partial<{ role: string; content: string }>) =>
    setDraft((d) => ({
      ...d,
      messages: d.messages.map((m, j) => (j === i ? { ...m, ...patch } : m)),
    }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const input = versionInput(name, draft);
    if (!input.ok) {
      setError(localError(input.error));
      return;
    }
    setBusy(true);
    const result = await urql
      .mutation<CreatePromptVersionResult>(CREATE_PROMPT_VERSION, input.variables)
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    onSaved(result.data.createPromptVersion.version);
  };

  return (
    <form
      className="prompt-editor"
      onSubmit={(e) => void submit(e)}
      aria-label="New version"
      data-testid="prompt-editor"
    >
      <p className="muted">
        {base ? `Starting from v${base.version}. ` : ''}Saving creates version{' '}
        {base ? base.version + 1 : 1} (or the next free number); existing versions never change.
      </p>
      <fieldset className="field">
        <legend className="visually-hidden">Template type</legend>
        <button
          type="button"
          aria-pressed={draft.type === 'TEXT'}
          onClick={() =>
            update({
              type: 'TEXT',
              text:
                draft.type === 'CHAT'
                  ? draft.messages.map((m) => m.content).join('\n\n')
                  : draft.text,
            })
          }
        >
          Text
        </button>
        <button
          type="button"
          aria-pressed={draft.type === 'CHAT'}
          onClick={() =>
            update({
              type: 'CHAT',
              messages:
                draft.type === 'TEXT' && draft.text
                  ? [{ role: 'user', content: draft.text }]
                  : draft.messages,
            })
          }
        >
          Chat
        </button>
      </fieldset>

      {draft.type === 'TEXT' ? (
        <label className="prompt-editor-field">
          <span>Template</span>
          <textarea
            className="mono"
            value={draft.text}
            rows={8}
            spellCheck={false}
            onChange={(e) => update({ text: e.target.value })}
            placeholder="Summarise {{text}} in {{words}} words."
            data-testid="template-input"
          />
        </label>
      ) : (
        <ol className="prompt-messages-edit" aria-label="Messages">
          {draft.messages.map((m, i) => (
            <li key={i} className="prompt-message-edit">
              <label className="field">
                <span>Role</span>
                <input
                  type="text"
                  value={m.role}
                  list={`${id}-roles`}
                  size={10}
                  maxLength={64}
                  spellCheck={false}
                  onChange={(e) => setMessage(i, { role: e.target.value })}
                  aria-label={`Role of message ${i + 1}`}
                />
              </label>
              <textarea
                className="mono"
                value={m.content}
                rows={3}
                spellCheck={false}
                onChange={(e) => setMessage(i, { content: e.target.value })}
                aria-label={`Content of message ${i + 1}`}
              />
              <span className="field">
                <button
                  type="button"
                  disabled={i === 0}
                  aria-label={`Move message ${i + 1} up`}
                  onClick={() =>
                    setDraft((d) => {
                      const messages = [...d.messages];
                      [messages[i - 1], messages[i]] = [messages[i]!, messages[i - 1]!];
                      return { ...d, messages };
                    })
                  }
                >
                  ↑
                </button>
                <button
                  type="button"
                  className="danger"
                  disabled={draft.messages.length === 1}
                  aria-label={`Remove message ${i + 1}`}
                  onClick={() =>
                    setDraft((d) => ({ ...d, messages: d.messages.filter((_, j) => j !== i) }))
                  }
                >
                  Remove
                </button>
              </span>
            </li>
          ))}
          <datalist id={`${id}-roles`}>
            <option value="system" />
            <option value="user" />
            <option value="assistant" />
          </datalist>
          <li>
            <button
              type="button"
              onClick={() =>
                setDraft((d) => ({
                  ...d,
                  messages: [
                    ...d.messages,
                    {
                      role: d.messages.at(-1)?.role === 'user' ? 'assistant' : 'user',
                      content: '',
                    },
                  ],
                }))
              }
            >
              Add a message
            </button>
          </li>
        </ol>
      )}

      <div className="prompt-variables" aria-live="polite" data-testid="variables-preview">
        <span className="muted">Variables:</span>{' '}
        {variables.length === 0 ? (
          <span className="muted">none (write {'{{name}}'} placeholders)</span>
        ) : (
          variables.map((v) => (
            <span key={v} className="chip prompt-variable mono">
              {v}
            </span>
          ))
        )}
      </div>

      <div className="two-col">
        <label className="prompt-editor-field">
          <span>Model configuration (JSON object, optional)</span>
          <textarea
            className="mono"
            value={draft.modelConfig}
            rows={5}
            spellCheck={false}
            placeholder={'{ "provider": "openai", "model": "gpt-4o-mini", "temperature": 0.2 }'}
            onChange={(e) => update({ modelConfig: e.target.value })}
            data-testid="model-config-input"
          />
        </label>
        <label className="prompt-editor-field">
          <span>Response format (JSON schema, optional)</span>
          <textarea
            className="mono"
            value={draft.responseFormat}
            rows={5}
            spellCheck={false}
            onChange={(e) => update({ responseFormat: e.target.value })}
            data-testid="response-format-input"
          />
        </label>
      </div>
      <label className="prompt-editor-field">
        <span>Commit message</span>
        <input
          type="text"
          value={draft.commitMessage}
          maxLength={2000}
          onChange={(e) => update({ commitMessage: e.target.value })}
          placeholder="What changed, and why"
          data-testid="commit-message-input"
        />
      </label>
      {error && <ErrorMessage error={error} id="prompt-editor-error" />}
      <span className="field">
        <button type="submit" className="primary" disabled={busy}>
          Save as new version
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </span>
    </form>
  );
}
