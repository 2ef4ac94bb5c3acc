/**
 * Checks of layercut's WebGPU programs against their references, run on a GPU by bench/matmul.ts
 * (with timings) and bench/gpu-suite.ts (npm run test:gpu). Each returns `Check`s: a name, the
 * largest difference, the tolerance it must stay within, and the figures that go with it.
 *
 *   tensor-core matmul  against the CPU model `mixedMatMulReference` (f16-rounded inputs, exact
 *                       sums) and against tfjs's fp32 kernel
 *   fused programs      LayerNorm, GELU, attention softmax against their tfjs-op formulations
 *   fused AdamW         against the tfjs-ops AdamW, three steps
 *   matMulBias          x·W + b with the bias in the matmul's epilogue, against matMul + add
 *   gather gradient     the row scatter against tfjs's unsorted segment sum
 *   cross-entropy       the fused loss over label-word scores against tfjs ops
 *   early AdamW         AdamW applied during the backward pass against after it (GPT-2 fixture)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { activation } from '../src/models/layers.js';
import { attentionProbabilities } from '../src/runtime/ops/attention.js';
import { causalMaskBias, paddingMaskBias, positionsFromMask } from '../src/runtime/ops/masks.js';
import { addLayerNorm, layerNorm, layerNormOfSum } from '../src/runtime/ops/norms.js';
import { fewIds } from '../src/runtime/fused/scatter-rows.js';
import { setPlainOps } from '../src/runtime/flags.js';
import { matMulBias } from '../src/runtime/ops/linear.js';
import {
  defaultSchedule,
  mixedMatMulReference,
  setMatMulPrecision,
  setMatMulSchedule,
  SplitSumProgram,
  tensorCoreMatrix,
  type MatMulPrecision,
} from '../src/runtime/tensor-core-matmul.js';
import { runProgram } from '../src/runtime/fused/program.js';
import { loadModel } from '../src/models/load.js';
import { variableGrads } from '../src/runtime/gradients.js';
import { crossEntropy, promptLmLoss, type PromptBatch } from '../src/train/objectives.js';
import { AdamW } from '../src/train/optimizers.js';

/** One compared quantity. `diff` is relative to the reference's largest |value| when `relative`. */
export interface Check {
  name: string;
  diff: number;
  tolerance: number;
  relative: boolean;
  /** Timings and shapes, for the JSON line. */
  details?: Record<string, unknown>;
  /** Set when the check could not run (counts as a failure). */
  error?: string;
}

export const passes = (c: Check): boolean =>
  c.error === undefined && Number.isFinite(c.diff) && c.diff <= c.tolerance;

/** "ok    name    max|Δ| 1.2e-07 (relative, tolerance 1e-5)" */
export function checkLine(c: Check): string {
  const verdict = passes(c) ? 'ok  ' : 'FAIL';
  const what = c.error
    ? `error: ${c.error}`
    : `max|Δ| ${c.diff.toExponential(2)}${c.relative ? ' rel' : ''} (tol ${c.tolerance.toExponential(0)})`;
  return `${verdict}  ${c.name.padEnd(58)} ${what}`;
}

/**
 * max |a − b| / max |b| when relative, else max |a − b|, computed on the host from both tensors'
 * values (a device that computes nothing must not pass its own comparison). NaN anywhere → NaN.
 */
export async function maxDifference(a: tf.Tensor, b: tf.Tensor, relative: boolean): Promise<number> {
  if (a.shape.join() !== b.shape.join()) return NaN;
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let worst = 0;
  let largest = 0;
  for (let i = 0; i < y.length; i++) {
    const d = Math.abs(x[i]! - y[i]!);
    if (!(d <= worst)) worst = d; // NaN replaces worst and stays
    largest = Math.max(largest, Math.abs(y[i]!));
  }
  return relative ? worst / largest : worst;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message.split('\n').slice(0, 4).join(' | ') : String(error);
}

export interface MatmulCase {
  name: string;
  /** [batch, rows, inner] of A before any transpose, and the same for B. */
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
  /** The schedule's `fill` for the mixed run (a product of fewer workgroups splits its inner dimension). */
  fill?: number;
}

