/**
 * Pure helpers of the prompt pages: the `{{variable}}` preview (the server's rule, docs/prompts.md
 * "Concepts"), the editor's draft ↔ createPromptVersion variables, links. No React, no I/O.
 */
import type { PromptMessage, PromptTemplateType, PromptVersion } from './prompts.documents.ts';

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/gu;

/** The distinct `{{name}}` placeholders of the texts, in order of first appearance. */
export function extractVariables(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(VARIABLE)) seen.add(m[1]!);
  return [...seen];
}

export interface PromptDraft {
  type: PromptTemplateType;
  text: string;
  messages: PromptMessage[];
  /** JSON object text, or blank for none. */
  modelConfig: string;
  responseFormat: string;
  commitMessage: string;
}

const pretty = (value: unknown) =>
  value === null || value === undefined ? '' : JSON.stringify(value, null, 2);

/** The editor's starting point: a copy of `from` (the newest version), or an empty text template. */
export function draftFrom(from: PromptVersion | null): PromptDraft {
  if (!from)
    return {
      type: 'TEXT',
      text: '',
      messages: [{ role: 'user', content: '' }],
      modelConfig: '',
      responseFormat: '',
      commitMessage: '',
    };
  const messages = from.messages?.map((m) => ({ ...m })) ?? [];
  return {
    type: from.templateType,
    text: from.template ?? messagesAsText(messages),
    messages: messages.length > 0 ? messages : [{ role: 'user', content: from.template ?? '' }],
    modelConfig: pretty(from.modelConfig),
    responseFormat: pretty(from.responseFormat),
    commitMessage: '',
  };
}

function messagesAsText(messages: readonly PromptMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}

/** The variables the draft's template holds (what the server will compute). */
export function draftVariables(draft: PromptDraft): string[] {
  return extractVariables(
    draft.type === 'TEXT' ? [draft.text] : draft.messages.map((m) => m.content),
  );
}

/** A JSON-object field of the editor: blank → null; else a parsed object, or an error naming it. */
export function parseJsonObject(
  label: string,
  text: string,
): { ok: true; value: Record<string, unknown> | null } | { ok: false; error: string } {
  if (text.trim() === '') return { ok: true, value: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: `${label} is not valid JSON: ${(e as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, error: `${label} must be a JSON object ({ … })` };
  return { ok: true, value: value as Record<string, unknown> };
}

/** createPromptVersion's variables from a draft, or the first local error (bad JSON). */
export function versionInput(
  name: string,
  draft: PromptDraft,
): { ok: true; variables: Record<string, unknown> } | { ok: false; error: string } {
  const modelConfig = parseJsonObject('Model configuration', draft.modelConfig);
  if (!modelConfig.ok) return modelConfig;
  const responseFormat = parseJsonObject('Response format', draft.responseFormat);
  if (!responseFormat.ok) return responseFormat;
  return {
    ok: true,
    variables: {
      name,
      template: draft.type === 'TEXT' ? draft.text : null,
      messages:
        draft.type === 'CHAT'
          ? draft.messages.map((m) => ({ role: m.role, content: m.content }))
          : null,
      modelConfig: modelConfig.value,
      responseFormat: responseFormat.value,
      commitMessage: draft.commitMessage.trim() || null,
    },
  };
}

export function promptHref(name: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams({ name, ...params });
  return `/prompts/view?${q.toString()}`;
}

export function traceHref(id: string): string {
  return `/trace?id=${encodeURIComponent(id)}`;
}

/** A JSON value as one short line (diff cells). */
export function jsonInline(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  return JSON.stringify(value);
}
