import { describe, expect, it } from 'vitest';
import { runScorer, type ScoringInput } from '../src/evaluation/scorers/scorers.ts';
import {
  ScorerSpecError,
  validateScorerSpecs,
  type ScorerSpec,
} from '../src/evaluation/scorers/scorer-spec.ts';
import { parseJudgeContent, retryAfterMs } from '../src/evaluation/scorers/judge-client.ts';

const aTrace = (overrides: Partial<ScoringInput> = {}): ScoringInput => ({
  traceId: 'tr-1',
  inputs: { question: 'What is 2+2?' },
  outputs: 'The answer is 4',
  expectations: {},
  durationMs: 1200,
  totalTokens: 300,
  ...overrides,
});

function spec(type: string, config: Record<string, unknown> = {}, name = type): ScorerSpec {
  return validateScorerSpecs([{ name, type, config }])[0]!;
}

function specError(specs: { name: string; type: string; config?: unknown }[]): ScorerSpecError {
  try {
    validateScorerSpecs(specs);
  } catch (error) {
    expect(error).toBeInstanceOf(ScorerSpecError);
    return error as ScorerSpecError;
  }
  throw new Error('expected a ScorerSpecError');
}

describe('scorer specs', () => {
  it('fills defaults and keeps the config that will be stored', () => {
    expect(spec('exact_match')).toEqual({
      name: 'exact_match',
      type: 'exact_match',
      config: { expectation: 'expected_response', caseSensitive: true },
    });
    expect(spec('correctness').config).toEqual({ model: 'openai:/gpt-4o-mini' });
    expect(spec('guidelines', { guidelines: ' Be polite ' }).config).toEqual({
      model: 'openai:/gpt-4o-mini',
      guidelines: ['Be polite'],
    });
  });

  it('rejects unknown types, bad regexes, bad configs and duplicate names with typed reasons', () => {
    const unknown = specError([{ name: 'x', type: 'bleu' }]);
    expect(unknown.reason).toBe('UNKNOWN_TYPE');
    expect(unknown.code).toBe('INVALID_ARGUMENT');
    expect(unknown.details).toMatchObject({ scorer: 'x', field: 'type', reason: 'UNKNOWN_TYPE' });
    expect(specError([{ name: 'r', type: 'regex', config: { pattern: '(' } }]).reason).toBe(
      'BAD_REGEX',
    );
    expect(
      specError([{ name: 'r', type: 'regex', config: { pattern: 'a', flags: 'g' } }]).reason,
    ).toBe('BAD_REGEX');
    const budget = specError([{ name: 'l', type: 'latency_budget', config: { maxMs: -1 } }]);
    expect(budget.reason).toBe('BAD_CONFIG');
    expect(budget.details.field).toBe('maxMs');
    expect(
      specError([{ name: 'c', type: 'contains', config: { value: 'a', extra: 1 } }]).details.field,
    ).toBe('extra');
    expect(
      specError([{ name: 'j', type: 'llm_judge', config: { instructions: 'no vars' } }]).reason,
    ).toBe('BAD_CONFIG');
    expect(
      specError([{ name: 'j', type: 'llm_judge', config: { instructions: '{{ nope }}' } }]).message,
    ).toContain('{{ nope }}');
    expect(
      specError([{ name: 'm', type: 'safety', config: { model: 'gpt-4' } }]).details.field,
    ).toBe('model');
    expect(specError([{ name: 'g', type: 'guidelines', config: { guidelines: [] } }]).reason).toBe(
      'BAD_CONFIG',
    );
    expect(specError([{ name: 'a', type: 'safety', config: [] }]).details.field).toBe('config');
    expect(
      specError([
        { name: 'a', type: 'safety' },
        { name: 'a', type: 'json_valid' },
      ]).reason,
    ).toBe('DUPLICATE_NAME');
    expect(specError([]).reason).toBe('BAD_CONFIG');
    expect(specError([{ name: '', type: 'safety' }]).reason).toBe('BAD_NAME');
  });
});

