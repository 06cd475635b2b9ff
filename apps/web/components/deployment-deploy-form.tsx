'use client';

import { useRouter } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { TypedError } from '../app/deployments/deployment-parts.tsx';
import { CREATE_DEPLOYMENT } from '../app/deployments/deployments.documents.ts';
import {
  TARGETS,
  deployInput,
  deploymentHref,
  modelUri,
  suggestDeploymentName,
} from '../app/deployments/deployments-logic.ts';
import { useMutation } from '../app/deployments/use-mutation.ts';
import { ErrorMessage } from './error-message.tsx';

/**
 * "Deploy" on a model version (issue 16): a button that opens a form (name, target, follow an
 * alias or this fixed version, optional JSON config, an optional candidate variant with its
 * weight) → createDeployment → the deployment's page. Errors (the form's own checks and the
 * server's typed ones) are shown inline.
 */
export function DeploymentDeployForm({
  modelName,
  version,
  aliases,
  versions,
}: {
  modelName: string;
  version: number;
  /** The model's aliases (any may be followed). */
  aliases: readonly { alias: string; version: number }[];
  /** The model's version numbers (candidates). */
  versions: readonly number[];
}) {
  const [open, setOpen] = useState(false);
  const formId = useId();
  return (
    <div className="deploy-action">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={formId}
        onClick={() => setOpen((o) => !o)}
      >
        {open ? 'Cancel deploy' : `Deploy v${version}…`}
      </button>
      {open && (
        <DeployForm
          id={formId}
          modelName={modelName}
          version={version}
          aliases={aliases}
          versions={versions}
        />
      )}
    </div>
  );
}

function DeployForm({
  id,
  modelName,
  version,
  aliases,
  versions,
}: {
  id: string;
  modelName: string;
  version: number;
  aliases: readonly { alias: string; version: number }[];
  versions: readonly number[];
}) {
  const router = useRouter();
  const here = aliases.filter((a) => a.version === version);
  const firstAlias = (here[0] ?? aliases[0])?.alias ?? '';
  const [name, setName] = useState(() =>
    suggestDeploymentName(modelName, firstAlias || `v${version}`),
  );
  const [target, setTarget] = useState<string>('local');
  const [follow, setFollow] = useState<'alias' | 'version'>(firstAlias ? 'alias' : 'version');
  const [alias, setAlias] = useState(firstAlias);
  const [configText, setConfigText] = useState('');
  const [withCandidate, setWithCandidate] = useState(false);
  const [candidateName, setCandidateName] = useState('candidate');
  const candidateChoices = [
    ...aliases.map((a) => ({
      uri: modelUri(modelName, { alias: a.alias }),
      label: `@${a.alias} (v${a.version})`,
    })),
    ...versions
      .filter((v) => v !== version)
      .map((v) => ({ uri: modelUri(modelName, { version: v }), label: `v${v}` })),
  ];
  const [chosenCandidate, setCandidateUri] = useState('');
  const [candidateWeight, setCandidateWeight] = useState('10');
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation<{ createDeployment: { id: string; name: string } }>();

  const primaryUri =
    follow === 'alias' && alias ? modelUri(modelName, { alias }) : modelUri(modelName, { version });
  // The candidate serves something else than the primary; the first other choice by default.
  const choices = candidateChoices.filter((c) => c.uri !== primaryUri);
  const candidateUri = choices.some((c) => c.uri === chosenCandidate)
    ? chosenCandidate
    : (choices[0]?.uri ?? '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const weight = candidateWeight.trim() === '' ? NaN : Number(candidateWeight);
    const built = deployInput({
      name,
      target,
      primaryUri,
      configText,
      candidate: withCandidate ? { name: candidateName, uri: candidateUri, weight } : null,
    });
    if ('error' in built) {
      create.setError(null);
      setProblem(built.error);
      return;
    }
    setProblem(null);
    const data = await create.run(CREATE_DEPLOYMENT, { input: built.input });
    if (data) router.push(deploymentHref(data.createDeployment.name));
  };

  return (
    <form
      id={id}
      className="deployment-form"
      aria-label={`Deploy ${modelName} v${version}`}
      onSubmit={(e) => void submit(e)}
    >
      <label className="field">
        <span>Deployment name</span>
        <input
          type="text"
          value={name}
          maxLength={63}
          spellCheck={false}
          onChange={(e) => setName(e.target.value)}
          aria-invalid={problem || create.error ? true : undefined}
        />
      </label>
      <label className="field">
        <span>Target</span>
        <select value={target} onChange={(e) => setTarget(e.target.value)}>
          {TARGETS.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Serves</legend>
        <label className="field">
          <input
            type="radio"
            name={`${id}-follow`}
            checked={follow === 'alias'}
            disabled={aliases.length === 0}
            onChange={() => setFollow('alias')}
          />
          <span>Follow alias</span>
        </label>
        <label className="field">
          <span className="visually-hidden">Alias to follow</span>
          <select
            value={alias}
            disabled={follow !== 'alias' || aliases.length === 0}
            onChange={(e) => setAlias(e.target.value)}
          >
            {aliases.length === 0 && <option value="">no aliases</option>}
            {aliases.map((a) => (
              <option key={a.alias} value={a.alias}>
                @{a.alias} (now v{a.version})
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <input
            type="radio"
            name={`${id}-follow`}
            checked={follow === 'version'}
            onChange={() => setFollow('version')}
          />
          <span>This version (v{version})</span>
        </label>
        <span className="muted mono" data-testid="deploy-uri">
          {primaryUri}
        </span>
      </fieldset>
      <fieldset>
        <legend>A/B</legend>
        <label className="field">
          <input
            type="checkbox"
            checked={withCandidate}
            disabled={choices.length === 0}
            onChange={(e) => setWithCandidate(e.target.checked)}
          />
          <span>Add a candidate variant</span>
        </label>
        {withCandidate && (
          <>
            <label className="field">
              <span>Candidate name</span>
              <input
                type="text"
                value={candidateName}
                maxLength={32}
                style={{ width: 120 }}
                onChange={(e) => setCandidateName(e.target.value)}
              />
            </label>
            <label className="field">
              <span>Candidate serves</span>
              <select value={candidateUri} onChange={(e) => setCandidateUri(e.target.value)}>
                {choices.map((c) => (
                  <option key={c.uri} value={c.uri}>
                    {c.label}
                  </option>
                ))}
              </select>
            </label>
            <label className="field">
              <span>Candidate weight</span>
              <input
                type="number"
                min={0}
                max={100}
                step={1}
                style={{ width: 72 }}
                value={candidateWeight}
                onChange={(e) => setCandidateWeight(e.target.value)}
              />
              <span aria-hidden="true">%</span>
            </label>
          </>
        )}
      </fieldset>
      <label>
        <span>Config (JSON, optional; checked by the target)</span>
        <textarea
          rows={3}
          value={configText}
          placeholder={target === 'kubernetes' ? '{"replicas": 2}' : '{"workers": 2}'}
          spellCheck={false}
          onChange={(e) => setConfigText(e.target.value)}
        />
      </label>
      <div className="toolbar">
        <button type="submit" className="primary" disabled={create.busy}>
          Deploy
        </button>
      </div>
      {problem && (
        <ErrorMessage
          error={{ message: problem, code: null, position: null, argument: null, network: false }}
        />
      )}
      {create.error && <TypedError error={create.error} />}
    </form>
  );
}
