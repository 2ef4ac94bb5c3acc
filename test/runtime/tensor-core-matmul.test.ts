// The tensor-core matmul's host-side parts: tiling, padding, config choice, its CPU reference
// (f16-rounded inputs, exact sums), and the directive hoisting its shaders need. The kernel itself
// runs only on a GPU with subgroup matrices: bench/matmul.ts checks it against this reference there.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hoistShaderDirectives } from '../../src/runtime/shader-directives.js';
import {
  mixedMatMulReference,
  pickSubgroupMatrix,
  roundToFloat16,
  TensorCoreMatMulProgram,
  tensorCoreMatMulSource,
  tilingFor,
  defaultSchedule,
  planProduct,
  innerChunk,
} from '../../src/runtime/tensor-core-matmul.js';

const matrix = { m: 16, n: 16, k: 16 };

it('rounds to IEEE halves: 11 significant bits, ties to even, subnormals, overflow', () => {
  assert.equal(roundToFloat16(1), 1);
  assert.equal(roundToFloat16(1 + 2 ** -11), 1); // a tie: to the even neighbour, 1
  assert.equal(roundToFloat16(1 + 3 * 2 ** -11), 1 + 2 * 2 ** -10); // a tie: to the even one above
  assert.equal(roundToFloat16(1 + 2 ** -10), 1 + 2 ** -10); // representable
  assert.equal(roundToFloat16(0.1), 0.0999755859375); // the half nearest 0.1
  assert.equal(roundToFloat16(-2049), -2048); // above 2048 halves step by 2
  assert.equal(roundToFloat16(65504), 65504);
  assert.equal(roundToFloat16(70000), Infinity);
  assert.equal(roundToFloat16(2 ** -24), 2 ** -24); // the smallest subnormal
  assert.equal(roundToFloat16(2 ** -26), 0); // below half of it
  assert.equal(roundToFloat16(3 * 2 ** -25), 2 * 2 ** -24); // a tie between subnormals: to even
});

it('the CPU reference multiplies f16-rounded inputs exactly', () => {
  // [[1, 0.1], [2049, 1]] · [[1, 2], [3, 4]] with 0.1 → 0.0999755859375 and 2049 → 2048
  const out = mixedMatMulReference(
    new Float32Array([1, 0.1, 2049, 1]),
    new Float32Array([1, 2, 3, 4]),
    2,
    2,
    2,
  );
  const h = 0.0999755859375;
  assert.deepEqual([...out], [1 + 3 * h, 2 + 4 * h, 2048 + 3, 4096 + 4]);
});

it('tiles outputs by 128 or 64 and pads only what no tile divides', () => {
  assert.deepEqual([tilingFor(matrix, 2048, 6400).rows, tilingFor(matrix, 2048, 6400).cols], [128, 128]);
  const fit = { ...defaultSchedule, tiles: 'fit' as const };
  const wide = { ...defaultSchedule, tiles: 'wide' as const };
  const sides = (plan: typeof fit | typeof wide) => {
    const t = tilingFor(matrix, 1600, 4800, Infinity, plan);
    return [t.rows, t.cols];
  };
  // 'fit': 64 where 128 would pad; 'wide' (the default): 128 from 512 up, the edge tiles padded
  assert.deepEqual(sides(fit), [64, 64]);
  assert.deepEqual(sides(wide), [128, 128]);
  // 77 rows: two 64-row tiles; 1000 columns: eight 128-column tiles; the output is sliced after
  const program = new TensorCoreMatMulProgram(3, 77, 1000, true, true, 1, matrix);
  assert.deepEqual(program.outputShape, [3, 128, 1024]);
  assert.deepEqual(program.dispatch, [8, 2, 3]);
  assert.deepEqual(program.workgroupSize, [256, 1, 1]);
});