describe('deterministic scorers', () => {
  it('exact_match compares with the expectation (or a fixed value)', async () => {
    const s = spec('exact_match');
    const pass = await runScorer(
      s,
      aTrace({ expectations: { expected_response: 'The answer is 4' } }),
      null,
    );
    expect(pass).toMatchObject({ value: true, error: null, sourceType: 'CODE' });
    const fail = await runScorer(s, aTrace({ expectations: { expected_response: 'Four' } }), null);
    expect(fail.value).toBe(false);
    const missing = await runScorer(s, aTrace(), null);
    expect(missing).toMatchObject({
      value: null,
      error: 'the trace has no "expected_response" expectation',
    });
    const objects = spec('exact_match', { value: { b: 1, a: [1, 2] } });
    expect((await runScorer(objects, aTrace({ outputs: { a: [1, 2], b: 1 } }), null)).value).toBe(
      true,
    );
    const ci = spec('exact_match', { value: 'the ANSWER is 4', caseSensitive: false });
    expect((await runScorer(ci, aTrace(), null)).value).toBe(true);
  });

  it('contains, regex and json_valid read the output text', async () => {
    expect((await runScorer(spec('contains', { value: 'answer' }), aTrace(), null)).value).toBe(
      true,
    );
    expect((await runScorer(spec('contains', { value: 'ANSWER' }), aTrace(), null)).value).toBe(
      false,
    );
    expect(
      (await runScorer(spec('contains', { value: 'ANSWER', caseSensitive: false }), aTrace(), null))
        .value,
    ).toBe(true);
    expect((await runScorer(spec('regex', { pattern: '^The .* 4$' }), aTrace(), null)).value).toBe(
      true,
    );
    expect((await runScorer(spec('regex', { pattern: '^ok' }), aTrace(), null)).value).toBe(false);
    expect((await runScorer(spec('json_valid'), aTrace({ outputs: '{"a":1}' }), null)).value).toBe(
      true,
    );
    const bad = await runScorer(spec('json_valid'), aTrace({ outputs: '{"a":' }), null);
    expect(bad.value).toBe(false);
    expect(bad.rationale).toBeTruthy();
    expect((await runScorer(spec('json_valid'), aTrace({ outputs: { a: 1 } }), null)).value).toBe(
      true,
    );
  });

  it('latency_budget and token_budget use the trace duration and usage', async () => {
    const latency = spec('latency_budget', { maxMs: 1000 });
    expect((await runScorer(latency, aTrace({ durationMs: 999 }), null)).value).toBe(true);
    expect((await runScorer(latency, aTrace({ durationMs: 1001 }), null)).value).toBe(false);
    expect((await runScorer(latency, aTrace({ durationMs: null }), null)).error).toBe(
      'the trace has no duration',
    );
    const tokens = spec('token_budget', { maxTokens: 300 });
    expect((await runScorer(tokens, aTrace({ totalTokens: 300 }), null)).value).toBe(true);
    const over = await runScorer(tokens, aTrace({ totalTokens: 301 }), null);
    expect(over).toMatchObject({ value: false, metadata: { totalTokens: 301 } });
  });

  it('a judge scorer without a judge endpoint is an error result, not a throw', async () => {
    const result = await runScorer(spec('safety'), aTrace(), null);
    expect(result).toMatchObject({
      value: null,
      sourceType: 'LLM_JUDGE',
      error: 'no judge endpoint is configured',
    });
  });
});

describe('judge answers', () => {
  it('parses the JSON answer, fenced or not, and normalises yes/no', () => {
    expect(parseJudgeContent('{"result": "Yes", "rationale": "fine"}')).toEqual({
      result: 'yes',
      rationale: 'fine',
    });
    expect(parseJudgeContent('```json\n{"result": 0.5}\n```')).toEqual({
      result: 0.5,
      rationale: null,
    });
    expect(() => parseJudgeContent('maybe')).toThrow(/JSON object/);
    expect(() => parseJudgeContent('{"rationale": "x"}')).toThrow(/result/);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs('soon')).toBeNull();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
  });
});