const tokens = 16 * 128;
/** Fill past any product's workgroups: every product that can split does. */
const splitAlways = 1 << 20;
/** GPT2-XL training shapes (forward and both backward products), attention, ragged and broadcast. */
export const matmulCases: MatmulCase[] = [
  { name: 'xl mlp up: x·W', a: [tokens, 1600], b: [1600, 6400], transposeA: false, transposeB: false },
  { name: 'xl mlp up dX: dY·Wᵀ', a: [tokens, 6400], b: [1600, 6400], transposeA: false, transposeB: true },
  { name: 'xl mlp up dW: xᵀ·dY', a: [tokens, 1600], b: [tokens, 6400], transposeA: true, transposeB: false },
  { name: 'xl qkv: x·W', a: [tokens, 1600], b: [1600, 4800], transposeA: false, transposeB: false },
  { name: 'xl attn scores: q·kᵀ', a: [400, 128, 64], b: [400, 128, 64], transposeA: false, transposeB: true },
  { name: 'xl attn out: p·v', a: [400, 128, 128], b: [400, 128, 64], transposeA: false, transposeB: false },
  { name: 'xl attn dP: pᵀ·dO', a: [400, 128, 128], b: [400, 128, 64], transposeA: true, transposeB: false },
  { name: 'small mlp up: x·W', a: [tokens, 768], b: [768, 3072], transposeA: false, transposeB: false },
  { name: 'mid 512x512x512', a: [512, 512], b: [512, 512], transposeA: false, transposeB: false },
  { name: 'mid tA tB 384x448x256', a: [256, 384], b: [448, 256], transposeA: true, transposeB: true },
  { name: 'ragged 1000x700x300', a: [1000, 300], b: [300, 700], transposeA: false, transposeB: false },
  { name: 'ragged tA tB 77x50x200', a: [3, 200, 77], b: [3, 50, 200], transposeA: true, transposeB: true },
  {
    name: 'broadcast batch 8x(130x96)·(96x260)',
    a: [8, 130, 96],
    b: [96, 260],
    transposeA: false,
    transposeB: false,
  },
  // the inner dimension split into chunks, each a workgroup's partial sum, then added
  {
    name: 'split small attn proj: x·W',
    a: [tokens, 768],
    b: [768, 768],
    transposeA: false,
    transposeB: false,
    fill: 264,
  },
  {
    name: 'split small attn proj dW: xᵀ·dY',
    a: [tokens, 768],
    b: [tokens, 768],
    transposeA: true,
    transposeB: false,
    fill: 264,
  },
  {
    name: 'split xl 1x128 mlp down: x·W',
    a: [128, 6400],
    b: [6400, 1600],
    transposeA: false,
    transposeB: false,
    fill: 264,
  },
  {
    name: 'split ragged tA 70x630x90',
    a: [630, 70],
    b: [630, 90],
    transposeA: true,
    transposeB: false,
    fill: splitAlways,
  },
  {
    name: 'split batched tB 2x(96x1000)·(80x1000)ᵀ',
    a: [2, 96, 1000],
    b: [2, 80, 1000],
    transposeA: false,
    transposeB: true,
    fill: splitAlways,
  },
];

/** Mixed against fp32 (f16 inputs: about 1e-3 of the largest value) and against the CPU model of the kernel. */
const mixedVsFp32Tolerance = 1e-2;
const mixedVsModelTolerance = 1e-5;

/**
 * Milliseconds per call of `fn`: the median of `repeats` runs of `iterations` calls queued back
 * to back (each output freed once the next is queued, as a training step frees its temporaries;
 * one read-back per run), after two warm-up calls.
 */
export async function timeMs(fn: () => tf.Tensor, iterations: number, repeats = 5): Promise<number> {
  for (let i = 0; i < 2; i++) {
    const warm = fn();
    await warm.data();
    warm.dispose();
  }
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    let last = fn();
    for (let i = 1; i < iterations; i++) {
      const next = fn();
      last.dispose();
      last = next;
    }
    const first = tf.slice(last.reshape([-1]), 0, 1);
    await first.data();
    runs.push((performance.now() - start) / iterations);
    tf.dispose([first, last]);
  }
  runs.sort((x, y) => x - y);
  return runs[Math.floor(runs.length / 2)]!;
}

/**
 * One matmul case in fp32 (tfjs) and mixed (tensor cores; the caller forces them for every shape):
 * the JSON record bench/matmul.ts prints, and its checks.
 */
