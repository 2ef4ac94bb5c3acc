/**
 * Matmul benchmark and check on webgpu: tfjs's fp32 kernel against layercut's tensor-core kernel
 * ('mixed': f16 subgroup matrices, f32 accumulation; src/runtime/tensor-core-matmul.ts), on the
 * shapes of a GPT2-XL training step (forward and both backward products) and attention, plus
 * ragged shapes that exercise the edge tiles and a broadcast batch.
 *
 *   node --import tsx bench/matmul.ts [--iterations 20] [--dawn-toggles a,b]
 *
 * One JSON line per shape: ms and TFLOP/s of each kernel, and the mixed result's largest error
 * relative to the largest fp32 value. Runs on the GPU machine (see bench/device-issue9.sh).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initBackend, releaseBackend } from '../src/runtime/backend.js';
import { setPlainOps } from '../src/runtime/flags.js';
import { AdamW } from '../src/train/optimizers.js';
import {
  activation,
  attentionProbabilities,
  causalMaskBias,
  layerNorm,
  paddingMaskBias,
} from '../src/models/layers.js';
import {
  mixedMatMulReference,
  setMatMulPrecision,
  setTensorCoresForEveryShape,
  tensorCoreMatrix,
  type MatMulPrecision,
} from '../src/runtime/tensor-core-matmul.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20' },
    'dawn-toggles': { type: 'string' },
  },
});
const iterations = Number(values.iterations);

interface Case {
  name: string;
  /** [batch, rows, inner] of A before any transpose, and the same for B. */
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

const tokens = 16 * 128;
const cases: Case[] = [
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
];

async function time(fn: () => tf.Tensor): Promise<number> {
  for (let i = 0; i < 3; i++) {
    const warm = fn();
    await warm.data();
    warm.dispose();
  }
  const start = performance.now();
  const outs: tf.Tensor[] = [];
  for (let i = 0; i < iterations; i++) outs.push(fn());
  await tf.slice(outs.at(-1)!.reshape([-1]), 0, 1).data();
  const ms = (performance.now() - start) / iterations;
  tf.dispose(outs);
  return ms;
}

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

for (const c of cases) {
  const a = tf.randomNormal(c.a, 0, 1, 'float32', 1);
  const b = tf.randomNormal(c.b, 0, 1, 'float32', 2);
  const product = () => tf.matMul(a, b, c.transposeA, c.transposeB);
  const result: Record<string, unknown> = {
    case: c.name,
    a: c.a,
    b: c.b,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
  };
  const outputs: Partial<Record<MatMulPrecision, tf.Tensor>> = {};
  for (const precision of ['fp32', 'mixed'] as const) {
    if (precision === 'mixed' && !matrix) continue;
    setMatMulPrecision(precision);
    try {
      const out = product();
      outputs[precision] = out;
      await out.data();
      const ms = await time(product);
      const flops = 2 * out.size * (c.transposeA ? c.a.at(-2)! : c.a.at(-1)!);
      result[`${precision}Ms`] = +ms.toFixed(3);
      result[`${precision}Tflops`] = +(flops / ms / 1e9).toFixed(1);
    } catch (error) {
      result[`${precision}Error`] =
        error instanceof Error ? error.message.split('\n').slice(0, 6).join(' | ') : String(error);
    }
  }
  setMatMulPrecision('fp32');
  if (outputs.fp32 && outputs.mixed) {
    const err = tf.tidy(() =>
      tf.max(tf.abs(tf.sub(outputs.mixed!, outputs.fp32!))).div(tf.max(tf.abs(outputs.fp32!))),
    );
    result.shape = outputs.mixed.shape;
    result.sameShape = outputs.mixed.shape.join() === outputs.fp32.shape.join();
    result.relativeError = +(await err.data())[0]!.toExponential(2);
    err.dispose();
    // against the CPU model (f16-rounded inputs, exact sums), on shapes small enough for the host
    const [rows, cols] = outputs.mixed.shape.slice(-2) as [number, number];
    const inner = c.transposeA ? c.a.at(-2)! : c.a.at(-1)!;
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
      result.errorVsF16Reference = +(worst / largest).toExponential(2);
      tf.dispose([a2, b2]);
    }
  }
  tf.dispose([a, b, outputs.fp32, outputs.mixed].filter((t): t is tf.Tensor => t !== undefined));
  console.log(JSON.stringify(result));
}

/**
 * Fused in-place AdamW (src/runtime/fused-adamw.ts) against the plain tfjs-ops AdamW on the same
 * device: three steps on the same parameters and gradients, largest parameter difference.
 */
async function adamwCheck(): Promise<void> {
  const shapes = [[50257, 64], [1600], [1600, 4800], [7]];
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
  console.log(
    JSON.stringify({
      check: 'fused AdamW vs tfjs-ops AdamW, 3 steps',
      maxAbsDiff: maxDiff,
      maxAbsValue: maxValue,
      ms: times.map((t) => +t.toFixed(1)),
    }),
  );
}
await adamwCheck();

/**
 * Fused LayerNorm and GELU programs (src/runtime/fused/) against the tfjs-op formulations they
 * replace, on the same device: values and gradients of Σ(f(x) · r), largest difference relative
 * to the largest value, and the time of 10 forward + backward passes each way.
 */
async function fusedKernelCheck(): Promise<void> {
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
  const cases: {
    name: string;
    shape: number[];
    f: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  }[] = [
    { name: 'layerNorm 2048x1600', shape: [16, 128, 1600], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 37x77', shape: [37, 77], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
    { name: 'layerNorm 300x3000', shape: [300, 3000], f: (x, g, b) => layerNorm(x, g, b, 1e-5) },
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
  ];
  for (const c of cases) {
    const width = c.shape.at(-1)!;
    const x = tf.randomNormal(c.shape, 0.3, 1.5, 'float32', 5);
    const g = tf.randomNormal([width], 1, 0.2, 'float32', 6);
    const b = tf.randomNormal([width], 0, 0.2, 'float32', 7);
    const r = tf.randomNormal(c.shape, 0, 1, 'float32', 8);
    const run = (fused: boolean) => {
      process.env['LAYERCUT_NO_FUSED_KERNELS'] = fused ? '' : '1';
      return tf.tidy(() => {
        const value = c.f(x, g, b);
        const grads = !c.name.startsWith('layerNorm')
          ? tf.grads((xi: tf.Tensor) => tf.sum(tf.mul(c.f(xi, g, b), r)))([x])
          : tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(c.f(xi, gi, bi), r)))([
              x,
              g,
              b,
            ]);
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
    const fused = run(true);
    const plain = run(false);
    const errors: number[] = [];
    for (let i = 0; i < fused.length; i++) {
      const e = tf.tidy(() =>
        tf.max(tf.abs(tf.sub(fused[i]!, plain[i]!))).div(tf.max(tf.abs(plain[i]!)).add(1e-30)),
      );
      errors.push(+(await e.data())[0]!.toExponential(2));
      e.dispose();
    }
    const fusedMs = await time(true);
    const plainMs = await time(false);
    process.env['LAYERCUT_NO_FUSED_KERNELS'] = '';
    console.log(
      JSON.stringify({
        check: `fused ${c.name} vs tfjs ops`,
        relativeErrors: { value: errors[0], dx: errors[1], dgain: errors[2], dbias: errors[3] },
        fusedMs: +fusedMs.toFixed(2),
        plainMs: +plainMs.toFixed(2),
      }),
    );
    tf.dispose([x, g, b, r, ...fused, ...plain]);
  }
}
await fusedKernelCheck();
releaseBackend();
