/**
 * The scoring protocol of `cairn models serve` (the TypeScript ONNX server): request bodies →
 * ONNX input tensors, ONNX outputs → `{"predictions": …}`. The same wire format, enforcement
 * and error JSON as the Python server (sdks/python/src/cairn/models/scoring.py, which is
 * MLflow's), so a client cannot tell the two apart:
 *
 * - `application/json` with exactly one of `dataframe_split`, `dataframe_records`,
 *   `instances`, `inputs` (and an optional `params` object, accepted and not used: an ONNX
 *   graph takes no parameters); `text/csv` with a header row;
 * - with a column signature every column must be present and of its type (an integer is fine
 *   for a `double`/`float` column; nothing else is converted); a missing or mistyped column is
 *   a 400 whose `column` / `expected_type` fields name it; extra columns are dropped;
 * - the columns then feed the model's inputs: a model with one input gets every column, in the
 *   signature's order, as one `[rows, columns]` tensor (`[rows]` for a rank-1 input); a model
 *   with several inputs gets each input from the column of its name. Values are cast to the
 *   input's element type (`tensor(float)` → float32, …);
 * - table-shaped requests are answered as records, one object per row with a key per output
 *   (a scalar for an `[N]` or `[N, 1]` output, the row's values otherwise), as `cairn.onnx`'s
 *   python function answers a DataFrame; tensor-shaped requests without a column signature
 *   (a list of rows, a tensor signature) as `{output: nested array}`.
 *
 * Pure functions, no I/O: unit-tested in apps/cli/test/models-serve-payload.unit.test.ts.
 */

export const CONTENT_TYPE_JSON = 'application/json';
export const CONTENT_TYPE_CSV = 'text/csv';
const CONTENT_TYPES = [CONTENT_TYPE_JSON, CONTENT_TYPE_CSV] as const;
export type Mime = (typeof CONTENT_TYPES)[number];

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
type Format = (typeof FORMATS)[number];

/** MLflow's error codes (the Python server's). */
export const BAD_REQUEST = 'BAD_REQUEST';
export const UNSUPPORTED_MEDIA_TYPE = 'UNSUPPORTED_MEDIA_TYPE';
export const REQUEST_TOO_LARGE = 'REQUEST_LIMIT_EXCEEDED';
export const DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED';
export const ENDPOINT_NOT_FOUND = 'ENDPOINT_NOT_FOUND';
export const INTERNAL_ERROR = 'INTERNAL_ERROR';

/** An expected scoring failure: HTTP status, MLflow's `error_code`, a message and fields. */
export class ScoringError extends Error {
  override readonly name = 'ScoringError';
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON(): Record<string, string> {
    return { error_code: this.errorCode, message: this.message, ...this.fields };
  }
}

export function badRequest(message: string, fields: Record<string, string> = {}): ScoringError {
  return new ScoringError(400, BAD_REQUEST, message, fields);
}

// ---------------------------------------------------------------------- the model's spec

/** A column of a model signature (`cairn-model.json` → `signature.inputs.specs`). */
export interface ColumnSpec {
  name: string;
  type: string;
}

/** A tensor of a tensor signature. */
export interface TensorSignatureSpec {
  name: string | null;
  dtype: string;
  shape: number[];
}

/** A graph input or output as the `onnx` flavor records it. */
export interface OnnxValueInfo {
  name: string;
  /** onnxruntime's spelling: `tensor(float)`, `seq(map(int64,tensor(float)))`, … */
  type: string;
  /** numpy dtype name (`float32`, `int64`, `str`, `bool`, …); null for non-tensors */
  dtype: string | null;
  /** -1 for a dynamic dimension; null when unknown */
  shape: number[] | null;
}

export interface ServingSpec {
  /** the column signature, when the model has one with every column named */
  columns: ColumnSpec[] | null;
  /** the tensor signature, when the model has one */
  tensors: TensorSignatureSpec[] | null;
  inputs: OnnxValueInfo[];
}

/** The subset of onnxruntime's tensor types this server feeds. */
export type FeedType =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export type FeedData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | string[];