export async function matmulCase(
  c: MatmulCase,
  iterations: number,
): Promise<{ record: Record<string, unknown>; checks: Check[] }> {
  const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
  const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
  const product = () => tf.matMul(a, b, c.transposeA, c.transposeB);
  const record: Record<string, unknown> = {
    case: c.name,
    a: c.a,
    b: c.b,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
  };
  const checks: Check[] = [];
  const outputs: Partial<Record<MatMulPrecision, tf.Tensor>> = {};
  const inner = c.transposeA ? c.a.at(-2)! : c.a.at(-1)!;
  for (const precision of ['fp32', 'mixed'] as const) {
    if (precision === 'mixed' && !tensorCoreMatrix()) continue;
    setMatMulPrecision(precision);
    if (precision === 'mixed' && c.fill !== undefined)
      setMatMulSchedule({ ...defaultSchedule, fill: c.fill });
    try {
      const out = product();
      outputs[precision] = out;
      await out.data();
      const ms = await timeMs(product, iterations);
      record[`${precision}Ms`] = +ms.toFixed(3);
      record[`${precision}Tflops`] = +((2 * out.size * inner) / ms / 1e9).toFixed(1);
    } catch (error) {
      record[`${precision}Error`] = errorText(error);
      checks.push({
        name: `matmul ${c.name} (${precision})`,
        diff: NaN,
        tolerance: 0,
        relative: true,
        error: errorText(error),
      });
    }
  }
  setMatMulPrecision('fp32');
  setMatMulSchedule(defaultSchedule);
  if (outputs.fp32 && outputs.mixed) {
    const sameShape = outputs.mixed.shape.join() === outputs.fp32.shape.join();
    record.shape = outputs.mixed.shape;
    record.sameShape = sameShape;
    if (!sameShape) {
      checks.push({
        name: `matmul ${c.name}: shape`,
        diff: NaN,
        tolerance: 0,
        relative: false,
        error: `mixed ${outputs.mixed.shape} vs fp32 ${outputs.fp32.shape}`,
      });
    } else {
      const relativeError = await maxDifference(outputs.mixed, outputs.fp32, true);
      record.relativeError = +relativeError.toExponential(2);
      checks.push({
        name: `matmul ${c.name}: mixed vs fp32`,
        diff: relativeError,
        tolerance: mixedVsFp32Tolerance,
        relative: true,
      });
    }
    // against the CPU model, on the first batch of shapes small enough for the host
    const [rows, cols] = outputs.mixed.shape.slice(-2) as [number, number];
    if (rows * cols * inner <= 2 ** 27) {
      const [a2, b2] = tf.tidy(() => {
        const first = (t: tf.Tensor) =>
          t.rank === 3 ? t.slice([0, 0, 0], [1, -1, -1]).reshape(t.shape.slice(1)) : t;
        const a0 = first(a) as tf.Tensor2D;
        const b0 = first(b) as tf.Tensor2D;
        return [c.transposeA ? a0.transpose() : a0, c.transposeB ? b0.transpose() : b0];
      });
      const reference = mixedMatMulReference(
        (await a2.data()) as Float32Array,
        (await b2.data()) as Float32Array,
        rows,
        inner,
        cols,
      );
      const mixedFirst = (await outputs.mixed.data()).subarray(0, rows * cols);
      let worst = 0;
      let largest = 0;
      reference.forEach((r, i) => {
        worst = Math.max(worst, Math.abs(r - mixedFirst[i]!));
        largest = Math.max(largest, Math.abs(r));
      });
      record.errorVsF16Reference = +(worst / largest).toExponential(2);
      checks.push({
        name: `matmul ${c.name}: mixed vs CPU model`,
        diff: worst / largest,
        tolerance: mixedVsModelTolerance,
        relative: true,
      });
      tf.dispose([a2, b2]);
    }
  }
  tf.dispose([a, b, outputs.fp32, outputs.mixed].filter((t): t is tf.Tensor => t !== undefined));
  return { record, checks };
}

/**
 * Fused in-place AdamW (src/runtime/fused-adamw.ts) against the plain tfjs-ops AdamW on the same
 * device: three steps on the same parameters and gradients, largest parameter difference. The
 * parameters go two to a pass: a larger first one (twice), a larger second one, one alone.
 */
