import { describe, expect, it } from 'vitest';
import {
  ancestorsOf,
  decodeText,
  formatBytes,
  looksBinary,
  parentPath,
  parseDelimited,
  prettyJson,
  previewKind,
} from '../lib/artifacts.ts';
import { chartMaxPoints, chartPlotWidth } from '../lib/chart-size.ts';
import type { ModelHistoryEntry } from '../lib/graphql/registry-documents.ts';
import { describeHistory, filterLiteral, rollbackTarget } from '../lib/registry.ts';
import {
  addRecent,
  parseRecent,
  resolveWorkspace,
  withWorkspaceParam,
  workspaceHeaders,
} from '../lib/workspace.ts';

describe('resolveWorkspace', () => {
  it('is the default workspace without ?ws= or a stored one', () => {
    expect(resolveWorkspace({ queryParam: null, stored: null })).toEqual({
      workspace: 'default',
    });
  });
  it('takes ?ws= first and remembers it', () => {
    expect(resolveWorkspace({ queryParam: 'team-a', stored: 'team-b' })).toEqual({
      workspace: 'team-a',
      remember: 'team-a',
    });
  });
  it('uses the stored one when the URL has none', () => {
    expect(resolveWorkspace({ queryParam: null, stored: 'team-b' })).toEqual({
      workspace: 'team-b',
    });
  });
  it('?ws=default forgets the stored one', () => {
    expect(resolveWorkspace({ queryParam: 'default', stored: 'team-b' })).toEqual({
      workspace: 'default',
      remember: null,
    });
  });
  it('ignores an invalid ?ws= (the server would reject it) and says so', () => {
    expect(resolveWorkspace({ queryParam: '../etc', stored: 'team-b' })).toEqual({
      workspace: 'team-b',
      invalid: '../etc',
    });
    expect(resolveWorkspace({ queryParam: null, stored: 'bad space' }).workspace).toBe('default');
  });
  it('sends the header only for a non-default workspace', () => {
    expect(workspaceHeaders('default')).toEqual({});
    expect(workspaceHeaders('team-a')).toEqual({ 'x-cairn-workspace': 'team-a' });
  });
  it('writes ws into a query string, keeping the rest', () => {
    expect(withWorkspaceParam('id=1&x=step', 'team-a')).toBe('id=1&x=step&ws=team-a');
    expect(withWorkspaceParam('id=1&ws=team-a', 'default')).toBe('id=1');
  });
  it('keeps a short list of recent workspaces, newest first, without junk', () => {
    expect(addRecent(['a', 'b', 'c'], 'b')).toEqual(['b', 'a', 'c']);
    expect(parseRecent('["a","bad space",3,"b"]')).toEqual(['a', 'b']);
    expect(parseRecent('not json')).toEqual([]);
  });
});

describe('chartMaxPoints', () => {
  it('asks for about two points per plot pixel', () => {
    // 1,360 px of content: three 440 px+ columns of ~445 px cards, minus padding and axis.
    expect(chartPlotWidth(1360)).toBe(365);
    expect(chartMaxPoints(1360)).toBe(730);
  });
  it('stays within bounds on tiny and huge screens', () => {
    expect(chartMaxPoints(100)).toBeGreaterThanOrEqual(200);
    expect(chartMaxPoints(100_000)).toBeLessThanOrEqual(5000);
  });
});

