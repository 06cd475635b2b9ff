/** Prompt URIs, template variables and PromptVersion.format without a server. */
import { describe, expect, it } from 'vitest';
import {
  PromptError,
  PromptFormatError,
  PromptVersion,
  parsePromptUri,
  promptUri,
  templateVariables,
  type PromptVersionData,
} from '../src/index.ts';

function aVersion(overrides: Partial<PromptVersionData> = {}): PromptVersion {
  const template = overrides.template ?? 'Hello {{ name }}, {{greeting}}!';
  return new PromptVersion({
    name: 'greet',
    version: 3,
    templateType: 'TEXT',
    template,
    messages: null,
    variables: templateVariables(template),
    responseFormat: null,
    modelConfig: null,
    commitMessage: null,
    author: null,
    createdAt: 0,
    tags: [],
    aliases: [],
    ...overrides,
  });
}

function reasonOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error instanceof PromptError ? error.details.reason : error;
  }
  return 'no error';
}

describe('parsePromptUri', () => {
  it('reads versions, aliases, latest and plain names', () => {
    expect(parsePromptUri('prompts:/summarise/3')).toEqual({ name: 'summarise', version: 3 });
    expect(parsePromptUri('prompts:/summarise@production')).toEqual({
      name: 'summarise',
      alias: 'production',
    });
    expect(parsePromptUri('prompts:/summarise/latest')).toEqual({
      name: 'summarise',
      alias: 'latest',
    });
    expect(parsePromptUri('my prompt')).toEqual({ name: 'my prompt', alias: 'latest' });
    expect(parsePromptUri('my prompt', 4)).toEqual({ name: 'my prompt', version: 4 });
    expect(promptUri({ name: 'a', version: 2 })).toBe('prompts:/a/2');
    expect(promptUri({ name: 'a', alias: 'prod' })).toBe('prompts:/a@prod');
  });

  it('names the reason of a bad URI', () => {
    expect(reasonOf(() => parsePromptUri('prompts:/summarise'))).toBe('SHAPE');
    expect(reasonOf(() => parsePromptUri('prompts:/summarise/0'))).toBe('VERSION');
    expect(reasonOf(() => parsePromptUri('prompts:/summarise/x'))).toBe('VERSION');
    expect(reasonOf(() => parsePromptUri('prompts:/summarise@'))).toBe('ALIAS');
    expect(reasonOf(() => parsePromptUri('prompts:/a/b/1'))).toBe('NAME');
    expect(reasonOf(() => parsePromptUri('models:/m/1'))).toBe('SCHEME');
    expect(reasonOf(() => parsePromptUri(''))).toBe('NAME');
    expect(reasonOf(() => parsePromptUri('a', 1.5))).toBe('VERSION');
  });
});

describe('PromptVersion', () => {
  it('extracts variables in order of first appearance', () => {
    expect(templateVariables('{{ b }} {{a}} {{b}} {{ x.y }} {no} {{ 1bad }}')).toEqual([
      'b',
      'a',
      'x.y',
    ]);
  });

  it('formats text, names every missing variable, and allows partial formatting', () => {
    const prompt = aVersion();
    expect(prompt.uri).toBe('prompts:/greet/3');
    expect(prompt.format({ name: 7, greeting: '{{name}}' })).toBe('Hello 7, {{name}}!');
    let caught: unknown;
    try {
      prompt.format({});
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PromptFormatError);
    expect((caught as PromptFormatError).missing).toEqual(['name', 'greeting']);
    expect((caught as PromptFormatError).code).toBe('INVALID_ARGUMENT');
    expect(prompt.format({ name: 'Ada' }, { allowPartial: true })).toBe('Hello Ada, {{greeting}}!');
    expect(prompt.toSingleBraceFormat()).toBe('Hello {name}, {greeting}!');
    expect(() => prompt.formatMessages({ name: 'a', greeting: 'b' })).toThrow(PromptError);
  });

  it('formats chat messages without touching the template', () => {
    const messages = [
      { role: 'system', content: 'You are {{ tone }}.' },
      { role: 'user', content: '{{q}}' },
    ];
    const prompt = aVersion({
      templateType: 'CHAT',
      template: null,
      messages,
      variables: ['tone', 'q'],
    });
    expect(prompt.formatMessages({ tone: 'terse', q: 'Why?' })).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Why?' },
    ]);
    expect(prompt.template).toEqual(messages);
    expect(prompt.toSingleBraceFormat()).toEqual([
      { role: 'system', content: 'You are {tone}.' },
      { role: 'user', content: '{q}' },
    ]);
  });
});
