import { describe, expect, it } from 'vitest';
import {
  csvRecords,
  parseContentType,
  parseRequest,
  predictions,
  ScoringError,
  servingSpecFrom,
  type ParsedRequest,
  type ServingSpec,
} from '../src/models-serve-payload.ts';

const COLUMNS = ['a', 'b', 'c'];

/** A descriptor as cairn.onnx writes it: one float input [N, 3], a column signature. */
function aDescriptor(overrides: { signature?: unknown; inputs?: unknown[] } = {}): unknown {
  return {
    flavors: {
      onnx: {
        data: 'model.onnx',
        inputs: overrides.inputs ?? [
          { name: 'X', type: 'tensor(float)', dtype: 'float32', shape: [-1, 3] },
        ],
        outputs: [{ name: 'variable', type: 'tensor(float)', dtype: 'float32', shape: [-1, 1] }],
      },
    },
    signature:
      overrides.signature === undefined
        ? {
            inputs: {
              kind: 'columns',
              specs: COLUMNS.map((name) => ({ name, type: 'double' })),
            },
          }
        : overrides.signature,
  };
}

const json = (body: unknown, spec: ServingSpec): ParsedRequest =>
  parseRequest(Buffer.from(JSON.stringify(body)), 'application/json', spec);

function refusal(run: () => unknown): ScoringError {
  try {
    run();
  } catch (error) {
    if (error instanceof ScoringError) return error;
    throw error;
  }
  throw new Error('expected a ScoringError');
}