describe('artifact previews', () => {
  it('picks a preview by file name', () => {
    expect(previewKind('metrics.json')).toBe('json');
    expect(previewKind('plots/confusion.PNG')).toBe('image');
    expect(previewKind('data/sample.tsv')).toBe('table');
    expect(previewKind('train.log')).toBe('text');
    expect(previewKind('MLmodel')).toBe('text');
    expect(previewKind('requirements.txt')).toBe('text');
    expect(previewKind('model.pkl')).toBe('binary');
    expect(previewKind('weights')).toBe('unknown');
  });
  it('tells binary from text by the first bytes', () => {
    expect(looksBinary(new TextEncoder().encode('hello\nworld\t1'))).toBe(false);
    expect(looksBinary(new Uint8Array([0x80, 0x04, 0x95, 0x00, 0x01]))).toBe(true);
  });
  it('drops a character cut in half at the end of a truncated prefix', () => {
    const bytes = new TextEncoder().encode('ab€'); // € is 3 bytes
    expect(decodeText(bytes.subarray(0, 4), true)).toBe('ab');
    expect(decodeText(bytes, true)).toBe('ab€');
    expect(decodeText(bytes, false)).toBe('ab€');
  });
  it('reads CSV with quotes, escaped quotes and newlines inside quotes', () => {
    const t = parseDelimited('a,b,c\n1,"x, y",3\r\n2,"say ""hi""","multi\nline"\n', ',');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows).toEqual([
      ['1', 'x, y', '3'],
      ['2', 'say "hi"', 'multi\nline'],
    ]);
    expect(t.more).toBe(false);
  });
  it('reads TSV, stops at the row limit and says there is more', () => {
    const text = ['k\tv', ...Array.from({ length: 50 }, (_, i) => `${i}\t${i * 2}`)].join('\n');
    const t = parseDelimited(text, '\t', 10);
    expect(t.rows.length).toBe(10);
    expect(t.rows[9]).toEqual(['9', '18']);
    expect(t.more).toBe(true);
  });
  it('drops the partial last row of a truncated file', () => {
    const t = parseDelimited('a,b\n1,2\n3,4\n5,', ',', 1000, true);
    expect(t.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(t.more).toBe(true);
    // Not truncated: the last row without a newline is a row.
    expect(parseDelimited('a,b\n1,2', ',').rows).toEqual([['1', '2']]);
  });
  it('formats sizes and paths', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatBytes(null)).toBe('—');
    expect(parentPath('a/b/c.txt')).toBe('a/b');
    expect(parentPath('c.txt')).toBe('');
    expect(ancestorsOf('a/b/c.txt')).toEqual(['a', 'a/b']);
  });
  it('pretty-prints JSON, or says it does not parse', () => {
    expect(prettyJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}');
    expect(prettyJson('{"a":')).toBeNull();
  });
});

describe('registry helpers', () => {
  const entry = (over: Partial<ModelHistoryEntry>): ModelHistoryEntry => ({
    at: 0,
    actor: 'ana',
    kind: 'ALIAS_SET',
    version: null,
    fromStage: null,
    toStage: null,
    alias: null,
    previousVersion: null,
    ...over,
  });
  const existing = new Set([1, 2, 3]);
  it('rolls an alias back to the version its last move came from', () => {
    const history = [
      entry({ alias: 'champion', version: 3, previousVersion: 2 }),
      entry({ alias: 'shadow', version: 1 }),
      entry({ alias: 'champion', version: 2, previousVersion: 1 }),
    ];
    expect(rollbackTarget(history, 'champion', 3, existing)).toBe(2);
    // Set for the first time: nothing to roll back to.
    expect(rollbackTarget(history, 'shadow', 1, existing)).toBeNull();
  });
  it('offers no rollback to a deleted version or to the current one', () => {
    expect(
      rollbackTarget(
        [entry({ alias: 'champion', version: 3, previousVersion: 4 })],
        'champion',
        3,
        existing,
      ),
    ).toBeNull();
    expect(
      rollbackTarget(
        [entry({ alias: 'champion', version: 3, previousVersion: 3 })],
        'champion',
        3,
        existing,
      ),
    ).toBeNull();
  });
  it('describes history lines', () => {
    expect(describeHistory(entry({ alias: 'champion', version: 2, previousVersion: 3 }))).toBe(
      'Alias champion moved from v3 to v2',
    );
    expect(describeHistory(entry({ alias: 'champion', version: 1 }))).toBe(
      'Alias champion set to v1',
    );
    expect(
      describeHistory(
        entry({
          kind: 'STAGE_TRANSITIONED',
          version: 2,
          fromStage: 'STAGING',
          toStage: 'PRODUCTION',
        }),
      ),
    ).toBe('v2: Staging → Production');
    expect(describeHistory(entry({ kind: 'VERSION_CREATED', version: 4 }))).toBe(
      'Version 4 created',
    );
  });
  it('quotes filter literals', () => {
    expect(filterLiteral("it's")).toBe("'it''s'");
  });
});