export async function adamwCheck(): Promise<Check> {
  const shapes = [[50257, 64], [1600], [1600, 4800], [7], [3], [2048, 33], [5, 5]];
  const finals: Float32Array[][] = [];
  const times: number[] = [];
  for (const plain of [false, true]) {
    setPlainOps(plain);
    // variables that own their data (the fused pass updates only those in place)
    const params = new Map(
      shapes.map((shape, i) => {
        const init = tf.randomNormal(shape, 0, 0.02, 'float32', 10 + i);
        const variable = tf.variable(init);
        init.dispose();
        return [`p${i}`, variable];
      }),
    );
    const optimizer = new AdamW(params, { weightDecay: 0.01 });
    const start = performance.now();
    for (let step = 0; step < 3; step++) {
      const grads = Object.fromEntries(
        shapes.map((shape, i) => [`p${i}`, tf.randomNormal(shape, 0, 1e-3, 'float32', 100 * step + i + 1)]),
      );
      optimizer.step(grads, 1e-3);
      tf.dispose(Object.values(grads));
    }
    finals.push(await Promise.all([...params.values()].map((p) => p.data() as Promise<Float32Array>)));
    times.push(performance.now() - start);
    optimizer.dispose();
    tf.dispose([...params.values()]);
  }
  setPlainOps(undefined);
  let maxDiff = 0;
  let maxValue = 0;
  finals[0]!.forEach((fused, i) => {
    const plain = finals[1]![i]!;
    for (let j = 0; j < fused.length; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(fused[j]! - plain[j]!));
      maxValue = Math.max(maxValue, Math.abs(plain[j]!));
    }
  });
  return {
    name: 'fused AdamW vs tfjs-ops AdamW, 3 steps',
    diff: maxDiff / maxValue,
    tolerance: 1e-5,
    relative: true,
    details: { maxAbsDiff: maxDiff, maxAbsValue: maxValue, ms: times.map((t) => +t.toFixed(1)) },
  };
}

/** The mask programs (src/runtime/fused/masks.ts) against tfjs ops: positions and causal bias, exactly. */
export async function maskChecks(): Promise<Check[]> {
  const checks: Check[] = [];
  // rows padded on the right after 0…T tokens, and one with a hole (what tfjs's cumsum gives there too)
  const [batch, seq] = [5, 77];
  const values = Array.from({ length: batch * seq }, (_, i) => {
    const [row, t] = [Math.floor(i / seq), i % seq];
    return row === 4 ? (t % 3 === 0 ? 0 : 1) : t < [77, 50, 1, 0][row]! ? 1 : 0;
  });
  const mask = tf.tensor2d(values, [batch, seq], 'int32');
  const run = (fused: boolean) => {
    process.env['LAYERCUT_NO_FUSED_KERNELS'] = fused ? '' : '1';
    try {
      return [positionsFromMask(mask), positionsFromMask(mask, 2), causalMaskBias(mask)];
    } finally {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = '';
    }
  };
  const fused = run(true);
  const plain = run(false);
  const names = ['positions', 'positions + 2 (OPT)', 'causal bias'];
  for (let i = 0; i < names.length; i++) {
    checks.push({
      name: `fused ${names[i]} ${batch}x${seq} vs tfjs ops`,
      diff: await maxDifference(fused[i]!, plain[i]!, false),
      tolerance: 0,
      relative: false,
    });
  }
  tf.dispose([mask, ...fused, ...plain]);
  return checks;
}

/** Fused programs against tfjs ops: |Δ| of values and gradients relative to the largest tfjs value. */
const fusedTolerance = 1e-5;

/**
 * Fused LayerNorm, GELU and attention-softmax programs (src/runtime/fused/) against the tfjs-op
 * formulations they replace, on the same device: values and gradients of Σ(f(x) · r), and the
 * time of 10 forward + backward passes each way.
 */