export interface Feed {
  type: FeedType;
  data: FeedData;
  dims: number[];
}

export interface ParsedRequest {
  feeds: Record<string, Feed>;
  /** answer as records (one object per row) */
  table: boolean;
  rows: number;
  params: Record<string, unknown> | null;
}

const DTYPE_FEED: Record<string, FeedType> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  str: 'string',
  string: 'string',
  object: 'string',
};

/** The feed type of a graph input; a type this server cannot build (float16, …) is null. */
export function feedTypeOf(input: OnnxValueInfo): FeedType | null {
  if (input.dtype === null) return null;
  return DTYPE_FEED[input.dtype] ?? null;
}

/** Reads the serving spec from a parsed `cairn-model.json`. */
export function servingSpecFrom(descriptor: unknown): ServingSpec {
  const d = asRecord(descriptor);
  const onnx = asRecord(asRecord(d.flavors).onnx);
  const inputs = Array.isArray(onnx.inputs) ? onnx.inputs.map(valueInfo) : [];
  const sig = asRecord(asRecord(d.signature).inputs);
  const specs = Array.isArray(sig.specs) ? sig.specs.map(asRecord) : [];
  let columns: ColumnSpec[] | null = null;
  let tensors: TensorSignatureSpec[] | null = null;
  if (specs.length > 0 && specs.every((s) => s.type === 'tensor')) {
    tensors = specs.map((s) => ({
      name: typeof s.name === 'string' ? s.name : null,
      dtype: String(s.dtype),
      shape: Array.isArray(s.shape) ? s.shape.map(Number) : [],
    }));
  } else if (specs.length > 0 && specs.every((s) => typeof s.name === 'string')) {
    columns = specs.map((s) => ({ name: String(s.name), type: String(s.type) }));
  }
  return { columns, tensors, inputs };
}

