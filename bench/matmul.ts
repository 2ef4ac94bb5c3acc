/**
 * Matmul benchmark and check on webgpu: tfjs's fp32 kernel against layercut's tensor-core kernel
 * ('mixed': f16 subgroup matrices, f32 accumulation; src/runtime/tensor-core-matmul.ts), on the
 * shapes of a GPT2-XL training step (forward and both backward products) and attention, plus
 * ragged shapes that exercise the edge tiles and a broadcast batch; then the fused AdamW and the
 * fused LayerNorm, GELU and attention-softmax programs against their tfjs formulations.
 *
 *   node --import tsx bench/matmul.ts [--iterations 20] [--dawn-toggles a,b]
 *   node --import tsx bench/matmul.ts --schedules [--iterations 20] [--dawn-toggles a,b]
 *
 * One JSON line per shape (ms and TFLOP/s of each kernel, the mixed result's largest error
 * relative to fp32 and to the kernel's CPU model) and per fused check, on stdout. It asserts:
 * every check within its tolerance (bench/gpu-checks.ts), else a FAIL line on stderr and exit
 * status 1. Runs on the GPU machine (bench/device-issue9.sh, bench/device-gpu-suite.sh).
 *
 * `--schedules` instead times the tensor-core kernel under each schedule of `schedules` below
 * (subgroups, depth, pipelining, tile policy: src/runtime/tensor-core-matmul.ts) on the products
 * of a GPT2-XL and a GPT-2 small training step: one JSON line per schedule and product (ms,
 * TFLOP/s, largest error relative to tfjs's fp32 result, which must stay within 1e-2), then one
 * line per schedule with the geometric mean TFLOP/s over the products, best first. It also prints
 * the device's maxComputeWorkgroupStorageSize, which decides which schedules fit.
 */
import { parseArgs } from 'node:util';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import {
  defaultSchedule,
  setMatMulPrecision,
  setMatMulSchedule,
  setTensorCoresForEveryShape,
  tensorCoreMatrix,
  type MatMulSchedule,
} from '../src/runtime/tensor-core-matmul.js';
import * as tf from '@tensorflow/tfjs';
import { activeWebGpuDevice } from '../src/runtime/webgpu.js';
import {
  adamwCheck,
  checkLine,
  fusedKernelChecks,
  matmulCase,
  matmulCases,
  maxDifference,
  passes,
  timeMs,
  type Check,
} from './gpu-checks.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' },
    'dawn-toggles': { type: 'string' },
    schedules: { type: 'boolean', default: false },
  },
});
const iterations = Number(values.iterations);

const toggles = values['dawn-toggles']?.split(',').filter(Boolean);
const report = await initBackend({
  backend: 'webgpu',
  ...(toggles ? { webgpu: { dawnToggles: toggles } } : {}),
});
process.stderr.write(`backend ${report.name}: ${report.detail}\n`);
const matrix = tensorCoreMatrix();
// every case through the tensor-core kernel, even those 'mixed' training leaves to tfjs
setTensorCoresForEveryShape(true);
process.stderr.write(
  `tensor-core matmul: ${matrix ? `${matrix.m}x${matrix.n}x${matrix.k} f16` : 'not available'}\n`,
);

/** The schedules `--schedules` compares, the default first. */
const schedules: MatMulSchedule[] = [
  defaultSchedule,
  ...[132, 264, 528].map((fill) => ({ ...defaultSchedule, fill })),
  { ...defaultSchedule, pipeline: 'registers' },
  { ...defaultSchedule, tiles: 'fit' },
  { ...defaultSchedule, tiles: 'fit', fill: 264 },
  { subgroups: 4, depth: 64, pipeline: 'double', tiles: 'fit', fill: 0 },
  { subgroups: 4, depth: 64, pipeline: 'double', tiles: 'fit', fill: 264 },
  { subgroups: 8, depth: 64, pipeline: 'double', tiles: 'fit', fill: 0 },
];
const tokens = 16 * 128;
/** [name, A shape, B shape, transposeA, transposeB]: a training step's linear products (16×128 and 1×128 tokens). */
const stepProducts: [string, number[], number[], boolean, boolean][] = [
  ['xl mlp up x·W', [tokens, 1600], [1600, 6400], false, false],
  ['xl mlp up dX dY·Wᵀ', [tokens, 6400], [1600, 6400], false, true],
  ['xl mlp up dW xᵀ·dY', [tokens, 1600], [tokens, 6400], true, false],
  ['xl mlp down x·W', [tokens, 6400], [6400, 1600], false, false],
  ['xl qkv x·W', [tokens, 1600], [1600, 4800], false, false],
  ['xl attn proj x·W', [tokens, 1600], [1600, 1600], false, false],
  ['xl attn proj dW xᵀ·dY', [tokens, 1600], [tokens, 1600], true, false],
  ['small mlp up x·W', [tokens, 768], [768, 3072], false, false],
  ['small mlp down x·W', [tokens, 3072], [3072, 768], false, false],
  ['small qkv x·W', [tokens, 768], [768, 2304], false, false],
  ['small attn proj x·W', [tokens, 768], [768, 768], false, false],
  ['small attn proj dX dY·Wᵀ', [tokens, 768], [768, 768], false, true],
  ['small attn proj dW xᵀ·dY', [tokens, 768], [tokens, 768], true, false],
  ['small mlp up dW xᵀ·dY', [tokens, 768], [tokens, 3072], true, false],
  ['xl 1x128 mlp up x·W', [128, 1600], [1600, 6400], false, false],
  ['xl 1x128 mlp down x·W', [128, 6400], [6400, 1600], false, false],
  ['xl 1x128 qkv x·W', [128, 1600], [1600, 4800], false, false],
  ['xl 1x128 attn proj dX dY·Wᵀ', [128, 1600], [1600, 1600], false, true],
];