export async function fusedKernelChecks({ timed = true } = {}): Promise<Check[]> {
  const gelu = activation('gelu_new');
  // masks with real padding: the second sequence of each batch ends early
  const lengths = (batch: number, seq: number) =>
    tf.tensor2d(
      Array.from({ length: batch * seq }, (_, i) => (i % seq < seq - (Math.floor(i / seq) % 2) * 20 ? 1 : 0)),
      [batch, seq],
      'int32',
    );
  const causal = causalMaskBias(lengths(16, 128));
  const padding = paddingMaskBias(lengths(4, 77));
  // [2, 8]: the second sequence's last 3 keys padded
  const shortMask = tf.tensor2d(
    Array.from({ length: 16 }, (_, i) => (i < 13 ? 1 : 0)),
    [2, 8],
    'int32',
  );
  const shortPadding = paddingMaskBias(shortMask);
  // the residual added before the norm, and both outputs used: s / 2 + LayerNorm(s), s = x + residual
  const residuals = new Map<string, tf.Tensor>();
  const residualOf = (x: tf.Tensor) => {
    const key = x.shape.join('x');
    if (!residuals.has(key)) residuals.set(key, tf.keep(tf.randomNormal(x.shape, 0, 1, 'float32', 9)));
    return residuals.get(key)!;
  };
  const addNorm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const [sum, normed] = addLayerNorm(x, residualOf(x), g, b, 1e-5);
    return tf.add(tf.mul(sum, 0.5), normed);
  };
  // the sum used by nothing else (the last block's stream before the final norm)
  const normOfSum = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    layerNormOfSum(x, residualOf(x), g, b, 1e-5);
  const cases: {
    name: string;
    shape: number[];
    f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  }[] = [
    // GPT2-XL and GPT-2 small at 16x128 (16 column-sum blocks of 128 rows) and at 1x128 (one block)
    { name: 'layerNorm 2048x1600', shape: [16, 128, 1600], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 2048x768', shape: [16, 128, 768], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 128x1600', shape: [1, 128, 1600], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 128x768', shape: [1, 128, 768], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    // ragged: widths not multiples of 64 or 256, a last block of 44 rows, fewer rows than a block
    { name: 'layerNorm 37x77', shape: [37, 77], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 300x3000', shape: [300, 3000], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    // past 65,535 rows: two rows of workgroups (program.ts's workgroupGrid), 547 column-sum blocks
    { name: 'layerNorm 70000x8 (2-D grid)', shape: [70_000, 8], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm after a residual add 2048x1600', shape: [16, 128, 1600], f: addNorm },
    { name: 'layerNorm after a residual add 128x768', shape: [1, 128, 768], f: addNorm },
    { name: 'layerNorm after a residual add 37x77', shape: [37, 77], f: addNorm },
    { name: 'layerNorm of a sum 2048x768', shape: [16, 128, 768], f: normOfSum },
    { name: 'layerNorm of a sum 37x77', shape: [37, 77], f: normOfSum },
    { name: 'gelu_new 2048x6400', shape: [2048, 6400], f: (x) => gelu(x) },
    { name: 'gelu_new 1000x77 (wide range)', shape: [1000, 77], f: (x) => gelu(tf.mul(x, 8)) },
    {
      name: 'attention softmax 16x25x128x128 causal',
      shape: [16, 25, 128, 128],
      f: (x) => attentionProbabilities(x as tf.Tensor4D, causal, 0.125),
    },
    {
      name: 'attention softmax 4x12x77x77 padding',
      shape: [4, 12, 77, 77],
      f: (x) => attentionProbabilities(x as tf.Tensor4D, padding, 1 / 8),
    },
    {
      // 70,000 rows (b, h, q): a 2-D grid
      name: 'attention softmax 2x5x7000x8 padding (2-D grid)',
      shape: [2, 5, 7000, 8],
      f: (x) => attentionProbabilities(x as tf.Tensor4D, shortPadding, 0.125),
    },
  ];
  const checks: Check[] = [];
  for (const c of cases) {
    const width = c.shape.at(-1)!;
    const x = tf.randomNormal(c.shape, 0.3, 1.5, 'float32', 5);
    const g = tf.randomNormal([width], 1, 0.2, 'float32', 6);
    const b = tf.randomNormal([width], 0, 0.2, 'float32', 7);
    const r = tf.randomNormal(c.shape, 0, 1, 'float32', 8);
    const withGainBias = c.name.startsWith('layerNorm');
    const run = (fused: boolean) => {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = fused ? '' : '1';
      return tf.tidy(() => {
        const value = c.f(x, g, b);
        const grads = withGainBias
          ? tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(c.f(xi, gi, bi), r)))([
              x,
              g,
              b,
            ])
          : tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(c.f(xi, g, b), r)))([x]);
        return [value, ...grads];
      });
    };
    const time = async (fused: boolean) => {
      tf.dispose(run(fused));
      const start = performance.now();
      const outs = Array.from({ length: 10 }, () => run(fused));
      await outs.at(-1)![0]!.data();
      tf.dispose(outs);
      return (performance.now() - start) / 10;
    };
    try {
      const fused = run(true);
      const plain = run(false);
      const labels = withGainBias ? ['value', 'dx', 'dgain', 'dbias'] : ['value', 'dx'];
      const timing = timed
        ? { fusedMs: +(await time(true)).toFixed(2), plainMs: +(await time(false)).toFixed(2) }
        : {};
      for (let i = 0; i < fused.length; i++) {
        checks.push({
          name: `fused ${c.name} ${labels[i]} vs tfjs ops`,
          diff: await maxDifference(fused[i]!, plain[i]!, true),
          tolerance: fusedTolerance,
          relative: true,
          details: timing,
        });
      }
      tf.dispose([...fused, ...plain]);
    } catch (error) {
      checks.push({
        name: `fused ${c.name}`,
        diff: NaN,
        tolerance: fusedTolerance,
        relative: true,
        error: errorText(error),
      });
    } finally {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = '';
    }
    tf.dispose([x, g, b, r]);
  }
  tf.dispose([causal, padding, shortMask, shortPadding, ...residuals.values()]);
  return checks;
}

