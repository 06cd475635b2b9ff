import type { PromptTemplate } from '@cairn/events';
import { invalidArgument } from '../errors.ts';

/** Prompt limits (docs/prompts.md, "Concepts"). */
export const PROMPT_LIMITS = {
  name: 256,
  description: 10_000,
  alias: 255,
  tags: 100,
  /** Characters of a text template or of one message's content. */
  text: 65_536,
  /** Characters of a whole template (all messages together). */
  templateTotal: 262_144,
  messages: 100,
  role: 64,
  /** Bytes of the JSON of modelConfig, and of responseFormat. */
  json: 65_536,
  jsonDepth: 32,
  commitMessage: 2_000,
} as const;

const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/gu;
const ROLE = /^[A-Za-z0-9_-]+$/u;

/** The distinct `{{name}}` placeholders of the strings, in order of first appearance. */
export function extractVariables(texts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const text of texts) for (const m of text.matchAll(VARIABLE)) seen.add(m[1]!);
  return [...seen];
}

export function templateTexts(template: PromptTemplate): string[] {
  return template.type === 'text' ? [template.text] : template.messages.map((m) => m.content);
}

/**
 * The template of a createPromptVersion call: exactly one of `text` and `messages`, within the
 * limits. Returns the validated template (messages copied, roles as given).
 */
export function validateTemplate(
  text: string | null,
  messages: readonly { role: string; content: string }[] | null,
): PromptTemplate {
  if ((text === null) === (messages === null))
    throw invalidArgument('Give exactly one of "template" (text) and "messages" (chat)', {
      field: 'template',
    });
  if (text !== null) {
    if (text.length === 0)
      throw invalidArgument('template must not be empty', { field: 'template' });
    if (text.length > PROMPT_LIMITS.text)
      throw invalidArgument(`template is longer than ${PROMPT_LIMITS.text} characters`, {
        field: 'template',
      });
    return { type: 'text', text };
  }
  const list = messages!;
  if (list.length === 0)
    throw invalidArgument('messages must hold at least one message', { field: 'messages' });
  if (list.length > PROMPT_LIMITS.messages)
    throw invalidArgument(`At most ${PROMPT_LIMITS.messages} messages`, { field: 'messages' });
  let total = 0;
  const out = list.map((m, i) => {
    if (m.role.length === 0 || m.role.length > PROMPT_LIMITS.role || !ROLE.test(m.role))
      throw invalidArgument(
        `messages[${i}].role "${m.role.slice(0, 80)}" is invalid: 1 to ${PROMPT_LIMITS.role} letters, digits, "_" or "-"`,
        { field: `messages[${i}].role` },
      );
    if (m.content.length > PROMPT_LIMITS.text)
      throw invalidArgument(
        `messages[${i}].content is longer than ${PROMPT_LIMITS.text} characters`,
        { field: `messages[${i}].content` },
      );
    total += m.content.length;
    return { role: m.role, content: m.content };
  });
  if (total > PROMPT_LIMITS.templateTotal)
    throw invalidArgument(`The messages hold more than ${PROMPT_LIMITS.templateTotal} characters`, {
      field: 'messages',
    });
  return { type: 'chat', messages: out };
}

function depthOf(value: unknown, depth = 0): number {
  if (value === null || typeof value !== 'object') return depth;
  let max = depth + 1;
  for (const child of Object.values(value)) {
    max = Math.max(max, depthOf(child, depth + 1));
    if (max > PROMPT_LIMITS.jsonDepth) return max;
  }
  return max;
}

/** A JSON object argument (modelConfig, responseFormat): an object, bounded in size and depth. */
export function validateJsonObject(
  field: 'modelConfig' | 'responseFormat',
  value: unknown,
): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value))
    throw invalidArgument(`${field} must be a JSON object`, { field });
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    throw invalidArgument(`${field} must be plain JSON`, { field });
  }
  if (Buffer.byteLength(text) > PROMPT_LIMITS.json)
    throw invalidArgument(`${field} is larger than ${PROMPT_LIMITS.json} bytes of JSON`, { field });
  if (depthOf(value) > PROMPT_LIMITS.jsonDepth)
    throw invalidArgument(`${field} is nested deeper than ${PROMPT_LIMITS.jsonDepth} levels`, {
      field,
    });
  return JSON.parse(text) as Record<string, unknown>;
}
