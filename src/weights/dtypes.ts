/**
 * Element types of safetensors files and conversions between them.
 *
 * The half-precision converters work on whole arrays of raw bit patterns (`Uint16Array`):
 * F16 is IEEE 754 binary16 (1 sign, 5 exponent, 10 mantissa bits); BF16 ("brain float")
 * is the top half of a float32 (1 sign, 8 exponent, 7 mantissa bits). Narrowing rounds to
 * the nearest value, ties to even, as PyTorch and NumPy do; NaN stays NaN.
 */
import { endianness } from 'node:os';

/** Element types layercut reads and writes (names exactly as in safetensors headers). */
export type Dtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Every dtype layercut supports, for messages and checks. */
export const DTYPES = Object.keys(DTYPE_BYTES) as Dtype[];

/** Dtypes the safetensors format defines but layercut does not read (for a clearer error). */
export const UNSUPPORTED_SAFETENSORS_DTYPES: readonly string[] = [
  'U16',
  'U32',
  'U64',
  'F8_E4M3',
  'F8_E5M2',
  'F8_E8M0',
  'F6_E2M3',
  'F6_E3M2',
  'F4',
  'C64',
];

/**
 * Rank of each dtype in the reference library's `Dtype` enum (increasing alignment). Its
 * writer lays tensors out by descending rank, then by name, so every tensor starts at a
 * multiple of its element size.
 */
export const DTYPE_WRITE_RANK: Readonly<Record<Dtype, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 5,
  F16: 7,
  BF16: 8,
  I32: 9,
  F32: 11,
  F64: 12,
  I64: 13,
};

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

/** Dtypes `readFloat32` accepts. */
export function isFloatDtype(dtype: Dtype): boolean {
  return dtype === 'F64' || dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** True on little-endian hosts (all common ones); safetensors data is little-endian. */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** Reverses the byte order of each `width`-byte element in place (big-endian hosts only). */
export function swapBytesInPlace(bytes: Uint8Array, width: number): void {
  if (width === 1) return;
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------- half → float32

let f16Table: Float32Array | undefined;

/** float32 value of every one of the 65536 F16 bit patterns (built once, 256 KiB). */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // zero or subnormal: mantissa × 2^-24, exact in float32
      table[h] = (sign ? -1 : 1) * mantissa * 2 ** -24;
    } else if (exponent === 31) {
      // infinity (mantissa 0) or NaN (payload kept in the top mantissa bits)
      bits[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else {
      bits[h] = (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  f16Table = table;
  return table;
}

/**
 * F16 bit patterns → float32 values (exact). `out` may be given to avoid an allocation; `src`
 * may even live in the upper half of `out`'s bytes (in-place widening), as the reader does.
 */
export function f16ToF32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const table = f16ToF32Table();
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return out;
}

/** BF16 bit patterns → float32 values (exact: the top half of a float32). Same `out` rules as f16ToF32. */
export function bf16ToF32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return out;
}

// ---------------------------------------------------------------- float32 → half

/** One float32 bit pattern → F16 bits, round to nearest even; overflow gives ±infinity. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) {
    // infinity stays infinity; NaN stays a (quiet) NaN
    return sign | 0x7c00 | (mantissa ? 0x200 | (mantissa >>> 13) : 0);
  }
  const e = exponent - 127 + 15; // F16 biased exponent
  if (e >= 31) return sign | 0x7c00; // ≥ 65536: infinity
  if (e >= 1) {
    let h = (e << 10) | (mantissa >>> 13);
    const dropped = mantissa & 0x1fff;
    if (dropped > 0x1000 || (dropped === 0x1000 && h & 1)) h++; // a carry may reach infinity: correct
    return sign | h;
  }
  if (e < -10) return sign; // below half the smallest subnormal (2^-25): ±0
  // F16 subnormal: value / 2^-24 = significand >> (14 - e), rounded to nearest even
  const significand = mantissa | 0x800000;
  const shift = 14 - e;
  let h = significand >>> shift;
  const dropped = significand & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (dropped > half || (dropped === half && h & 1)) h++; // may become 0x400, the smallest normal
  return sign | h;
}

/** One float32 bit pattern → BF16 bits, round to nearest even; NaN stays NaN. */
function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 values → F16 bit patterns (round to nearest even). */
export function f32ToF16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return out;
}

/** float32 values → BF16 bit patterns (round to nearest even). */
export function f32ToBf16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16Bits(bits[i]!);
  return out;
}