/**
 * The tensor-core matmul's split sum (src/runtime/tensor-core-matmul.ts, `SplitSumProgram`) on
 * its own, fed partial products: out [batch, rows, cols] = Σ_chunks partials, padding dropped, plus
 * a [cols] bias, against the same sum by tfjs ops. Padded (GPT2-XL-like ragged tiles) and unpadded.
 */
export async function splitSumChecks(): Promise<Check[]> {
  const cases = [
    {
      name: 'split sum 3 chunks of 2x70x90 padded to 128x128',
      chunks: 3,
      batch: 2,
      rows: 70,
      cols: 90,
      padded: [128, 128],
    },
    {
      name: 'split sum 5 chunks of 1x128x4800',
      chunks: 5,
      batch: 1,
      rows: 128,
      cols: 4800,
      padded: [128, 4800],
    },
  ];
  const checks: Check[] = [];
  for (const c of cases) {
    const [paddedRows, paddedCols] = c.padded as [number, number];
    const partials = tf.randomNormal([c.chunks * c.batch, paddedRows, paddedCols], 0, 1, 'float32', 21);
    const bias = tf.randomNormal([c.cols], 0, 1, 'float32', 22);
    const sum = tf.tidy(() =>
      tf.sum(
        tf.slice(tf.reshape(partials, [c.chunks, c.batch, paddedRows, paddedCols]), 0, [
          c.chunks,
          c.batch,
          c.rows,
          c.cols,
        ]),
        0,
      ),
    );
    for (const withBias of [false, true]) {
      const name = `${c.name}${withBias ? ' + bias' : ''}`;
      try {
        const program = new SplitSumProgram([c.batch, c.rows, c.cols], withBias);
        const out = runProgram(program, withBias ? [partials, bias] : [partials]);
        const expected = withBias ? tf.add(sum, bias) : tf.clone(sum);
        checks.push({
          name: `${name} vs tfjs ops`,
          diff: await maxDifference(out, expected, true),
          tolerance: 1e-6,
          relative: true,
        });
        tf.dispose([out, expected]);
      } catch (error) {
        checks.push({ name, diff: NaN, tolerance: 1e-6, relative: true, error: errorText(error) });
      }
    }
    tf.dispose([partials, bias, sum]);
  }
  return checks;
}

/**
 * matMulBias (src/runtime/ops/linear.ts; in fp32 tfjs's fused matmul, the bias in its epilogue)
 * against matMul + add on the same device, values and the x, W, b gradients of Σ(f · r), in
 * fp32 and in mixed precision: GPT2-XL's c_attn at 16 × 128 and 1 × 128 tokens, a ragged
 * product with the weight stored [out, in].
 */
export async function linearChecks(): Promise<Check[]> {
  const cases = [
    { name: 'xl c_attn 2048x1600·1600x4800', rows: 2048, inner: 1600, cols: 4800, transposeWeight: false },
    { name: 'xl c_fc 128x1600·1600x6400', rows: 128, inner: 1600, cols: 6400, transposeWeight: false },
    { name: 'ragged 77x96·(300x96)ᵀ', rows: 77, inner: 96, cols: 300, transposeWeight: true },
  ];
  const checks: Check[] = [];
  for (const c of cases) {
    const x = tf.randomNormal([c.rows, c.inner], 0, 1, 'float32', 11) as tf.Tensor2D;
    const w = tf.randomNormal(
      c.transposeWeight ? [c.cols, c.inner] : [c.inner, c.cols],
      0,
      0.05,
      'float32',
      12,
    ) as tf.Tensor2D;
    const b = tf.randomNormal([c.cols], 0, 1, 'float32', 13) as tf.Tensor1D;
    const r = tf.randomNormal([c.rows, c.cols], 0, 1, 'float32', 14);
    const run = (f: (xi: tf.Tensor2D, wi: tf.Tensor2D, bi: tf.Tensor1D) => tf.Tensor) =>
      tf.tidy(() => {
        const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.sum(tf.mul(f(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D), r)),
        )([x, w, b]);
        return [f(x, w, b), ...grads];
      });
    for (const precision of ['fp32', 'mixed'] as MatMulPrecision[]) {
      if (precision === 'mixed' && !tensorCoreMatrix()) continue;
      setMatMulPrecision(precision);
      try {
        const fused = run((xi, wi, bi) => matMulBias(xi, wi, bi, c.transposeWeight));
        const plain = run((xi, wi, bi) => tf.add(tf.matMul(xi, wi, false, c.transposeWeight), bi));
        const labels = ['value', 'dx', 'dW', 'db'];
        for (let i = 0; i < labels.length; i++) {
          checks.push({
            name: `matMulBias ${c.name} ${precision} ${labels[i]} vs matMul + add`,
            diff: await maxDifference(fused[i]!, plain[i]!, true),
            tolerance: 1e-6,
            relative: true,
          });
        }
        tf.dispose([...fused, ...plain]);
      } catch (error) {
        checks.push({
          name: `matMulBias ${c.name} ${precision}`,
          diff: NaN,
          tolerance: 1e-6,
          relative: true,
          error: errorText(error),
        });
      } finally {
        setMatMulPrecision('fp32');
      }
    }
    tf.dispose([x, w, b, r]);
  }
  return checks;
}