it('checks only the ragged sides and pads only sides that are not whole result matrices', () => {
  // GPT2-XL's qkv at 16×128: 4800 columns end in half a 128-wide tile, but are 300 result matrices
  const qkv = planProduct(matrix, { batch: 1, rows: 2048, cols: 4800, inner: 1600 });
  assert.deepEqual(qkv.layout.ragged, { M: false, N: true, K: false });
  assert.deepEqual(qkv.outputShape, [1, 2048, 4800]); // not padded to 4864: no slice after
  assert.deepEqual(qkv.dispatch, [38, 16, 1]);
  const program = new TensorCoreMatMulProgram(1, 2048, 4800, false, false, 4, matrix, Infinity, 1600);
  assert.match(program.shaderKey, /_storesN_checksN$/);
  const source = program.getUserCode();
  assert.match(source, /if \(col < N\)/); // B's columns checked
  assert.doesNotMatch(source, /row < M|col < K|row < K/); // A and B's rows are not
  assert.match(source, /if \(n0 \+ i32\(warpCol0\) \+ \d+ < N\) \{ subgroupMatrixStore/);
  // 77 × 1000: neither a whole number of 16 × 16 matrices, both padded
  assert.deepEqual(
    planProduct(matrix, { batch: 1, rows: 77, cols: 1000, inner: 64 }).outputShape,
    [1, 128, 1024],
  );
});

it('splits the inner dimension of products too few workgroups would compute', () => {
  const filling = { ...defaultSchedule, fill: 264 };
  // GPT-2 small's attention projection at 16×128: 16 × 6 tiles of 128, K = 768 in 24 steps of 32
  const proj = planProduct(matrix, { batch: 1, rows: 2048, cols: 768, inner: 768 }, Infinity, filling);
  assert.equal(proj.layout.chunk, 256); // 3 chunks of 8 steps: 288 workgroups
  assert.equal(proj.splits, 3);
  assert.deepEqual(proj.outputShape, [3, 2048, 768]);
  assert.deepEqual(proj.dispatch, [6, 16, 3]);
  // its weight gradient: 6 × 6 tiles over K = 2048 tokens: the most chunks, 8
  assert.equal(
    planProduct(matrix, { batch: 1, rows: 768, cols: 768, inner: 2048 }, Infinity, filling).splits,
    8,
  );
  // enough tiles already (GPT2-XL's MLP: 16 × 50), or no fill asked for: no split
  assert.equal(
    planProduct(matrix, { batch: 1, rows: 2048, cols: 6400, inner: 1600 }, Infinity, filling).splits,
    1,
  );
  assert.equal(
    planProduct(matrix, { batch: 1, rows: 2048, cols: 768, inner: 768 }, Infinity, {
      ...defaultSchedule,
      fill: 0,
    }).splits,
    1,
  );
  // chunks divide K's steps (50 steps of 32: 5 of 10, not 8 of 6.25) and take at least 8 steps
  assert.equal(innerChunk({ depth: 32 }, 13, 1600, 264), 320);
  assert.equal(innerChunk({ depth: 32 }, 13, 32 * 19, 264), undefined); // 19 steps: prime
  assert.equal(innerChunk({ depth: 32 }, 13, 32 * 15, 264), undefined); // under 2 × 8 steps
  assert.equal(innerChunk({ depth: 32 }, 13, undefined, 264), undefined); // K unknown
});

it('plans each product once per schedule, and anew when any part of the schedule differs', () => {
  const shape = { batch: 1, rows: 2048, cols: 768, inner: 768 };
  const plan = planProduct(matrix, shape, 16384, defaultSchedule);
  assert.equal(planProduct(matrix, { ...shape }, 16384, { ...defaultSchedule }), plan); // the same plan
  assert.ok(Object.isFrozen(plan));
  const deep = planProduct(matrix, shape, Infinity, { ...defaultSchedule, depth: 64 });
  assert.deepEqual([plan.tiling.depth, deep.tiling.depth], [32, 64]);
  assert.notEqual(planProduct(matrix, shape, Infinity, defaultSchedule), plan); // other workgroup memory
  assert.equal(planProduct(matrix, shape, Infinity, { ...defaultSchedule, depth: 64 }), deep);
  assert.notEqual(planProduct(matrix, { ...shape, inner: 1536 }, 16384, defaultSchedule), plan);
  // a program copies the plan's shapes (tfjs may reshape a dispatch)
  const program = new TensorCoreMatMulProgram(1, 2048, 768, false, false, 4, matrix, 16384, 768);
  assert.notEqual(program.dispatch, planProduct(matrix, shape, 16384).dispatch);
  assert.deepEqual(program.dispatch, planProduct(matrix, shape, 16384).dispatch);
});

it('loads a transposed operand column-major from a tile in its own layout', () => {
  const plain = tensorCoreMatMulSource(tilingFor(matrix, 128, 128), false, false, 4);
  const transposed = tensorCoreMatMulSource(tilingFor(matrix, 128, 128), true, true, 4);
  assert.match(plain, /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>/);
  assert.match(plain, /subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>/);
  assert.match(transposed, /subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, col_major>/);
  assert.match(transposed, /subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>/);
  // 4 × 2 result matrices per subgroup in a 128 × 128 tile of 8 subgroups
  assert.equal(plain.match(/subgroupMatrixMultiplyAccumulate/g)?.length, 8);
  assert.equal(plain.match(/subgroupMatrixStore/g)?.length, 8);
});

it('uses an f16 → f32 16×16 subgroup-matrix config, or none', () => {
  const config = (componentType: string, resultComponentType: string, M: number, N: number, K: number) => ({
    componentType,
    resultComponentType,
    M,
    N,
    K,
  });
  assert.deepEqual(
    pickSubgroupMatrix([config('f16', 'f16', 16, 16, 16), config('f16', 'f32', 16, 16, 16)]),
    matrix,
  );
  assert.equal(
    pickSubgroupMatrix([config('f16', 'f16', 16, 16, 16), config('f16', 'f32', 8, 8, 8)]),
    undefined,
  );
  assert.equal(pickSubgroupMatrix([]), undefined);
});

it('moves WGSL directives ahead of tfjs’s header, once each', () => {
  const code =
    'struct Uniforms { x : f32 };\nenable f16;\nfn main() {}\n  enable f16;\ndiagnostic(off, derivative_uniformity);\n';
  const hoisted = hoistShaderDirectives(code);
  assert.equal(
    hoisted,
    'enable f16;\ndiagnostic(off, derivative_uniformity);\nstruct Uniforms { x : f32 };\n\nfn main() {}\n\n\n',
  );
  assert.equal(hoistShaderDirectives('fn main() {}'), 'fn main() {}');
  // an attribute is not a directive
  assert.equal(hoistShaderDirectives('@diagnostic(off, x) fn f() {}'), '@diagnostic(off, x) fn f() {}');
});
