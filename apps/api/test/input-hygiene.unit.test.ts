import { describe, expect, it } from 'vitest';
import { CairnError } from '../src/errors.ts';
import {
  assertCleanStrings,
  checkFilterInteger,
  checkText,
  MAX_STORED_STRING,
  textProblem,
} from '../src/input-hygiene.ts';
import { validateSource } from '../src/registry/registered-model.decider.ts';

function caught(fn: () => unknown): CairnError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error;
    throw error;
  }
  throw new Error('expected a CairnError');
}

describe('input hygiene', () => {
  it('finds NUL and lone surrogates, keeps valid text (U+FFFD and pairs included)', () => {
    expect(textProblem('a\u0000b')).toMatch(/NUL/u);
    expect(textProblem('a\ud800')).toMatch(/lone surrogate/u);
    expect(textProblem('\udc00a')).toMatch(/lone surrogate/u);
    expect(textProblem('\udc00\ud800')).toMatch(/lone surrogate/u);
    expect(textProblem('emoji 😀, tab\tnewline\n, \ufffd, ü')).toBeNull();
  });

  it('checkText names the field and the limit', () => {
    const nul = caught(() => checkText('artifactLocation', 'x\u0000'));
    expect(nul.code).toBe('INVALID_ARGUMENT');
    expect(nul.details).toEqual({ field: 'artifactLocation' });
    const long = caught(() => checkText('source.gitCommit', 'x'.repeat(4097), 4096));
    expect(long.message).toBe('source.gitCommit is longer than 4096 characters (4097)');
    expect(long.details).toMatchObject({ field: 'source.gitCommit', maxLength: 4096 });
    expect(checkText('f', 'x'.repeat(4096), 4096)).toHaveLength(4096);
  });

  it('assertCleanStrings walks objects and arrays, keys too, naming the path', () => {
    expect(
      caught(() => assertCleanStrings({ input: { tags: [{ key: 'k', value: 'v\u0000' }] } }, ''))
        .details,
    ).toEqual({ field: 'input.tags[0].value' });
    expect(caught(() => assertCleanStrings({ ['a\ud800']: 1 }, 'params')).details).toEqual({
      field: 'params.a\ud800 (key)',
    });
    expect(
      caught(() => assertCleanStrings({ s: 'x'.repeat(MAX_STORED_STRING + 1) }, '')).details,
    ).toMatchObject({ field: 's', maxLength: MAX_STORED_STRING });
    // Lookups only: no length cap.
    expect(() =>
      assertCleanStrings({ s: 'x'.repeat(MAX_STORED_STRING + 1) }, '', null),
    ).not.toThrow();
    expect(() => assertCleanStrings({ n: 1, b: true, z: null, a: [1, 'ok'] }, '')).not.toThrow();
  });

  it('range-checks integers in filters', () => {
    expect(() => checkFilterInteger(2147483647, 'int4', 'version', 0)).not.toThrow();
    const big = caught(() => checkFilterInteger(2147483648, 'int4', 'version', 3));
    expect(big.code).toBe('INVALID_ARGUMENT');
    expect(big.message).toMatch(/position 3: version compares with integers/u);
    expect(() => checkFilterInteger(1.5, 'int4', 'version', 0)).toThrow(CairnError);
    expect(() => checkFilterInteger(1e300, 'int8', 'start_time', 0)).toThrow(CairnError);
    expect(() => checkFilterInteger('text', 'int4', 'version', 0)).not.toThrow();
  });

  it('a runs:/ model source is held to the artifact path rules', () => {
    const run = 'runs:/0123456789abcdef0123456789abcdef';
    expect(validateSource(`${run}/model`)).toBe(`${run}/model`);
    expect(validateSource(run)).toBe(run);
    for (const bad of [
      `${run}/../../etc/passwd`,
      `${run}/model/../../x`,
      `${run}//etc/passwd`,
      `${run}/a\\..\\b`,
      `${run}/%2e%2e/x`,
    ]) {
      const error = caught(() => validateSource(bad));
      expect(error.code, bad).toBe('INVALID_ARGUMENT');
      expect(error.details, bad).toEqual({ field: 'source' });
    }
  });
});