export function valueInfo(raw: unknown): OnnxValueInfo {
  const v = asRecord(raw);
  return {
    name: String(v.name),
    type: String(v.type),
    dtype: typeof v.dtype === 'string' ? v.dtype : null,
    shape: Array.isArray(v.shape) ? v.shape.map(Number) : null,
  };
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

// ---------------------------------------------------------------------- content type

/** The media type of a request; anything else, a charset other than UTF-8 or an unknown
 *  parameter is a 415 (as in MLflow). */
export function parseContentType(header: string | undefined): Mime {
  if (!header)
    throw new ScoringError(
      415,
      UNSUPPORTED_MEDIA_TYPE,
      `A Content-Type header is required: one of ${CONTENT_TYPES.join(', ')}`,
    );
  const parts = header.split(';').map((p) => p.trim());
  const mime = (parts[0] ?? '').toLowerCase();
  for (const param of parts.slice(1)) {
    if (!param) continue;
    const eq = param.indexOf('=');
    const key = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
    const value = (eq < 0 ? '' : param.slice(eq + 1)).trim().replace(/^"|"$/g, '').toLowerCase();
    if (key !== 'charset')
      throw new ScoringError(
        415,
        UNSUPPORTED_MEDIA_TYPE,
        `Unrecognized content type parameter: ${key}`,
      );
    if (value !== 'utf-8' && value !== 'utf8')
      throw new ScoringError(415, UNSUPPORTED_MEDIA_TYPE, 'The scoring server only supports UTF-8');
  }
  if (!(CONTENT_TYPES as readonly string[]).includes(mime))
    throw new ScoringError(
      415,
      UNSUPPORTED_MEDIA_TYPE,
      `This predictor only supports the content types ${CONTENT_TYPES.join(', ')}; got ${pyRepr(header)}`,
    );
  return mime as Mime;
}

// ---------------------------------------------------------------------- requests

/** An ordered column table: name → one value per row. */
type Columns = Map<string, unknown[]>;

type ModelInput =
  | { kind: 'table'; columns: Columns }
  /** a nested array (or scalar) for a model's one input */
  | { kind: 'raw'; value: unknown };

export function parseRequest(body: Buffer, mime: Mime, spec: ServingSpec): ParsedRequest {
  if (mime === CONTENT_TYPE_CSV) return { ...toFeeds(parseCsv(body, spec), spec), params: null };
  return parseJson(body, spec);
}

export function parseJson(body: Buffer, spec: ServingSpec): ParsedRequest {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (error) {
    throw badRequest(
      `Malformed JSON: the request body is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw badRequest(
      `The input must be a JSON object with exactly one of the fields ${FORMATS.join(', ')}; received a ${Array.isArray(doc) ? 'list' : pyTypeName(doc)}`,
    );
  const obj = doc as Record<string, unknown>;
  const keys = FORMATS.filter((k) => k in obj);
  if (keys.length !== 1)
    throw badRequest(
      `The input must be a JSON object with exactly one of the fields ${FORMATS.join(', ')}; received the fields ${pyList(Object.keys(obj).sort())}`,
    );
  const params = obj.params;
  if (
    params !== undefined &&
    params !== null &&
    (typeof params !== 'object' || Array.isArray(params))
  )
    throw badRequest(`'params' must be a JSON object, not ${pyTypeName(params)}`);
  const fmt = keys[0]!;
  const parsed = toFeeds(toModelInput(fmt, obj[fmt], spec), spec);
  const p = params as Record<string, unknown> | null | undefined;
  return { ...parsed, params: p && Object.keys(p).length > 0 ? p : null };
}

interface Shaped {
  input: ModelInput;
  /** a tensor signature applies (the model input is tensors, not a table) */
  tensorSignature: boolean;
}

function toModelInput(fmt: Format, payload: unknown, spec: ServingSpec): Shaped {
  if (spec.tensors && spec.tensors.length > 0)
    return { input: tensorInput(fmt, payload, spec), tensorSignature: true };
  const names = spec.columns?.map((c) => c.name) ?? [];
  const input = columnsOf(fmt, payload, names);
  if (spec.columns && input.kind === 'table')
    return {
      input: { kind: 'table', columns: enforced(input.columns, spec.columns) },
      tensorSignature: false,
    };
  return { input, tensorSignature: false };
}

function columnsOf(fmt: Format, payload: unknown, names: string[]): ModelInput {
  if (fmt === 'dataframe_split') {
    const p = payload as Record<string, unknown> | null;
    if (p === null || typeof p !== 'object' || Array.isArray(p) || !('data' in p))
      throw badRequest(
        `dataframe_split must be an object with 'columns' and 'data' ({"columns": ["a", "b"], "data": [[1, 2]]})`,
      );
    const rows = p.data;
    if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r)))
      throw badRequest('dataframe_split.data must be a list of rows (lists)');
    let columns: unknown = p.columns;
    if (columns === undefined || columns === null)
      columns =
        names.length > 0
          ? names
          : Array.from({ length: (rows[0] as unknown[] | undefined)?.length ?? 0 }, (_, i) =>
              String(i),
            );
    if (
      !Array.isArray(columns) ||
      !columns.every((c) => typeof c === 'string' || Number.isInteger(c))
    )
      throw badRequest('dataframe_split.columns must be a list of column names');
    return {
      kind: 'table',
      columns: rowsToColumns(
        rows as unknown[][],
        columns.map((c) => String(c)),
      ),
    };
  }
  if (fmt === 'dataframe_records') {
    if (!Array.isArray(payload) || !payload.every(isPlainObject))
      throw badRequest('dataframe_records must be a list of objects ([{"a": 1}])');
    return { kind: 'table', columns: recordsToColumns(payload) };
  }
  // instances / inputs (TF-serving style)
  if (isPlainObject(payload)) {
    const out: Columns = new Map();
    for (const [key, values] of Object.entries(payload))
      out.set(key, Array.isArray(values) ? values : [values]);
    if (new Set([...out.values()].map((v) => v.length)).size > 1)
      throw badRequest(`${fmt}: every column must have the same number of values`);
    return { kind: 'table', columns: out };
  }
  if (Array.isArray(payload)) {
    if (payload.length > 0 && payload.every(isPlainObject))
      return { kind: 'table', columns: recordsToColumns(payload) };
    if (names.length > 0)
      return {
        kind: 'table',
        columns: rowsToColumns(
          (payload as unknown[]).map((r): unknown[] => (Array.isArray(r) ? (r as unknown[]) : [r])),
          names,
        ),
      };
    return { kind: 'raw', value: payload };
  }
  if (names.length > 0) return { kind: 'table', columns: rowsToColumns([[payload]], names) };
  return { kind: 'raw', value: [payload] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function rowsToColumns(rows: unknown[][], columns: string[]): Columns {
  const width = columns.length;
  rows.forEach((row, i) => {
    if (row.length !== width)
      throw badRequest(
        `Row ${i} has ${row.length} values but there are ${width} columns (${pyList(columns)})`,
      );
  });
  if (new Set(columns).size !== width)
    throw badRequest(`Duplicate column names: ${pyList(columns)}`);
  const out: Columns = new Map();
  columns.forEach((c, j) =>
    out.set(
      c,
      rows.map((r) => r[j]),
    ),
  );
  return out;
}

function recordsToColumns(records: Record<string, unknown>[]): Columns {
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const r of records)
    for (const k of Object.keys(r))
      if (!seen.has(k)) {
        seen.add(k);
        keys.push(k);
      }
  const out: Columns = new Map();
  for (const k of keys)
    out.set(
      k,
      records.map((r) => (k in r ? r[k] : null)),
    );
  return out;
}

// ---------------------------------------------------------------------- enforcement

function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  return 'object';
}

/** Python's repr of a JSON value (the Python server's messages quote values this way). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string')
    return value.includes("'") && !value.includes('"')
      ? `"${value}"`
      : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
    .join(', ')}}`;
}

function pyList(items: string[]): string {
  return `[${items.map(pyRepr).join(', ')}]`;
}

function mismatch(col: string, expected: string, value: unknown, row: number): ScoringError {
  const got = pyTypeName(value);
  return badRequest(
    `Incompatible input type for column '${col}': expected ${expected}, got ${got} (${pyRepr(value)} in row ${row})`,
    { column: col, expected_type: expected, received_type: got },
  );
}

function missing(col: string, expected: string, given: string[]): ScoringError {
  return badRequest(
    `Model is missing input column '${col}' (expected type ${expected}); the request has the columns ${pyList(given)}`,
    { column: col, expected_type: expected },
  );
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

function checkValues(col: string, expected: string, values: unknown[]): unknown[] {
  values.forEach((v, i) => {
    const ok =
      expected === 'double' || expected === 'float'
        ? v === null || typeof v === 'number'
        : expected === 'long' || expected === 'integer'
          ? typeof v === 'number' && Number.isInteger(v)
          : expected === 'boolean'
            ? typeof v === 'boolean'
            : expected === 'string'
              ? v === null || typeof v === 'string'
              : expected === 'binary' || expected === 'datetime'
                ? typeof v === 'string'
                : true;
    if (!ok)
      throw mismatch(
        col,
        expected === 'binary'
          ? 'binary (base64 string)'
          : expected === 'datetime'
            ? 'datetime (ISO 8601 string)'
            : expected,
        v,
        i,
      );
    if (expected === 'integer' && ((v as number) < INT32.min || (v as number) > INT32.max))
      throw badRequest(
        `Incompatible input for column '${col}': a value is out of range for ${expected}`,
        { column: col, expected_type: expected },
      );
  });
  return values;
}

function enforced(columns: Columns, signature: ColumnSpec[]): Columns {
  const out: Columns = new Map();
  for (const spec of signature) {
    const values = columns.get(spec.name);
    if (values === undefined) throw missing(spec.name, spec.type, [...columns.keys()]);
    out.set(spec.name, checkValues(spec.name, spec.type, values));
  }
  return out;
}

// ---------------------------------------------------------------------- tensors

/** The flat values and dimensions of a rectangular nested array. */
export function flatten(value: unknown, what: string): { values: unknown[]; dims: number[] } {
  const dims: number[] = [];
  let probe: unknown = value;
  while (Array.isArray(probe)) {
    dims.push(probe.length);
    probe = probe[0];
  }
  const values: unknown[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (Array.isArray(v)) throw badRequest(`${what}: a ragged nested list (not rectangular)`);
      values.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== dims[depth])
      throw badRequest(`${what}: a ragged nested list (not rectangular)`);
    for (const item of v) walk(item, depth + 1);
  };
  walk(value, 0);
  return { values, dims };
}

function tensorInput(fmt: Format, payload: unknown, spec: ServingSpec): ModelInput {
  const specs = spec.tensors ?? [];
  if (fmt === 'dataframe_split' || fmt === 'dataframe_records') {
    const table = columnsOf(fmt, payload, []);
    if (table.kind !== 'table') throw badRequest(`${fmt}: expected a table`);
    const cols = [...table.columns.values()];
    const n = cols[0]?.length ?? 0;
    payload = Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));
  }
  const first = specs[0]!;
  if (specs.length > 1 || (isPlainObject(payload) && first.name !== null)) {
    if (!isPlainObject(payload))
      throw badRequest(
        `The model takes named tensors ${pyList(specs.map((s) => String(s.name)))}: send an object {"inputs": {"name": [...]}}`,
      );
    const out: Columns = new Map();
    for (const s of specs) {
      const name = String(s.name);
      if (!(name in payload)) throw missing(name, `tensor of ${s.dtype}`, Object.keys(payload));
      checkTensorShape(name, payload[name], s);
      out.set(name, [payload[name]]);
    }
    // one "row" per named tensor, its value the whole nested array: fed as is
    return { kind: 'table', columns: out };
  }
  checkTensorShape(first.name ?? 'input', payload, first);
  return { kind: 'raw', value: payload };
}

function checkTensorShape(name: string, value: unknown, s: TensorSignatureSpec): void {
  const expected = `tensor of ${s.dtype} with shape ${pyRepr(s.shape)}`;
  const { values, dims } = flatten(value, `Incompatible input for tensor '${name}'`);
  const numeric = !['str', 'object', 'string'].includes(s.dtype) && !s.dtype.startsWith('<U');
  if (numeric && values.some((v) => typeof v === 'string'))
    throw badRequest(
      `Incompatible input for tensor '${name}': expected ${expected} (strings or mixed values)`,
      { column: name, expected_type: expected },
    );
  if (/^u?int/.test(s.dtype) && values.some((v) => typeof v === 'number' && !Number.isInteger(v)))
    throw badRequest(
      `Incompatible input for tensor '${name}': expected ${expected} (floats for an integer tensor)`,
      { column: name, expected_type: expected },
    );
  if (dims.length !== s.shape.length || s.shape.some((want, i) => want !== -1 && want !== dims[i]))
    throw badRequest(
      `Incompatible shape for tensor '${name}': expected ${pyRepr(s.shape)}, got ${pyRepr(dims)}`,
      { column: name, expected_type: expected },
    );
}

/** Casts values to a typed array of the input's element type; a value that does not fit is
 *  a 400 naming the column. */
export function typedData(
  type: FeedType,
  values: unknown[],
  column: string,
  inputType: string,
): FeedData {
  const fail = (v: unknown, i: number): ScoringError =>
    badRequest(
      `Incompatible input for column '${column}': the model's input takes ${inputType}, got ${pyRepr(v)} (value ${i})`,
      { column, expected_type: inputType, received_type: pyTypeName(v) },
    );
  if (type === 'string')
    return values.map((v, i) => {
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw fail(v, i);
    });
  const num = (v: unknown, i: number): number => {
    if (typeof v === 'number') return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === null && (type === 'float32' || type === 'float64')) return Number.NaN;
    throw fail(v, i);
  };
  switch (type) {
    case 'float32':
      return Float32Array.from(values, num);
    case 'float64':
      return Float64Array.from(values, num);
    case 'bool':
      return Uint8Array.from(values, (v, i) => (num(v, i) ? 1 : 0));
    case 'int64':
    case 'uint64': {
      const ints = values.map((v, i) => {
        const n = num(v, i);
        if (!Number.isInteger(n)) throw fail(v, i);
        if (type === 'uint64' && n < 0) throw fail(v, i);
        return BigInt(n);
      });
      return type === 'int64' ? BigInt64Array.from(ints) : BigUint64Array.from(ints);
    }
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      const bits = Number(type.replace(/\D/g, ''));
      const signed = !type.startsWith('u');
      const min = signed ? -(2 ** (bits - 1)) : 0;
      const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      const ints = values.map((v, i) => {
        const n = num(v, i);
        if (!Number.isInteger(n) || n < min || n > max) throw fail(v, i);
        return n;
      });
      if (type === 'int8') return Int8Array.from(ints);
      if (type === 'uint8') return Uint8Array.from(ints);
      if (type === 'int16') return Int16Array.from(ints);
      if (type === 'uint16') return Uint16Array.from(ints);
      if (type === 'int32') return Int32Array.from(ints);
      return Uint32Array.from(ints);
    }
    default:
      return assertNever(type);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected ${String(value)}`);
}

function inputOf(spec: ServingSpec, index: number): { input: OnnxValueInfo; type: FeedType } {
  const input = spec.inputs[index]!;
  const type = feedTypeOf(input);
  if (type === null)
    throw new ScoringError(
      500,
      INTERNAL_ERROR,
      `The model's input '${input.name}' is of type ${input.type}, which this server cannot feed`,
    );
  return { input, type };
}

