/**
 * Matmul benchmark and check on webgpu: tfjs's fp32 kernel against layercut's tensor-core kernel
 * ('mixed': f16 subgroup matrices, f32 accumulation; src/runtime/tensor-core-matmul.ts), on the
 * shapes of a GPT2-XL training step (forward and both backward products) and attention, plus
 * ragged shapes that exercise the edge tiles and a broadcast batch; then the fused AdamW and the
 * fused LayerNorm, GELU and attention-softmax programs against their tfjs formulations.
 *
 *   node --import tsx bench/matmul.ts [--iterations 20] [--dawn-toggles a,b]
 *
 * One JSON line per shape (ms and TFLOP/s of each kernel, the mixed result's largest error
 * relative to fp32 and to the kernel's CPU model) and per fused check, on stdout. It asserts:
 * every check within its tolerance (bench/gpu-checks.ts), else a FAIL line on stderr and exit
 * status 1. Runs on the GPU machine (bench/device-issue9.sh, bench/device-gpu-suite.sh).
 */
import { parseArgs } from 'node:util';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import { setTensorCoresForEveryShape, tensorCoreMatrix } from '../src/runtime/tensor-core-matmul.js';
import {
  adamwCheck,
  checkLine,
  fusedKernelChecks,
  matmulCase,
  matmulCases,
  passes,
  type Check,
} from './gpu-checks.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' },
    'dawn-toggles': { type: 'string' },
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
