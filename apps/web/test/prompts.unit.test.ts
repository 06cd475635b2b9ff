/**
 * Pure helpers of the prompt pages: the editor's variable preview (the server's rule), drafts to
 * createPromptVersion variables, JSON-object fields, and the side-by-side layout of a line diff.
 */
import { describe, expect, it } from 'vitest';
import { sideBySide } from '../features/prompts/prompt-diff-rows.ts';
import {
  draftFrom,
  draftVariables,
  extractVariables,
  parseJsonObject,
  promptHref,
  versionInput,
} from '../features/prompts/prompt-editing.ts';
import type { PromptVersion } from '../features/prompts/prompts.documents.ts';

const aVersion = (overrides: Partial<PromptVersion> = {}): PromptVersion => ({
  id: 'p/1',
  name: 'summarise',
  version: 1,
  uri: 'prompts:/summarise/1',
  templateType: 'TEXT',
  template: 'Summarise {{text}}',
  messages: null,
  variables: ['text'],
  responseFormat: null,
  modelConfig: null,
  commitMessage: null,
  author: null,
  createdAt: 0,
  tags: [],
  aliases: [],
  ...overrides,
});

describe('extractVariables', () => {
  it('finds distinct {{name}} placeholders in order of first appearance, spaces allowed', () => {
    expect(
      extractVariables(['Hi {{ name }}, {{question}}; again {{name}} and {{user.id}}']),
    ).toEqual(['name', 'question', 'user.id']);
  });
  it('ignores single braces and names that are not a letter or _ then letters, digits, _ or .', () => {
    expect(extractVariables(['{name} {{1x}} {{a-b}} {{_ok}} {{ }} {{x y}}'])).toEqual(['_ok']);
  });
  it('reads every message of a chat template', () => {
    expect(extractVariables(['You are {{role}}.', 'Answer {{q}} as {{role}}'])).toEqual([
      'role',
      'q',
    ]);
  });
});

describe('drafts', () => {
  it('starts from a copy of a text version with its JSON pretty-printed and no commit message', () => {
    const d = draftFrom(
      aVersion({ modelConfig: { temperature: 0.2 }, commitMessage: 'old', responseFormat: null }),
    );
    expect(d).toMatchObject({ type: 'TEXT', text: 'Summarise {{text}}', commitMessage: '' });
    expect(d.modelConfig).toBe('{\n  "temperature": 0.2\n}');
    expect(d.responseFormat).toBe('');
  });
  it('starts from a chat version with its messages copied', () => {
    const messages = [
      { role: 'system', content: 'Be {{tone}}' },
      { role: 'user', content: '{{q}}' },
    ];
    const d = draftFrom(aVersion({ templateType: 'CHAT', template: null, messages }));
    expect(d.type).toBe('CHAT');
    expect(d.messages).toEqual(messages);
    expect(d.messages[0]).not.toBe(messages[0]);
    expect(draftVariables(d)).toEqual(['tone', 'q']);
  });
  it('an empty draft when the prompt has no version yet', () => {
    expect(draftFrom(null)).toMatchObject({ type: 'TEXT', text: '', modelConfig: '' });
  });
  it('builds createPromptVersion variables: exactly one of template and messages', () => {
    const text = versionInput('p', {
      ...draftFrom(aVersion()),
      modelConfig: '{"model":"gpt-4o-mini"}',
      commitMessage: '  why  ',
    });
    expect(text).toEqual({
      ok: true,
      variables: {
        name: 'p',
        template: 'Summarise {{text}}',
        messages: null,
        modelConfig: { model: 'gpt-4o-mini' },
        responseFormat: null,
        commitMessage: 'why',
      },
    });
    const chat = versionInput('p', {
      ...draftFrom(null),
      type: 'CHAT',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(chat.ok && chat.variables).toMatchObject({
      template: null,
      messages: [{ role: 'user', content: 'x' }],
      commitMessage: null,
    });
  });
  it('refuses bad JSON and non-objects before anything is sent, naming the field', () => {
    expect(versionInput('p', { ...draftFrom(null), responseFormat: '[1]' })).toEqual({
      ok: false,
      error: 'Response format must be a JSON object ({ … })',
    });
    const bad = parseJsonObject('Model configuration', '{ "a": ');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.error).toMatch(/^Model configuration is not valid JSON: /u);
    expect(parseJsonObject('x', '  ')).toEqual({ ok: true, value: null });
    expect(parseJsonObject('x', 'null')).toEqual({
      ok: false,
      error: 'x must be a JSON object ({ … })',
    });
  });
  it('links to a prompt page with the name in the query string', () => {
    expect(promptHref('my prompt', { v: '3' })).toBe('/prompts/view?name=my+prompt&v=3');
  });
});

describe('sideBySide', () => {
  it('pairs each run of removed lines with the added lines after it; equal lines on both sides', () => {
    const rows = sideBySide([
      { op: 'EQUAL', text: 'a', fromLine: 1, toLine: 1 },
      { op: 'REMOVED', text: 'b', fromLine: 2, toLine: null },
      { op: 'ADDED', text: 'B', fromLine: null, toLine: 2 },
      { op: 'ADDED', text: 'B2', fromLine: null, toLine: 3 },
      { op: 'EQUAL', text: 'c', fromLine: 3, toLine: 4 },
      { op: 'REMOVED', text: 'd', fromLine: 4, toLine: null },
    ]);
    expect(
      rows.map((r) => [
        r.left?.text ?? null,
        r.left?.line ?? null,
        r.right?.text ?? null,
        r.right?.line ?? null,
      ]),
    ).toEqual([
      ['a', 1, 'a', 1],
      ['b', 2, 'B', 2],
      [null, null, 'B2', 3],
      ['c', 3, 'c', 4],
      ['d', 4, null, null],
    ]);
    expect(rows[1]!.left!.op).toBe('REMOVED');
    expect(rows[1]!.right!.op).toBe('ADDED');
  });
  it('is empty for an empty diff', () => {
    expect(sideBySide([])).toEqual([]);
  });
});
