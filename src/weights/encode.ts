/**
 * Turning a tensor given to the writer into the little-endian bytes of its dtype: first a
 * cheap check of dtype, shape and array type (`planTensor`, before any file is touched),
 * then the conversion itself (`encodeTensor`, done one tensor at a time while writing, so a
 * whole model is never converted into memory at once).
 */
import {
  DTYPE_BYTES,
  HOST_IS_LITTLE_ENDIAN,
  f32ToBf16,
  f32ToF16,
  isDtype,
  swapBytesInPlace,
  type Dtype,
} from './dtypes.js';
import { SafetensorsError } from './errors.js';

/**
 * A tensor to write. `data` holds the values in row-major order; which arrays fit which dtype:
 * F32/F64/F16/BF16 from Float32Array or Float64Array (F16/BF16 rounded to nearest even), or
 * F16/BF16 from Uint16Array of raw bit patterns; I64 from BigInt64Array or Int32Array;
 * I32 from Int32Array; I16 from Int16Array; I8 from Int8Array; U8 and BOOL from Uint8Array;
 * any integer dtype from Int32Array (range-checked; BOOL stores nonzero as 1).
 */
export type WritableTensor = {
  dtype: Dtype;
  shape: number[];
  data:
    | Float32Array
    | Float64Array
    | Int32Array
    | BigInt64Array
    | Uint16Array
    | Int16Array
    | Int8Array
    | Uint8Array;
};

/** A checked tensor with its place in the file still to be decided. */
export interface PlannedTensor {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
  source: WritableTensor;
  /** The file it goes to, for messages. */
  file: string;
}

type ArrayKind = WritableTensor['data'];
type ArrayClass = { new (length: number): ArrayKind; name: string };

/** Which typed arrays each dtype can be written from. */
const ACCEPTED_ARRAYS: Record<Dtype, ArrayClass[]> = {
  F32: [Float32Array, Float64Array],
  F64: [Float64Array, Float32Array],
  F16: [Uint16Array, Float32Array, Float64Array],
  BF16: [Uint16Array, Float32Array, Float64Array],
  I64: [BigInt64Array, Int32Array],
  I32: [Int32Array],
  I16: [Int16Array, Int32Array],
  I8: [Int8Array, Int32Array],
  U8: [Uint8Array, Int32Array],
  BOOL: [Uint8Array, Int32Array],
};

function invalid(file: string, name: string, message: string): SafetensorsError {
  return new SafetensorsError('invalid-tensor', `${file}: tensor "${name}": ${message}`, {
    file,
    tensor: name,
  });
}

/** Checks dtype, shape, element count and array type; converts nothing. */
export function planTensor(file: string, name: string, tensor: WritableTensor): PlannedTensor {
  const { dtype, shape, data } = tensor;
  if (name === '__metadata__') throw invalid(file, name, '"__metadata__" is reserved for file metadata');
  if (!isDtype(dtype)) throw invalid(file, name, `unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalid(file, name, `shape ${JSON.stringify(shape)} is not a list of sizes`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw invalid(
      file,
      name,
      `shape [${shape.join(', ')}] has ${count} elements but data has ${data.length}`,
    );
  }
  const accepted = ACCEPTED_ARRAYS[dtype];
  if (!accepted.some((kind) => data instanceof kind)) {
    throw invalid(
      file,
      name,
      `cannot write a ${data.constructor.name} as ${dtype} (use ${accepted.map((k) => k.name).join(' or ')})`,
    );
  }
  return { name, dtype, shape: [...shape], byteLength: count * DTYPE_BYTES[dtype], source: tensor, file };
}

/** The tensor's bytes in its dtype, little-endian; no copy when the array already is that dtype. */
export function encodeTensor(planned: PlannedTensor): Uint8Array {
  const { dtype, file, name } = planned;
  const data = planned.source.data;
  let typed: ArrayBufferView;
  if (data instanceof ACCEPTED_ARRAYS[dtype][0]!) {
    typed = dtype === 'BOOL' ? Uint8Array.from(data as Uint8Array, (v) => (v === 0 ? 0 : 1)) : data;
  } else if (dtype === 'F32') {
    typed = Float32Array.from(data as Float64Array);
  } else if (dtype === 'F64') {
    typed = Float64Array.from(data as Float32Array);
  } else if (dtype === 'F16' || dtype === 'BF16') {
    const floats = data instanceof Float32Array ? data : Float32Array.from(data as Float64Array);
    typed = dtype === 'F16' ? f32ToF16(floats) : f32ToBf16(floats);
  } else if (dtype === 'I64') {
    typed = BigInt64Array.from(data as Int32Array, (v) => BigInt(v));
  } else {
    const ints = data as Int32Array;
    if (dtype === 'BOOL') typed = Uint8Array.from(ints, (v) => (v === 0 ? 0 : 1));
    else if (dtype === 'I16') typed = narrowInts(ints, new Int16Array(ints.length), -32768, 32767);
    else if (dtype === 'I8') typed = narrowInts(ints, new Int8Array(ints.length), -128, 127);
    else typed = narrowInts(ints, new Uint8Array(ints.length), 0, 255);
  }
  let bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (!HOST_IS_LITTLE_ENDIAN && DTYPE_BYTES[dtype] > 1) {
    bytes = bytes.slice();
    swapBytesInPlace(bytes, DTYPE_BYTES[dtype]);
  }
  return bytes;

  function narrowInts<T extends Int16Array | Int8Array | Uint8Array>(
    src: Int32Array,
    out: T,
    min: number,
    max: number,
  ): T {
    for (let i = 0; i < src.length; i++) {
      const value = src[i]!;
      if (value < min || value > max) {
        throw invalid(
          file,
          name,
          `value ${value} at flat index ${i} is outside the ${dtype} range [${min}, ${max}]`,
        );
      }
      out[i] = value;
    }
    return out;
  }
}