/**
 * The gather gradient as a row scatter (fused/scatter-rows.ts) against tfjs's unsorted segment
 * sum (LAYERCUT_NO_FUSED_KERNELS), on the same device: GPT2-XL's embedding with a 16 × 128 batch
 * of ids (many repeated), and a small ragged table; each also with few ids (fused/scatter-rows.ts's
 * `fewIds`: one program, no scatter). `large: false` leaves out the GPT2-XL tables.
 */
export async function gatherGradientChecks({ large = true } = {}): Promise<Check[]> {
  const all = [
    { name: 'xl embedding 50257x1600, 2048 ids', rows: 50257, width: 1600, ids: 2048 },
    { name: 'ragged 100x77, 300 ids', rows: 100, width: 77, ids: 300 },
    // at most fewIds ids: one program sums the rows of each output element (no fill, no scatter)
    { name: 'xl embedding 50257x1600, 2 ids (the label words)', rows: 50257, width: 1600, ids: 2 },
    { name: `ragged 100x77, ${fewIds} ids`, rows: 100, width: 77, ids: fewIds },
    { name: 'table 5000x300, 3 ids', rows: 5000, width: 300, ids: 3 },
  ];
  // large: the two 321 MB tables (past some adapters' largest storage binding, lavapipe's included)
  const cases = large ? all : all.filter((c) => c.rows * c.width < 2 ** 25);
  const checks: Check[] = [];
  for (const c of cases) {
    const table = tf.zeros([c.rows, c.width]);
    // ids: every 7th repeats an earlier one, so rows get several additions
    const ids = tf.tensor1d(
      Array.from({ length: c.ids }, (_, i) => (i % 7 === 0 ? (i * 13) % 50 : (i * 131 + 11) % c.rows)),
      'int32',
    );
    const dy = tf.randomNormal([c.ids, c.width], 0, 1, 'float32', 15);
    const run = (fused: boolean) => {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = fused ? '' : '1';
      try {
        return tf.tidy(() => tf.grads((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), dy)))([table])[0]!);
      } finally {
        process.env['LAYERCUT_NO_FUSED_KERNELS'] = '';
      }
    };
    try {
      const [fused, plain] = [run(true), run(false)];
      checks.push({
        name: `gather gradient ${c.name} vs tfjs segment sum`,
        diff: await maxDifference(fused, plain, true),
        tolerance: 1e-6,
        relative: true,
      });
      tf.dispose([fused, plain]);
    } catch (error) {
      checks.push({
        name: `gather gradient ${c.name}`,
        diff: NaN,
        tolerance: 1e-6,
        relative: true,
        error: errorText(error),
      });
    }
    tf.dispose([table, ids, dy]);
  }
  return checks;
}

/**
 * Key biases get an exactly zero gradient (a constant added to every score of a query leaves its
 * softmax unchanged): Adam divides rounding noise by rounding noise there, differently on each
 * backend and from run to run where float atomics (the embedding gradient) change the rounding.
 * `width` is the model's hidden size; `index` an entry of the flattened bias.
 */
export function isKeyBias(name: string, width: number, index: number): boolean {
  if (name.endsWith('attn.c_attn.bias')) return index >= width && index < 2 * width; // [q | k | v]
  return name.endsWith('self_attn.k_proj.bias');
}

/**
 * AdamW applied to each parameter during the backward pass, as its gradient becomes ready
 * (variableGrads' onReady; the fused pass writes the parameter in place while the other
 * gradients are still queued), against AdamW applied after it: 3 steps of the GPT-2 fixture
 * (`dir`), every parameter compared (key biases aside, see isKeyBias). The after-backward path
 * runs twice: the first check is its run-to-run difference on this device (the floor that float
 * atomics leave), the second the early path against it.
 */