/** A feed from a table column: scalars → `[rows]` or `[rows, 1]` by the input's rank; nested
 *  values (one array per row) → `[rows, …]`. */
function columnFeed(input: OnnxValueInfo, type: FeedType, values: unknown[]): Feed {
  const { values: flat, dims } = flatten(values, `Column '${input.name}'`);
  let shape = dims;
  if (dims.length === 1 && (input.shape?.length ?? 1) === 2) shape = [dims[0]!, 1];
  checkDims(input, shape);
  return { type, data: typedData(type, flat, input.name, input.type), dims: shape };
}

function checkDims(input: OnnxValueInfo, dims: number[]): void {
  const want = input.shape;
  if (want === null) return;
  if (want.length !== dims.length || want.some((w, i) => w >= 0 && w !== dims[i]))
    throw badRequest(
      `Incompatible shape for the model's input '${input.name}': expected ${pyRepr(want)}, got ${pyRepr(dims)}`,
      { column: input.name, expected_type: `${input.type} with shape ${pyRepr(want)}` },
    );
}

function toFeeds(shaped: Shaped, spec: ServingSpec): Omit<ParsedRequest, 'params'> {
  const { input: modelInput, tensorSignature } = shaped;
  const inputs = spec.inputs;
  if (inputs.length === 0)
    throw new ScoringError(500, INTERNAL_ERROR, 'The model descriptor lists no ONNX inputs');
  if (modelInput.kind === 'raw') {
    if (inputs.length !== 1)
      throw badRequest(
        `The model takes ${inputs.length} inputs ${pyList(inputs.map((i) => i.name))}: send an object with a column (or tensor) per input`,
      );
    const { input, type } = inputOf(spec, 0);
    const { values, dims } = flatten(modelInput.value, `Input '${input.name}'`);
    let shape = dims;
    if (dims.length === 1 && input.shape?.length === 2) shape = [1, dims[0]!]; // one row
    checkDims(input, shape);
    return {
      feeds: {
        [input.name]: { type, data: typedData(type, values, input.name, input.type), dims: shape },
      },
      table: false,
      rows: shape[0] ?? 1,
    };
  }
  const columns = modelInput.columns;
  if (tensorSignature) {
    // named tensors: each column holds one whole nested array
    const feeds: Record<string, Feed> = {};
    inputs.forEach((_, index) => {
      const { input, type } = inputOf(spec, index);
      const value = columns.get(input.name);
      if (value === undefined) throw missing(input.name, input.type, [...columns.keys()]);
      const { values, dims } = flatten(value[0], `Input '${input.name}'`);
      checkDims(input, dims);
      feeds[input.name] = { type, data: typedData(type, values, input.name, input.type), dims };
    });
    return { feeds, table: false, rows: 0 };
  }
  const names = [...columns.keys()];
  const rows = columns.get(names[0] ?? '')?.length ?? 0;
  const byName = inputs.length > 1 || (names.length === 1 && names[0] === inputs[0]!.name);
  if (byName) {
    const feeds: Record<string, Feed> = {};
    inputs.forEach((_, index) => {
      const { input, type } = inputOf(spec, index);
      const values = columns.get(input.name);
      if (values === undefined) throw missing(input.name, input.type, names);
      feeds[input.name] = columnFeed(input, type, values);
    });
    return { feeds, table: true, rows };
  }
  // one input, every column (signature order, else request order) side by side
  const { input, type } = inputOf(spec, 0);
  const rank = input.shape?.length ?? 2;
  if (rank === 1) {
    if (names.length !== 1)
      throw badRequest(
        `The model's input '${input.name}' takes one value per row; the request has the columns ${pyList(names)}`,
        { column: input.name, expected_type: input.type },
      );
    return {
      feeds: { [input.name]: columnFeed(input, type, columns.get(names[0]!)!) },
      table: true,
      rows,
    };
  }
  const width = input.shape?.[1] ?? -1;
  if (rank !== 2 || (width >= 0 && width !== names.length))
    throw badRequest(
      `The model's input '${input.name}' has the shape ${pyRepr(input.shape)}; the request has ${names.length} column(s) ${pyList(names)}`,
      { column: input.name, expected_type: `${input.type} with shape ${pyRepr(input.shape)}` },
    );
  const flat: unknown[] = new Array(rows * names.length);
  names.forEach((name, j) => {
    const values = columns.get(name)!;
    for (let i = 0; i < rows; i++) {
      const v = values[i];
      if (Array.isArray(v) || isPlainObject(v))
        throw badRequest(
          `Incompatible input for column '${name}': expected one value per row, got ${pyTypeName(v)} in row ${i}`,
          { column: name, expected_type: input.type },
        );
      flat[i * names.length + j] = v;
    }
  });
  const data = typedDataByColumn(type, flat, names, input.type);
  return { feeds: { [input.name]: { type, data, dims: [rows, names.length] } }, table: true, rows };
}

