/**
 * Half-precision converters against known IEEE bit patterns, round-to-nearest-even cases,
 * an exhaustive round trip over all 65536 patterns, and a nearest-value property check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../src/weights/dtypes.js';

const hex = (bits: Iterable<number>): string[] =>
  [...bits].map((b) => '0x' + b.toString(16).padStart(4, '0'));

test('f32ToF16 gives the IEEE binary16 bit patterns, rounding to nearest even', () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2.5, 0xc100],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // just under the rounding midpoint to infinity
    [65520, 0x7c00], // the midpoint: ties to even = infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [0.1, 0x2e66],
    [2 ** -14, 0x0400], // smallest normal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -24, 0x0001], // smallest subnormal
    [1e-5, 0x00a8], // 167.77 × 2^-24 → 168
    [1023.5 * 2 ** -24, 0x0400], // subnormal tie rounds up into the normals (1024 is even)
    [2 ** -25, 0x0000], // half the smallest subnormal: tie to even = 0
    [1.5 * 2 ** -25, 0x0001],
    [-(2 ** -26), 0x8000],
    [1 + 2 ** -11, 0x3c00], // tie between 0x3c00 and 0x3c01: even
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 0x3c01 and 0x3c02: even
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
  ];
  const bits = f32ToF16(new Float32Array(cases.map(([v]) => v)));
  assert.deepEqual(hex(bits), hex(cases.map(([, b]) => b)));
  const nan = f32ToF16(new Float32Array([NaN]))[0]!;
  assert.equal(nan & 0x7c00, 0x7c00);
  assert.notEqual(nan & 0x3ff, 0, 'NaN must not become infinity');
});

test('f16ToF32 decodes normals, subnormals, signed zero, infinities and NaN exactly', () => {
  const values = f16ToF32(
    new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x2e66]),
  );
  assert.deepEqual(
    [...values],
    [1, -2.5, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, -0, Infinity, -Infinity, NaN, 0.0999755859375],
  );
  assert.ok(Object.is(values[6], -0));
});

test('f32ToBf16 rounds to nearest even and keeps NaN a NaN', () => {
  const cases: [number, number][] = [
    [1, 0x3f80],
    [-2.5, 0xc020],
    [65504, 0x4780], // 65504 is not representable: rounds to 65536
    [0.1, 0x3dcd],
    [1 + 2 ** -8, 0x3f80], // tie: even
    [1 + 3 * 2 ** -8, 0x3f82], // tie: even
    [2 ** -130, 0x0008], // float32 subnormal, exact
    [-0, 0x8000],
    [Infinity, 0x7f80],
    [-Infinity, 0xff80],
    [3.4028234663852886e38, 0x7f80], // float32 max rounds up to infinity
    [NaN, 0x7fc0],
  ];
  const bits = f32ToBf16(new Float32Array(cases.map(([v]) => v)));
  assert.deepEqual(hex(bits), hex(cases.map(([, b]) => b)));
  // a NaN whose payload is only in the low 16 bits must not turn into infinity
  const signalling = new Float32Array(new Uint32Array([0x7f800001, 0xff800001]).buffer);
  assert.deepEqual(hex(f32ToBf16(signalling)), hex([0x7fc0, 0xffc0]));
});

test('bf16ToF32 is the top half of a float32', () => {
  const values = bf16ToF32(new Uint16Array([0x3f80, 0xc020, 0x4780, 0x0008, 0x7f80, 0xff80, 0x7fc0]));
  assert.deepEqual([...values], [1, -2.5, 65536, 2 ** -130, Infinity, -Infinity, NaN]);
});

test('every F16 and BF16 pattern survives half → float32 → half unchanged (NaNs stay NaN)', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  for (const [decode, encode, name] of [
    [f16ToF32, f32ToF16, 'F16'],
    [bf16ToF32, f32ToBf16, 'BF16'],
  ] as const) {
    const back = encode(decode(all));
    const floats = decode(all);
    let mismatches = 0;
    for (let h = 0; h < 65536; h++) {
      if (Number.isNaN(floats[h])) {
        if (!Number.isNaN(decode(new Uint16Array([back[h]!]))[0])) mismatches++;
      } else if (back[h] !== h) {
        mismatches++;
      }
    }
    assert.equal(mismatches, 0, `${name} round trip`);
  }
});

test('f32ToF16 picks the nearest F16 value (ties to even) for random floats of every magnitude', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const inputs = new Float32Array(20000).map(
    () => (random() < 0.5 ? -1 : 1) * 2 ** (random() * 44 - 28) * (1 + random()),
  );
  const bits = f32ToF16(inputs);
  const decoded = f16ToF32(bits);
  for (let i = 0; i < inputs.length; i++) {
    const x = inputs[i]!;
    const h = bits[i]!;
    if (Math.abs(x) >= 65520) {
      assert.equal(decoded[i], Math.sign(x) * Infinity, `overflow of ${x}`);
      continue;
    }
    const error = Math.abs(decoded[i]! - x);
    // neighbours one unit in the last place away (same sign)
    for (const neighbour of [h - 1, h + 1]) {
      if ((neighbour & 0x7fff) > 0x7bff || (neighbour & 0x8000) !== (h & 0x8000)) continue;
      const other = Math.abs(f16ToF32(new Uint16Array([neighbour]))[0]! - x);
      assert.ok(error < other || (error === other && (h & 1) === 0), `${x} → 0x${h.toString(16)}`);
    }
  }
});

test('widening works in place, with the half bits stored in the upper half of the output bytes', () => {
  for (const decode of [f16ToF32, bf16ToF32]) {
    const count = 65536;
    const out = new Float32Array(count);
    const half = new Uint16Array(out.buffer, 2 * count, count);
    half.forEach((_, i) => (half[i] = i));
    const fresh = decode(new Uint16Array(half));
    decode(half, out);
    assert.deepEqual(new Uint8Array(out.buffer), new Uint8Array(fresh.buffer), decode.name);
  }
});
