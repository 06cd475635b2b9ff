/**
 * Numeric arrays as bind parameters in PostgreSQL's binary array format (what `array_send`
 * writes). node-postgres sends a Buffer parameter as binary and the server reads it with
 * `array_recv`: no number → text conversion in JavaScript and no text → number parsing (strtod)
 * in PostgreSQL, which is most of the cost of passing thousands of points as text arrays.
 *
 * The parameter's type must come from its context: an INSERT column of that array type, or a
 * cast (`${int8Array(xs)}::int8[]`); the element type written here must match it.
 */

const INT2 = 21;
const INT4 = 23;
const INT8 = 20;
const FLOAT8 = 701;
const TWO_32 = 2 ** 32;

function arrayBuffer(
  count: number,
  elementOid: number,
  elementSize: number,
  write: (view: DataView, offset: number, index: number) => void,
): Buffer {
  const headerSize = count === 0 ? 12 : 20;
  const buffer = Buffer.allocUnsafe(headerSize + count * (4 + elementSize));
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  view.setInt32(0, count === 0 ? 0 : 1); // dimensions
  view.setInt32(4, 0); // no nulls
  view.setInt32(8, elementOid);
  if (count > 0) {
    view.setInt32(12, count); // length of the one dimension
    view.setInt32(16, 1); // lower bound
  }
  let offset = headerSize;
  for (let i = 0; i < count; i++) {
    view.setInt32(offset, elementSize);
    write(view, offset + 4, i);
    offset += 4 + elementSize;
  }
  return buffer;
}

function checkInteger(value: number, min: number, max: number, type: string): void {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${value} is not a ${type} value`);
}

/** bigint[] from safe integers (steps, timestamps). */
export function int8Array(values: readonly number[]): Buffer {
  return arrayBuffer(values.length, INT8, 8, (view, offset, i) => {
    const v = values[i]!;
    checkInteger(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 'safe int8');
    const high = Math.floor(v / TWO_32);
    view.setInt32(offset, high);
    view.setUint32(offset + 4, v - high * TWO_32);
  });
}

/** integer[]. */
export function int4Array(values: readonly number[]): Buffer {
  return arrayBuffer(values.length, INT4, 4, (view, offset, i) => {
    const v = values[i]!;
    checkInteger(v, -(2 ** 31), 2 ** 31 - 1, 'int4');
    view.setInt32(offset, v);
  });
}

/** smallint[]. */
export function int2Array(values: readonly number[]): Buffer {
  return arrayBuffer(values.length, INT2, 2, (view, offset, i) => {
    const v = values[i]!;
    checkInteger(v, -(2 ** 15), 2 ** 15 - 1, 'int2');
    view.setInt16(offset, v);
  });
}

/** double precision[]; NaN and ±Infinity are IEEE values here, as in PostgreSQL. */
export function float8Array(values: readonly number[]): Buffer {
  return arrayBuffer(values.length, FLOAT8, 8, (view, offset, i) => {
    view.setFloat64(offset, values[i]!);
  });
}