/** typedData for a row-major matrix of columns: a failing value names its column. */
function typedDataByColumn(
  type: FeedType,
  flat: unknown[],
  names: string[],
  inputType: string,
): FeedData {
  try {
    return typedData(type, flat, names[0] ?? '', inputType);
  } catch (error) {
    if (!(error instanceof ScoringError)) throw error;
    const match = /\(value (\d+)\)$/.exec(error.message);
    const index = match ? Number(match[1]) : 0;
    const column = names[index % names.length] ?? '';
    const row = Math.floor(index / names.length);
    const value = flat[index];
    throw badRequest(
      `Incompatible input for column '${column}': the model's input takes ${inputType}, got ${pyRepr(value)} (row ${row})`,
      { column, expected_type: inputType, received_type: pyTypeName(value) },
    );
  }
}

// ---------------------------------------------------------------------- CSV

/** RFC 4180 records: commas, double quotes ("" inside quotes), CRLF or LF line ends. */
export function csvRecords(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  let touched = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
      touched = true;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      touched = true;
      i++;
    } else if (c === '\n' || c === '\r') {
      if (touched || field !== '' || record.length > 0) record.push(field);
      if (record.length > 0) records.push(record);
      record = [];
      field = '';
      touched = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      field += c;
      touched = true;
      i++;
    }
  }
  if (quoted)
    throw badRequest('Failed to parse the input as CSV: unexpected end of data inside quotes');
  if (touched || field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

const FLOAT_WORDS: Record<string, number> = {
  nan: Number.NaN,
  inf: Number.POSITIVE_INFINITY,
  '+inf': Number.POSITIVE_INFINITY,
  '-inf': Number.NEGATIVE_INFINITY,
  infinity: Number.POSITIVE_INFINITY,
  '+infinity': Number.POSITIVE_INFINITY,
  '-infinity': Number.NEGATIVE_INFINITY,
};

function csvNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const word = FLOAT_WORDS[t.toLowerCase()];
  if (word !== undefined) return word;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

function csvValue(col: string, expected: string, text: string, row: number): unknown {
  const fail = (): ScoringError =>
    badRequest(
      `Incompatible input type for column '${col}': expected ${expected}, got ${pyRepr(text)} in row ${row}`,
      { column: col, expected_type: expected, received_type: 'string' },
    );
  if (expected === 'double' || expected === 'float') {
    if (text.trim() === '') return null;
    const n = csvNumber(text);
    if (n === undefined) throw fail();
    return n;
  }
  if (expected === 'long' || expected === 'integer') {
    if (!/^\s*[+-]?\d+\s*$/.test(text)) throw fail();
    return Number(text.trim());
  }
  if (expected === 'boolean') {
    const lowered = text.trim().toLowerCase();
    if (lowered === 'true' || lowered === '1') return true;
    if (lowered === 'false' || lowered === '0') return false;
    throw fail();
  }
  return text;
}

function parseCsv(body: Buffer, spec: ServingSpec): Shaped {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch (error) {
    throw badRequest(
      `The CSV body is not valid UTF-8 (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const records = csvRecords(text);
  const header = records.shift();
  if (header === undefined) throw badRequest('The CSV body is empty: a header row is required');
  const names = header.map((h) => h.trim());
  const columns = rowsToColumns(records, names);
  if (spec.columns) {
    const typed: Columns = new Map();
    for (const s of spec.columns) {
      const values = columns.get(s.name);
      if (values === undefined) throw missing(s.name, s.type, names);
      typed.set(
        s.name,
        values.map((v, i) => csvValue(s.name, s.type, v as string, i)),
      );
    }
    return {
      input: { kind: 'table', columns: enforced(typed, spec.columns) },
      tensorSignature: false,
    };
  }
  // no signature: a column of numbers (empty = missing) is numeric, anything else text
  const out: Columns = new Map();
  for (const [name, values] of columns) {
    const nums = (values as string[]).map(csvNumber);
    const numeric = nums.every((n, i) => n !== undefined || (values[i] as string).trim() === '');
    out.set(name, numeric ? nums.map((n) => (n === undefined ? null : n)) : values);
  }
  return { input: { kind: 'table', columns: out }, tensorSignature: false };
}

// ---------------------------------------------------------------------- predictions

/** One ONNX output as onnxruntime hands it back. */
export interface OutputTensor {
  data: ArrayLike<number | bigint | boolean | string>;
  dims: readonly number[];
  type: string;
}

function jsonValue(v: number | bigint | boolean | string, type: string): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') {
    if (type === 'bool') return v !== 0;
    return Number.isFinite(v) ? v : null; // NaN and ±Infinity: null, as the Python server
  }
  return v;
}

function nest(
  data: ArrayLike<number | bigint | boolean | string>,
  type: string,
  dims: readonly number[],
  offset: number,
): unknown {
  if (dims.length === 0) return jsonValue(data[offset]!, type);
  const [n = 0, ...rest] = dims;
  const stride = rest.reduce((a, b) => a * b, 1);
  const out: unknown[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = nest(data, type, rest, offset + i * stride);
  return out;
}

/** The `predictions` value: records for a table request (when every output has a row per
 *  request row), `{output: nested array}` otherwise. */
export function predictions(
  outputs: { name: string; tensor: OutputTensor }[],
  table: boolean,
  rows: number,
): unknown {
  const perRow = table && outputs.every((o) => o.tensor.dims[0] === rows);
  if (!perRow) {
    const out: Record<string, unknown> = {};
    for (const { name, tensor } of outputs)
      out[name] = nest(tensor.data, tensor.type, tensor.dims, 0);
    return out;
  }
  const records: Record<string, unknown>[] = Array.from({ length: rows }, () => ({}));
  for (const { name, tensor } of outputs) {
    const rest = tensor.dims.slice(1);
    const scalar = rest.length === 0 || (rest.length === 1 && rest[0] === 1);
    const stride = rest.reduce((a, b) => a * b, 1);
    for (let i = 0; i < rows; i++)
      records[i]![name] = scalar
        ? jsonValue(tensor.data[i * stride]!, tensor.type)
        : nest(tensor.data, tensor.type, rest, i * stride);
  }
  return records;
}