describe('models serve payloads → ONNX tensors', () => {
  const spec = servingSpecFrom(aDescriptor());
  const rows = [
    [1, 2.5, 3],
    [4, 5, 6.25],
  ];

  it('the four JSON formats and CSV give the same [rows, columns] float32 tensor', () => {
    const records = rows.map((r) => Object.fromEntries(COLUMNS.map((c, j) => [c, r[j]])));
    const bodies = [
      { dataframe_split: { columns: COLUMNS, data: rows } },
      { dataframe_records: records },
      { instances: records },
      { instances: rows },
      { inputs: Object.fromEntries(COLUMNS.map((c, j) => [c, rows.map((r) => r[j])])) },
      // another order and an extra column: put in the signature's order, the extra dropped
      {
        dataframe_split: {
          columns: ['c', 'extra', 'a', 'b'],
          data: rows.map((r) => [r[2], 'x', r[0], r[1]]),
        },
      },
    ];
    const csv = parseRequest(Buffer.from('b,a,c\r\n2.5,1,3\r\n5,4,6.25\r\n'), 'text/csv', spec);
    for (const parsed of [...bodies.map((b) => json(b, spec)), csv]) {
      expect(parsed.table).toBe(true);
      expect(parsed.rows).toBe(2);
      const feed = parsed.feeds.X!;
      expect(feed.type).toBe('float32');
      expect(feed.dims).toEqual([2, 3]);
      expect(Array.from(feed.data as Float32Array)).toEqual([1, 2.5, 3, 4, 5, 6.25]);
    }
  });

  it('params pass through; null in a double column is NaN', () => {
    const parsed = json(
      { dataframe_split: { columns: COLUMNS, data: [[1, null, 3]] }, params: { k: 2 } },
      spec,
    );
    expect(parsed.params).toEqual({ k: 2 });
    expect(Number.isNaN((parsed.feeds.X!.data as Float32Array)[1])).toBe(true);
  });

  it('a missing or mistyped column is a 400 naming it and its type', () => {
    const missing = refusal(() => json({ dataframe_records: [{ a: 1, b: 2 }] }, spec));
    expect(missing.status).toBe(400);
    expect(missing.toJSON()).toEqual({
      error_code: 'BAD_REQUEST',
      message:
        "Model is missing input column 'c' (expected type double); the request has the columns ['a', 'b']",
      column: 'c',
      expected_type: 'double',
    });
    const wrong = refusal(() =>
      json({ dataframe_split: { columns: COLUMNS, data: [[1, 'wide', 3]] } }, spec),
    );
    expect(wrong.toJSON()).toEqual({
      error_code: 'BAD_REQUEST',
      message:
        "Incompatible input type for column 'b': expected double, got string ('wide' in row 0)",
      column: 'b',
      expected_type: 'double',
      received_type: 'string',
    });
    const csv = refusal(() => parseRequest(Buffer.from('a,b,c\n1,x,3\n'), 'text/csv', spec));
    expect(csv.fields.column).toBe('b');
  });

  it('malformed bodies are 400s; other content types and charsets 415s', () => {
    expect(refusal(() => json([1, 2], spec)).status).toBe(400);
    expect(
      refusal(() => parseRequest(Buffer.from('{"inputs": '), 'application/json', spec)).message,
    ).toMatch(/^Malformed JSON/);
    expect(refusal(() => json({ inputs: [[1, 2, 3]], instances: [[1, 2, 3]] }, spec)).status).toBe(
      400,
    );
    expect(
      refusal(() => json({ dataframe_split: { columns: COLUMNS, data: [[1, 2]] } }, spec)).message,
    ).toMatch(/Row 0 has 2 values but there are 3 columns/);
    expect(parseContentType('application/json; charset=UTF-8')).toBe('application/json');
    expect(parseContentType('text/csv')).toBe('text/csv');
    for (const header of [
      undefined,
      'application/xml',
      'text/csv; charset=latin-1',
      'text/csv; x=1',
    ])
      expect(refusal(() => parseContentType(header)).toJSON().error_code).toBe(
        'UNSUPPORTED_MEDIA_TYPE',
      );
  });

  it('several inputs are fed by name, cast to each input type ([N] or [N, 1] by rank)', () => {
    const multi = servingSpecFrom(
      aDescriptor({
        signature: null,
        inputs: [
          { name: 'age', type: 'tensor(int64)', dtype: 'int64', shape: [-1, 1] },
          { name: 'city', type: 'tensor(string)', dtype: 'str', shape: [-1] },
          { name: 'ok', type: 'tensor(bool)', dtype: 'bool', shape: [-1] },
        ],
      }),
    );
    const parsed = json(
      {
        dataframe_records: [
          { city: 'Oslo', age: 31, ok: true },
          { city: 'Lima', age: 40, ok: false },
        ],
      },
      multi,
    );
    expect(parsed.feeds.age).toEqual({
      type: 'int64',
      data: BigInt64Array.from([31n, 40n]),
      dims: [2, 1],
    });
    expect(parsed.feeds.city).toEqual({ type: 'string', data: ['Oslo', 'Lima'], dims: [2] });
    expect(parsed.feeds.ok).toEqual({ type: 'bool', data: Uint8Array.from([1, 0]), dims: [2] });
    const fractional = refusal(() =>
      json({ dataframe_records: [{ city: 'Oslo', age: 31.5, ok: true }] }, multi),
    );
    expect(fractional.fields).toMatchObject({ column: 'age', expected_type: 'tensor(int64)' });
    expect(
      refusal(() => json({ dataframe_records: [{ age: 1, ok: true }] }, multi)).fields,
    ).toEqual({ column: 'city', expected_type: 'tensor(string)' });
  });

  it('without a signature a list of rows is a tensor request; a fixed width is checked', () => {
    const bare = servingSpecFrom(aDescriptor({ signature: null }));
    const parsed = json({ instances: rows }, bare);
    expect(parsed.table).toBe(false);
    expect(parsed.feeds.X!.dims).toEqual([2, 3]);
    expect(json({ inputs: { X: rows } }, bare).feeds.X!.dims).toEqual([2, 3]);
    const narrow = refusal(() => json({ instances: [[1, 2]] }, bare));
    expect(narrow.message).toMatch(/expected \[-1, 3\], got \[1, 2\]/);
    expect(refusal(() => json({ instances: [[1, 2, 3], [4]] }, bare)).message).toMatch(/ragged/);
  });

  it('a tensor signature checks dtype and shape', () => {
    const tensor = servingSpecFrom(
      aDescriptor({
        signature: {
          inputs: { kind: 'tensor', specs: [{ type: 'tensor', dtype: 'float32', shape: [-1, 3] }] },
        },
      }),
    );
    expect(json({ inputs: rows }, tensor).feeds.X!.dims).toEqual([2, 3]);
    expect(refusal(() => json({ inputs: [[1, 2]] }, tensor)).message).toMatch(
      /Incompatible shape for tensor 'input': expected \[-1, 3\], got \[1, 2\]/,
    );
    expect(refusal(() => json({ inputs: [['a', 2, 3]] }, tensor)).message).toMatch(/strings/);
  });
});

describe('ONNX outputs → predictions', () => {
  const label = { data: BigInt64Array.from([0n, 2n]), dims: [2], type: 'int64' };
  const proba = {
    data: Float32Array.from([0.75, 0.25, 0.5, Number.NaN]),
    dims: [2, 2],
    type: 'float32',
  };

  it('a table request gets records: scalars for [N] / [N, 1], the row values otherwise', () => {
    expect(
      predictions(
        [
          { name: 'label', tensor: label },
          { name: 'probabilities', tensor: proba },
          {
            name: 'score',
            tensor: { data: Float64Array.from([1.5, 2]), dims: [2, 1], type: 'float64' },
          },
        ],
        true,
        2,
      ),
    ).toEqual([
      { label: 0, probabilities: [0.75, 0.25], score: 1.5 },
      { label: 2, probabilities: [0.5, null], score: 2 },
    ]);
  });

  it('a tensor request gets {output: nested array}', () => {
    expect(predictions([{ name: 'probabilities', tensor: proba }], false, 2)).toEqual({
      probabilities: [
        [0.75, 0.25],
        [0.5, null],
      ],
    });
  });

  it('CSV records: quotes, doubled quotes, CRLF and blank lines', () => {
    expect(csvRecords('a,"b,1"\r\n"say ""hi""",\n\n3,4')).toEqual([
      ['a', 'b,1'],
      ['say "hi"', ''],
      ['3', '4'],
    ]);
  });
});