async function compareSchedules(): Promise<void> {
  const limit = activeWebGpuDevice()?.limits.maxComputeWorkgroupStorageSize;
  process.stderr.write(`maxComputeWorkgroupStorageSize ${limit}\n`);
  const means: { schedule: MatMulSchedule; tflops: number; worstError: number }[] = [];
  const inputs = stepProducts.map(([, aShape, bShape]) => [
    tf.randomNormal(aShape, 0, 1, 'float32', 1),
    tf.randomNormal(bShape, 0, 1, 'float32', 2),
  ]);
  setMatMulPrecision('fp32');
  const references = stepProducts.map(([, , , tA, tB], i) =>
    tf.matMul(inputs[i]![0]!, inputs[i]![1]!, tA, tB),
  );
  // tfjs's fp32 kernel on each product, the peer of the tensor cores at batch 1
  for (const [i, [name, aShape, , tA, tB]] of stepProducts.entries()) {
    const ms = await timeMs(() => tf.matMul(inputs[i]![0]!, inputs[i]![1]!, tA, tB), iterations);
    const inner = tA ? aShape.at(-2)! : aShape.at(-1)!;
    const tflops = (2 * references[i]!.size * inner) / ms / 1e9;
    console.log(
      JSON.stringify({ schedule: 'tfjs fp32', case: name, ms: +ms.toFixed(3), tflops: +tflops.toFixed(1) }),
    );
  }
  setMatMulPrecision('mixed');
  for (const schedule of schedules) {
    setMatMulSchedule(schedule);
    let logSum = 0;
    let worstError = 0;
    for (const [i, [name, aShape, , tA, tB]] of stepProducts.entries()) {
      const [a, b] = inputs[i]!;
      const product = () => tf.matMul(a!, b!, tA, tB);
      const out = product();
      const relativeError = await maxDifference(out, references[i]!, true);
      out.dispose();
      const ms = await timeMs(product, iterations);
      const inner = tA ? aShape.at(-2)! : aShape.at(-1)!;
      const tflops = (2 * references[i]!.size * inner) / ms / 1e9;
      logSum += Math.log(tflops);
      worstError = Math.max(worstError, relativeError);
      console.log(
        JSON.stringify({
          schedule,
          case: name,
          ms: +ms.toFixed(3),
          tflops: +tflops.toFixed(1),
          relativeError,
        }),
      );
    }
    means.push({ schedule, tflops: +Math.exp(logSum / stepProducts.length).toFixed(1), worstError });
  }
  setMatMulSchedule(defaultSchedule);
  setMatMulPrecision('fp32');
  tf.dispose([...inputs.flat(), ...references]);
  means.sort((x, y) => y.tflops - x.tflops);
  for (const m of means) console.log(JSON.stringify({ summary: 'geometric mean TFLOP/s', ...m }));
  const wrong = means.filter((m) => !(m.worstError <= 1e-2));
  for (const m of wrong) process.stderr.write(`FAIL ${JSON.stringify(m.schedule)}: error ${m.worstError}\n`);
  process.exitCode = wrong.length > 0 ? 1 : 0;
}

if (values.schedules) {
  if (!matrix) throw new Error('matmul.ts --schedules: no tensor cores on this device');
  await compareSchedules();
  releaseBackend();
  process.exit();
}

const checks: Check[] = [];
for (const c of matmulCases) {
  const { record, checks: caseChecks } = await matmulCase(c, iterations);
  console.log(JSON.stringify(record));
  checks.push(...caseChecks);
}
const adamw = await adamwCheck();
console.log(JSON.stringify({ check: adamw.name, relativeDiff: adamw.diff, ...adamw.details }));
checks.push(adamw);
for (const check of await fusedKernelChecks()) {
  console.log(
    JSON.stringify({ check: check.name, relativeError: +check.diff.toExponential(2), ...check.details }),
  );
  checks.push(check);
}
setTensorCoresForEveryShape(false);
releaseBackend();

const failed = checks.filter((c) => !passes(c));
for (const c of failed) process.stderr.write(`${checkLine(c)}\n`);
process.stderr.write(`matmul.ts: ${checks.length - failed.length} passed, ${failed.length} failed\n`);
if (!matrix) process.stderr.write('matmul.ts: no tensor cores on this device: the mixed cases did not run\n');
process.exitCode = failed.length > 0 || !matrix ? 1 : 0;