export async function earlyOptimizerChecks(dir: string): Promise<Check[]> {
  const finals: Map<string, Float32Array>[] = [];
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { n_embd: number };
  const width = config.n_embd;
  for (const early of [false, false, true]) {
    const { model } = await loadModel(dir);
    const variables = [...model.params.values()];
    const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
    const optimizer = new AdamW(model.params, { weightDecay: 0.01 });
    const batch: PromptBatch = {
      inputIds: tf.tensor2d([5, 6, 7, 8, 9, 10, 11, 1, 5, 5, 6, 3], [3, 4], 'int32'),
      attentionMask: tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 0], [3, 4], 'int32'),
      answerPositions: tf.tensor1d([3, 2, 1], 'int32'),
      labels: tf.tensor1d([0, 1, 1], 'int32'),
    };
    const labelTokenIds = tf.tensor1d([7, 42], 'int32');
    const loss = () => promptLmLoss(model, batch, labelTokenIds);
    for (let step = 0; step < 3; step++) {
      if (early) {
        const updates = optimizer.begin(1e-3);
        const { value } = variableGrads(loss, variables, {
          onReady: (variable, grad) => {
            updates.update(nameOf.get(variable.name)!, grad);
            grad.dispose();
          },
        });
        updates.finish();
        value.dispose();
      } else {
        const { value, grads } = variableGrads(loss, variables);
        const named: tf.NamedTensorMap = {};
        for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
        optimizer.step(named, 1e-3);
        tf.dispose([value, named]);
      }
    }
    const values = new Map<string, Float32Array>();
    for (const [name, v] of model.params) values.set(name, (await v.data()) as Float32Array);
    finals.push(values);
    optimizer.dispose();
    model.dispose();
    tf.dispose([...Object.values(batch), labelTokenIds]);
  }
  const relativeDifference = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
    let maxDiff = 0;
    let maxValue = 0;
    for (const [name, x] of a) {
      const y = b.get(name)!;
      for (let i = 0; i < x.length; i++) {
        if (isKeyBias(name, width, i)) continue;
        maxDiff = Math.max(maxDiff, Math.abs(x[i]! - y[i]!));
        maxValue = Math.max(maxValue, Math.abs(x[i]!));
      }
    }
    return maxDiff / maxValue;
  };
  return [
    {
      name: 'AdamW after backward, run to run, 3 steps (key biases aside)',
      diff: relativeDifference(finals[0]!, finals[1]!),
      tolerance: 1e-5,
      relative: true,
    },
    {
      name: 'AdamW as gradients become ready vs after backward, 3 steps (key biases aside)',
      diff: relativeDifference(finals[0]!, finals[2]!),
      tolerance: 1e-5,
      relative: true,
    },
  ];
}

/**
 * The fused cross-entropy (fused/cross-entropy.ts) against its tfjs-op formulation
 * (LAYERCUT_NO_FUSED_KERNELS), loss and score gradient: 16 rows of 2 label words, 1 row, and 300
 * rows of 5 with a label outside the classes.
 */
export async function crossEntropyChecks(): Promise<Check[]> {
  const cases = [
    { name: '16x2', rows: 16, classes: 2, invalidAt: -1 },
    { name: '1x2', rows: 1, classes: 2, invalidAt: -1 },
    { name: '300x5, one label out of range', rows: 300, classes: 5, invalidAt: 11 },
  ];
  const checks: Check[] = [];
  for (const c of cases) {
    const scores = tf.randomNormal([c.rows, c.classes], 0, 3, 'float32', 16);
    const labels = tf.tensor1d(
      Array.from({ length: c.rows }, (_, i) => (i === c.invalidAt ? c.classes + 2 : (i * 7) % c.classes)),
      'int32',
    );
    const run = (fused: boolean) => {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = fused ? '' : '1';
      try {
        return tf.tidy(() => {
          const f = (s: tf.Tensor) => crossEntropy(s as tf.Tensor2D, labels);
          return [f(scores), tf.grads((s: tf.Tensor) => tf.mul(f(s), 3))([scores])[0]!];
        });
      } finally {
        process.env['LAYERCUT_NO_FUSED_KERNELS'] = '';
      }
    };
    try {
      const [fused, plain] = [run(true), run(false)];
      for (const [i, part] of ['loss', 'dscores'].entries()) {
        checks.push({
          name: `fused cross-entropy ${c.name} ${part} vs tfjs ops`,
          diff: await maxDifference(fused[i]!, plain[i]!, true),
          tolerance: 1e-6,
          relative: true,
        });
      }
      tf.dispose([...fused, ...plain]);
    } catch (error) {
      checks.push({
        name: `fused cross-entropy ${c.name}`,
        diff: NaN,
        tolerance: 1e-6,
        relative: true,
        error: errorText(error),
      });
    }
    tf.dispose([scores, labels]);
  }
  return checks;
}
