// Every WGSL program layercut generates, compiled and validated by Dawn on its null backend (a
// WebGPU device without a GPU: Tint's full WGSL validation and Dawn's pipeline and command
// validation run, nothing executes and read-backs are meaningless). Each check runs the real code
// path on the tfjs webgpu backend, reads a result back (which submits the work) and fails on any
// compilation message of type error, any error of its scopes and any uncaptured error.
//
// What the null device cannot check: numbers (bench/gpu-suite.ts does, on a GPU), and a subgroup
// matrix's shape against the adapter's configs (the null adapter lists none and Dawn checks none).
// Its limits are WebGPU's defaults: a tensor-core tile of more than 16 KiB of workgroup memory is
// validated up to Dawn's limit check, which must be the only error it raises.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { activation } from '../../src/models/layers.js';
import {
  attentionProbabilities,
  packedSelfAttention,
  type HeadLayout,
} from '../../src/runtime/ops/attention.js';
import { causalMaskBias, paddingMaskBias, positionsFromMask } from '../../src/runtime/ops/masks.js';
import { addLayerNorm, layerNorm, rmsNorm } from '../../src/runtime/ops/norms.js';
import { initBackend, releaseBackend } from '../../src/runtime/backend.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { matMulBias } from '../../src/runtime/ops/linear.js';
import { kernelSet } from '../../src/runtime/ops/registry.js';
import { setPlainOps } from '../../src/runtime/flags.js';
import { columnSum, rowsPerSumBlock } from '../../src/runtime/fused/column-sum.js';
import { RowProgram, runProgram } from '../../src/runtime/fused/program.js';
import { watchDeviceErrors, type DeviceErrorWatch } from '../../src/runtime/shader-errors.js';
import {
  installTensorCoreMatMul,
  operandTileBytes,
  setMatMulPrecision,
  setMatMulSchedule,
  setTensorCoresForEveryShape,
  TensorCoreMatMulProgram,
  defaultSchedule,
  tilingFor,
  type MatMulSchedule,
} from '../../src/runtime/tensor-core-matmul.js';
import { activeWebGpuDevice } from '../../src/runtime/webgpu.js';
import { clipByGlobalNorm } from '../../src/train/clip.js';
import { crossEntropy, promptLmLoss } from '../../src/train/objectives.js';
import { twoPromptBatch } from '../helpers/tiny-gpt2.js';
import { AdamW } from '../../src/train/optimizers.js';
import { modelFixture } from '../helpers/fixtures.js';

const matrix = { m: 16, n: 16, k: 16 };
let watch: DeviceErrorWatch;
let device: GPUDevice;

/** tfjs's webgpu backend, as far as these checks reach into it. */
interface BackendInternals {
  pipelineCache: Record<string, unknown>;
  runWebGPUProgram(
    program: TensorCoreMatMulProgram,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
  ): tf.TensorInfo;
}
const backend = () => tf.backend() as unknown as BackendInternals;

before(async () => {
  await initBackend({ backend: 'webgpu', webgpu: { createFlags: ['backend=null'] } });
  device = activeWebGpuDevice()!;
  watch = watchDeviceErrors(device);
  // the null adapter offers the feature but no configs: put the kernel in place as on an NVIDIA GPU
  installTensorCoreMatMul(matrix, device.limits.maxComputeWorkgroupStorageSize);
});

after(() => {
  setMatMulPrecision('fp32');
  setTensorCoresForEveryShape(false);
  watch.stop();
  releaseBackend();
});

/**
 * Runs `fn` (every program compiled afresh: tfjs's pipeline cache is emptied first), reads its
 * outputs back, and returns the errors, the labels of the shader modules it made and the keys
 * of the pipelines (in the order made).
 */
async function run(name: string, fn: () => tf.Tensor | tf.Tensor[]) {
  backend().pipelineCache = {};
  const result = await watch.check(name, async () => {
    const outputs = [tf.tidy(fn)].flat();
    await Promise.all(outputs.map((t) => t.data()));
    tf.dispose(outputs);
  });
  return { ...result, keys: Object.keys(backend().pipelineCache) };
}

/** `run`, asserting no error and that the programs named in `compiles` were among those compiled. */
async function assertValid(name: string, compiles: string[], fn: () => tf.Tensor | tf.Tensor[]) {
  const { errors, modules } = await run(name, fn);
  assert.deepEqual(errors, [], `${name}: ${errors.join('\n')}`);
  for (const label of compiles) assert.ok(modules.includes(label), `${name} compiled ${modules.join(', ')}`);
}

/** Values and input gradients of Σ f(x) · r. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): tf.Tensor[] {
  const value = f(...inputs);
  const r = tf.randomNormal(value.shape, 0, 1, 'float32', 3);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), r)))(inputs);
  return [value, ...grads];
}

/** Attention masks [B, T] whose second row is padded after `real` tokens. */
function paddedMask(batch: number, seq: number, real: number): tf.Tensor2D {
  const values = Array.from({ length: batch * seq }, (_, i) =>
    Math.floor(i / seq) % 2 === 1 && i % seq >= real ? 0 : 1,
  );
  return tf.tensor2d(values, [batch, seq], 'int32');
}

describe('the check itself', () => {
  const broken = (code: string, name: string) =>
    run(name, () => runProgram(new RowProgram([4, 8], 4, ['x'], name, code), [tf.ones([4, 8])]));

  it('fails on a WGSL syntax error, with its line and column', async () => {
    const { errors } = await broken('fn main() { let x = ; }', 'layercutBrokenSyntax');
    assert.ok(errors.length > 0);
    assert.match(errors[0]!, /RowProgram:\d+:\d+ error: /);
  });

  it('fails on a type error that only resolution finds', async () => {
    const { errors } = await broken('fn main() { let x : f32 = 1u; result[0] = x; }', 'layercutBrokenType');
    assert.ok(
      errors.some((e) => /cannot initialize 'let' of type 'f32'/.test(e)),
      errors.join('\n'),
    );
  });

  it('fails on a pipeline the device cannot create (too much workgroup memory)', async () => {
    const { errors } = await broken(
      'var<workgroup> big : array<f32, 8192>;\nfn main() { big[localIndex] = 1.0; workgroupBarrier(); result[0] = big[0]; }',
      'layercutBrokenPipeline',
    );
    assert.ok(
      errors.some((e) => /workgroup storage \(32768 bytes\)/.test(e)),
      errors.join('\n'),
    );
  });

  it('passes a valid program and names it', async () => {
    // every binding must be used: 'auto' layouts drop unused ones, and tfjs binds them all
    const { errors, modules } = await broken(
      'fn main() { result[rowIndex()] = x[0] + f32(uniforms.xShape.x); }',
      'layercutValid',
    );
    assert.deepEqual(errors, []);
    assert.ok(modules.includes('RowProgram'));
  });
});

describe('fused programs', () => {
  it('the kernel registry picks them on webgpu, and tfjs or plain kernels under the switches', async () => {
    const x = tf.randomNormal([6, 40]);
    const [g, b] = [tf.ones([40]), tf.zeros([40])];
    const gelu = activation('gelu_new');
    const step = () => valueAndGrads((xi, gi, bi) => gelu(layerNorm(xi!, gi, bi, 1e-5)), [x, g, b]);
    const layercutPrograms = (modules: string[]) =>
      modules.filter((m) => ['RowProgram', 'ElementwiseProgram', 'ColumnSumProgram'].includes(m));
    assert.equal(kernelSet(), 'webgpu');
    const fused = await run('registry: webgpu', step);
    assert.deepEqual(fused.errors, []);
    // 6 rows: LayerNorm's column sums are one block, done in its backward dispatch
    assert.deepEqual([...new Set(layercutPrograms(fused.modules))].sort(), [
      'ElementwiseProgram',
      'RowProgram',
    ]);
    for (const [set, on, off] of [
      [
        'tfjs',
        () => (process.env['LAYERCUT_NO_FUSED_KERNELS'] = '1'),
        () => (process.env['LAYERCUT_NO_FUSED_KERNELS'] = ''),
      ],
      ['plain', () => setPlainOps(true), () => setPlainOps(undefined)],
    ] as const) {
      on();
      try {
        assert.equal(kernelSet(), set);
        const { errors, modules } = await run(`registry: ${set}`, step);
        assert.deepEqual(errors, []);
        assert.deepEqual(layercutPrograms(modules), [], `${set}: ${modules.join(', ')}`);
      } finally {
        off();
      }
    }
    tf.dispose([x, g, b]);
  });

  it('LayerNorm forward and backward (one row program each way, column sums past 128 rows)', async () => {
    // [rows, width]: one block of rows (the gain and bias sums a reshape), and 300 rows (three
    // blocks, the last ragged: one more column-sum pass each); widths not multiples of 64 or 256
    for (const [shape, programs] of [
      [[1, 128, 77], ['RowProgram']],
      [
        [3, 100, 40],
        ['RowProgram', 'ColumnSumProgram'],
      ],
    ] as const) {
      const width = shape.at(-1)!;
      const x = tf.randomNormal([...shape]);
      const [g, b] = [tf.ones([width]), tf.zeros([width])];
      const { errors, modules } = await run(`layerNorm ${shape}`, () =>
        valueAndGrads((xi, gi, bi) => layerNorm(xi!, gi, bi, 1e-5), [x, g, b]),
      );
      assert.deepEqual(errors, [], errors.join('\n'));
      const fused = modules.filter((m) =>
        ['RowProgram', 'ElementwiseProgram', 'ColumnSumProgram'].includes(m),
      );
      assert.deepEqual([...new Set(fused)].sort(), [...programs].sort(), `${shape}: ${modules.join(', ')}`);
      // both row programs compiled: the forward, and the backward (dx and the gain and bias sums)
      const keys = Object.keys(backend().pipelineCache).map((key) => key.split('_')[0]);
      assert.ok(
        keys.includes('layercutLayerNorm') && keys.includes('layercutLayerNormGrad'),
        keys.join(', '),
      );
      tf.dispose([x, g, b]);
    }
  });

  it('a residual add and the LayerNorm after it: one row program each way, no add', async () => {
    const x = tf.randomNormal([3, 100, 40]);
    const residual = tf.randomNormal([3, 100, 40]);
    const [g, b] = [tf.ones([40]), tf.zeros([40])];
    // both outputs used, as a pre-LN block uses them: s / 2 + LayerNorm(s), s = x + residual
    const f = (xi?: tf.Tensor, ri?: tf.Tensor, gi?: tf.Tensor, bi?: tf.Tensor) => {
      const [sum, normed] = addLayerNorm(xi!, ri!, gi, bi, 1e-5);
      return tf.add(tf.mul(sum, 0.5), normed);
    };
    const { errors, modules } = await run('addLayerNorm', () => valueAndGrads(f, [x, residual, g, b]));
    assert.deepEqual(errors, [], errors.join('\n'));
    const keys = Object.keys(backend().pipelineCache).map((key) => key.split('_')[0]);
    assert.ok(
      keys.includes('layercutAddLayerNorm') && keys.includes('layercutLayerNormGradAdd'),
      keys.join(', '),
    );
    // not the LayerNorm's own pair (with an add before it and one after its gradient)
    assert.ok(
      !keys.includes('layercutLayerNorm') && !keys.includes('layercutLayerNormGrad'),
      keys.join(', '),
    );
    assert.ok(modules.includes('RowProgram'), modules.join(', '));
    tf.dispose([x, residual, g, b]);
  });

  it('RMSNorm forward and backward (tfjs ops: layercut has no fused program for it)', async () => {
    const x = tf.randomNormal([3, 5, 40]);
    const g = tf.ones([40]);
    await assertValid('rmsNorm', [], () => valueAndGrads((xi, gi) => rmsNorm(xi!, gi!, 1e-6), [x, g]));
    tf.dispose([x, g]);
  });

  it('tanh GELU forward and backward; SiLU (tfjs ops)', async () => {
    const x = tf.randomNormal([7, 33]);
    const gelu = activation('gelu_new');
    const silu = activation('silu');
    await assertValid('gelu_new', ['ElementwiseProgram'], () => valueAndGrads((xi) => gelu(xi!), [x]));
    await assertValid('silu', [], () => valueAndGrads((xi) => silu(xi!), [x]));
    x.dispose();
  });

  it('attention softmax forward and backward, causal and padding biases', async () => {
    const mask = paddedMask(2, 9, 5);
    const causal = causalMaskBias(mask);
    const padding = paddingMaskBias(mask);
    const scores = tf.randomNormal([2, 3, 9, 9]);
    for (const [name, bias] of [
      ['causal', causal],
      ['padding', padding],
    ] as const) {
      await assertValid(`softmax ${name}`, ['RowProgram'], () =>
        valueAndGrads((s) => attentionProbabilities(s as tf.Tensor4D, bias, 0.125), [scores]),
      );
    }
    tf.dispose([mask, causal, padding, scores]);
  });

  it('gather gradient as a row scatter (one program for few ids); linear layers with the bias in the matmul and a column-sum bias gradient', async () => {
    const table = tf.randomNormal([50, 24]);
    const manyIds = tf.tensor2d(
      Array.from({ length: 40 }, (_, i) => (i * 7) % 50),
      [4, 10],
      'int32',
    );
    await assertValid('gather gradient', ['ScatterRowsProgram'], () =>
      valueAndGrads((t) => tf.gather(t!, manyIds), [table]),
    );
    const ids = tf.tensor2d([3, 7, 3, 49, 0, 7], [2, 3], 'int32');
    const { errors, keys } = await run('gather gradient, few ids', () =>
      valueAndGrads((t) => tf.gather(t!, ids), [table]),
    );
    assert.deepEqual(errors, [], errors.join('\n'));
    const programs = keys.map((key) => key.split('_')[0]);
    assert.ok(
      programs.includes('layercutRowSums') && !programs.includes('layercutScatterRows'),
      programs.join(', '),
    );
    const [x, w, bias] = [tf.randomNormal([300, 24]), tf.randomNormal([24, 40]), tf.randomNormal([40])];
    await assertValid('matMulBias', ['ColumnSumProgram'], () =>
      valueAndGrads(
        (xi, wi, bi) => matMulBias(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, false),
        [x, w, bias],
      ),
    );
    tf.dispose([table, manyIds, ids, x, w, bias]);
  });

  it('cross-entropy of label-word scores forward and backward (a label outside the classes too)', async () => {
    const scores = tf.randomNormal([300, 3]);
    const labels = tf.tensor1d(
      Array.from({ length: 300 }, (_, i) => (i === 7 ? 5 : i % 3)),
      'int32',
    );
    await assertValid('cross-entropy', ['RowProgram', 'ElementwiseProgram'], () =>
      valueAndGrads((s) => crossEntropy(s as tf.Tensor2D, labels), [scores]),
    );
    tf.dispose([scores, labels]);
  });

  it('past 65,535 rows: LayerNorm, cross-entropy and the attention softmax on a 2-D grid', async () => {
    // the null device has WebGPU's default limit per dispatch dimension, which tfjs asserts for a
    // grid with a y layout; 70,000 rows of 8 take two rows of 35,000 workgroups
    assert.equal(device.limits.maxComputeWorkgroupsPerDimension, 65_535);
    const rows = 70_000;
    assert.deepEqual(new RowProgram([rows, 8], rows, ['x'], 'layercutGrid', '').dispatch, [35_000, 2, 1]);
    const x = tf.randomNormal([rows, 8]);
    const [g, b] = [tf.ones([8]), tf.zeros([8])];
    // backward: 70,000 row workgroups and 547 block workgroups, then the column sums of 547 rows
    await assertValid('layerNorm 70,000 rows', ['RowProgram', 'ColumnSumProgram'], () =>
      valueAndGrads((xi, gi, bi) => layerNorm(xi!, gi, bi, 1e-5), [x, g, b]),
    );
    const labels = tf.tensor1d(
      Array.from({ length: rows }, (_, i) => i % 8),
      'int32',
    );
    await assertValid('cross-entropy 70,000 rows', ['RowProgram', 'ElementwiseProgram'], () =>
      valueAndGrads((s) => crossEntropy(s as tf.Tensor2D, labels), [x]),
    );
    // scores [B, H, Tq, Tk] = [2, 5, 7000, 8]: 70,000 rows (b, h, q); a padding bias [2, 1, 1, 8]
    const mask = paddedMask(2, 8, 5);
    const padding = paddingMaskBias(mask);
    const scores = tf.randomNormal([2, 5, 7000, 8]);
    await assertValid('softmax 70,000 rows', ['RowProgram'], () =>
      valueAndGrads((s) => attentionProbabilities(s as tf.Tensor4D, padding, 0.125), [scores]),
    );
    tf.dispose([x, g, b, labels, mask, padding, scores]);
  });

  it('column sums past 65,535 blocks of 128 rows (y and z of the grid)', async () => {
    // [65,537 · 128, 1]: 65,537 blocks in the first pass, then 513, 5 and 1
    const t = tf.ones([65_537 * rowsPerSumBlock, 1]);
    await assertValid('column sum of 8,388,736 rows', ['ColumnSumProgram'], () =>
      columnSum(t as tf.Tensor2D),
    );
    t.dispose();
  });

  it('positions and causal bias from the attention mask', async () => {
    const mask = paddedMask(3, 11, 4);
    await assertValid('mask programs', ['ElementwiseProgram'], () => [
      positionsFromMask(mask, 2),
      causalMaskBias(mask),
    ]);
    mask.dispose();
  });

  it('AdamW: one in-place pass per two parameters, one alone for an odd one out', async () => {
    const params = new Map(
      // variables that own their data (the pass updates only those in place)
      [[5, 7], [3], [2, 2, 2]].map(
        (shape, i) => [`p${i}`, tf.tidy(() => tf.variable(tf.randomNormal(shape)))] as const,
      ),
    );
    const optimizer = new AdamW(params, { weightDecay: 0.01 });
    const { errors, keys } = await run('adamw', () => {
      const grads = Object.fromEntries([...params].map(([name, p]) => [name, tf.onesLike(p)]));
      optimizer.step(grads, 1e-3);
      return [...params.values()].map((p) => tf.clone(p));
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      keys.filter((key) => key.includes('layercutAdamW')).map((key) => key.match(/layercutAdamW(Pair)?/)![0]),
      ['layercutAdamWPair', 'layercutAdamW'],
    );
    optimizer.dispose();
    tf.dispose([...params.values()]);
  });
});

describe('tensor-core matmul', () => {
  before(() => {
    setMatMulPrecision('mixed');
    setTensorCoresForEveryShape(true);
  });
  after(() => {
    setMatMulPrecision('fp32');
    setTensorCoresForEveryShape(false);
  });

  // [A shape, B shape, transposeA, transposeB]: every tile class the device's 16 KiB allows, each
  // transpose, vec4 and scalar loads, ragged edges (a padded output sliced), batches, a broadcast
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['128x64 tiles, vec4', [256, 64], [64, 256], false, false],
    ['64x128 tiles, A transposed', [32, 192], [32, 256], true, false],
    ['64x64 tiles, B transposed', [64, 32], [64, 32], false, true],
    ['both transposed, ragged, scalar loads', [50, 77], [201, 50], true, true],
    ['ragged 1000x300x700', [1000, 300], [300, 700], false, false],
    ['batched 3x(128x64)x(64x128)', [3, 128, 64], [3, 64, 128], false, false],
    ['broadcast batch 8x(130x96)x(96x260)', [8, 130, 96], [96, 260], false, false],
  ];
  for (const [name, aShape, bShape, transposeA, transposeB] of cases) {
    it(name, async () => {
      const a = tf.randomNormal(aShape);
      const b = tf.randomNormal(bShape);
      await assertValid(name, ['TensorCoreMatMulProgram'], () => tf.matMul(a, b, transposeA, transposeB));
      tf.dispose([a, b]);
    });
  }

  /** [transposeA, transposeB]: the four operand layouts. */
  const transposes = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;

  // every schedule bench/matmul.ts --schedules compares, on an aligned and a ragged shape, each transpose
  const schedules: MatMulSchedule[] = (['none', 'registers', 'double'] as const).flatMap((pipeline) =>
    ([4, 8] as const).flatMap((subgroups) =>
      ([32, 64] as const).map((depth) => ({ subgroups, depth, pipeline, tiles: 'fit' as const, fill: 0 })),
    ),
  );
  for (const plan of schedules) {
    it(`schedule ${plan.subgroups} subgroups, depth ${plan.depth}, ${plan.pipeline}`, async () => {
      setMatMulSchedule(plan);
      try {
        for (const [transposeA, transposeB] of transposes) {
          for (const [rows, inner, cols, vector] of [
            [128, 128, 128, 4],
            [70, 100, 90, 1],
          ] as const) {
            const a = tf.randomNormal(transposeA ? [inner, rows] : [rows, inner]);
            const b = tf.randomNormal(transposeB ? [cols, inner] : [inner, cols]);
            const name = `${plan.pipeline} ${rows}x${inner}x${cols} v${vector} ${transposeA} ${transposeB}`;
            await assertValid(name, ['TensorCoreMatMulProgram'], () =>
              tf.matMul(a, b, transposeA, transposeB),
            );
            tf.dispose([a, b]);
          }
        }
      } finally {
        setMatMulSchedule(defaultSchedule);
      }
    });
  }

  // a split inner dimension: every layout, aligned (chunks of whole steps) and ragged (a last chunk
  // cut short, unpadded and padded outputs), a batch, then the program that adds the chunks
  it('split inner dimension: chunked products and their sum', async () => {
    setMatMulSchedule({ ...defaultSchedule, fill: 1 << 20 });
    try {
      for (const [transposeA, transposeB] of transposes) {
        for (const [batch, rows, inner, cols] of [
          [1, 128, 1024, 128],
          [2, 96, 1000, 80],
          [1, 70, 630, 90],
        ] as const) {
          const a = tf.randomNormal(transposeA ? [batch, inner, rows] : [batch, rows, inner]);
          const b = tf.randomNormal(transposeB ? [batch, cols, inner] : [batch, inner, cols]);
          const name = `split ${batch}x${rows}x${inner}x${cols} ${transposeA} ${transposeB}`;
          await assertValid(name, ['TensorCoreMatMulProgram', 'SplitSumProgram'], () =>
            tf.matMul(a, b, transposeA, transposeB),
          );
          tf.dispose([a, b]);
        }
      }
    } finally {
      setMatMulSchedule(defaultSchedule);
    }
  });

  // x·W + b (tf.fused.matMul) on the tensor cores: a split product's sum adds the bias (a split and
  // ragged one too); an unsplit one adds it after, padded or not; the gradients of linear layers
  const pipelines = () => Object.keys(backend().pipelineCache).join(' ');
  for (const [fill, rows, inner, cols, summed] of [
    [1 << 20, 128, 1024, 128, true],
    [1 << 20, 70, 630, 90, true],
    [0, 256, 64, 256, false],
    [0, 70, 630, 90, false],
  ] as const) {
    it(`x·W + b with ${summed ? 'the bias in the split sum' : 'no split'}: ${rows}x${inner}x${cols}`, async () => {
      setMatMulSchedule({ ...defaultSchedule, fill });
      setTensorCoresForEveryShape(true);
      const [x, w, bias] = [
        tf.randomNormal([rows, inner]),
        tf.randomNormal([inner, cols]),
        tf.randomNormal([cols]),
      ];
      try {
        await assertValid(`${rows}x${inner}x${cols} + bias`, ['TensorCoreMatMulProgram'], () =>
          tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias }),
        );
        assert.equal(pipelines().includes('layercutSplitSumBias'), summed, pipelines());
        await assertValid(
          `matMulBias ${rows}x${inner}x${cols}`,
          ['TensorCoreMatMulProgram', 'ColumnSumProgram'],
          () =>
            valueAndGrads(
              (xi, wi, bi) => matMulBias(xi as tf.Tensor2D, wi as tf.Tensor2D, bi as tf.Tensor1D, false),
              [x, w, bias],
            ),
        );
      } finally {
        setTensorCoresForEveryShape(false);
        setMatMulSchedule(defaultSchedule);
        tf.dispose([x, w, bias]);
      }
    });
  }

  it('chooses tiles within the device’s workgroup memory', () => {
    const limit = device.limits.maxComputeWorkgroupStorageSize;
    assert.equal(limit, 16384);
    const wide = tilingFor(matrix, 2048, 6400, limit);
    assert.deepEqual([wide.rows, wide.cols], [128, 64]);
    const unlimited = tilingFor(matrix, 2048, 6400);
    assert.deepEqual([unlimited.rows, unlimited.cols], [128, 128]);
  });

  for (const [transposeA, transposeB] of transposes) {
    for (const plan of [
      defaultSchedule,
      { ...defaultSchedule, pipeline: 'registers' },
      { subgroups: 8, depth: 64, pipeline: 'double', tiles: 'fit', fill: 0 },
      { subgroups: 4, depth: 64, pipeline: 'double', tiles: 'fit', fill: 0 },
    ] satisfies MatMulSchedule[]) {
      const title = `${plan.subgroups} subgroups, depth ${plan.depth}, ${plan.pipeline}`;
      it(`128x128 tiles (A${transposeA ? 'ᵀ' : ''}·B${transposeB ? 'ᵀ' : ''}, ${title}): valid WGSL, only over the null device's limit`, async () => {
        const tiling = tilingFor(matrix, 256, 256, Infinity, plan);
        assert.deepEqual(
          [tiling.rows, tiling.cols, tiling.depth, tiling.pipeline],
          [128, 128, plan.depth, plan.pipeline],
        );
        setMatMulSchedule(plan);
        const program = new TensorCoreMatMulProgram(
          1,
          256,
          256,
          transposeA,
          transposeB,
          4,
          matrix,
          Infinity,
          64,
        );
        setMatMulSchedule(defaultSchedule);
        assert.match(program.shaderKey, /_aligned$/);
        const bytes = operandTileBytes(tiling, transposeA, transposeB);
        assert.ok(bytes > 16384);
        // [batch, rows, inner] or, transposed, [batch, inner, rows]
        const a = tf.randomNormal(transposeA ? [1, 64, 256] : [1, 256, 64]);
        const b = tf.randomNormal(transposeB ? [1, 256, 64] : [1, 64, 256]);
        const { errors, modules } = await run('128x128', () =>
          tf.engine().makeTensorFromTensorInfo(backend().runWebGPUProgram(program, [a, b], 'float32')),
        );
        assert.ok(modules.includes('TensorCoreMatMulProgram'));
        // Tint accepted the module (no compilation error); the pipeline failed only on the limit
        assert.ok(errors.length >= 1);
        for (const error of errors) {
          assert.match(
            error,
            new RegExp(`workgroup storage \\(${bytes} bytes\\) is larger than the maximum allowed|Invalid`),
            error,
          );
        }
        assert.match(errors[0]!, new RegExp(`workgroup storage \\(${bytes} bytes\\)`));
        tf.dispose([a, b]);
      });
    }
  }
});

describe('flash attention', () => {
  // head widths of GPT-2 small and XL (64), a Llama-style 80 and 128 with grouped-query heads, and the fixtures' 8
  const layouts: [string, HeadLayout, number][] = [
    ['Dh 64, 3 heads', { heads: 3, kvHeads: 3, headDim: 64 }, 70],
    ['Dh 80, 4 heads on 2 key/value heads', { heads: 4, kvHeads: 2, headDim: 80 }, 40],
    ['Dh 128, 4 heads on 1 key/value head', { heads: 4, kvHeads: 1, headDim: 128 }, 33],
    ['Dh 8, 4 heads', { heads: 4, kvHeads: 4, headDim: 8 }, 12],
  ];
  for (const [name, layout, seq] of layouts) {
    for (const causal of [true, false]) {
      it(`${name}, T ${seq}, ${causal ? 'causal' : 'padding'} mask: forward and backward`, async () => {
        const mask = paddedMask(2, seq, seq - 5);
        const bias = causal ? causalMaskBias(mask) : paddingMaskBias(mask);
        const width = (layout.heads + 2 * layout.kvHeads) * layout.headDim;
        const qkv = tf.randomNormal([2, seq, width]);
        await assertValid(name, ['FlashAttentionProgram', 'FlashAttentionGradProgram'], () =>
          valueAndGrads((x) => packedSelfAttention(x as tf.Tensor3D, bias, layout, 0.125, causal), [qkv]),
        );
        tf.dispose([mask, bias, qkv]);
      });
    }
  }
});

describe('a training step on the webgpu backend', () => {
  for (const fixture of ['gpt2-tiny', 'opt-tiny', 'llama-tiny-gqa']) {
    for (const precision of ['fp32', 'mixed'] as const) {
      it(`${fixture}, ${precision}: loss, gradients, clipping, AdamW`, async () => {
        setMatMulPrecision(precision);
        setTensorCoresForEveryShape(precision === 'mixed');
        const { model } = await loadModel(modelFixture(fixture));
        const optimizer = new AdamW(model.params, { weightDecay: 0.1 });
        const variables = [...model.params.values()];
        const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
        const { batch, labelTokenIds } = twoPromptBatch();
        backend().pipelineCache = {};
        const { errors, modules } = await watch.check(`${fixture} step`, async () => {
          const { value, grads } = variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
          const named: tf.NamedTensorMap = {};
          for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
          const clipped = clipByGlobalNorm(named, 1);
          optimizer.step(clipped.grads, 1e-3);
          await variables[0]!.data();
          await value.data();
          tf.dispose([value, named, clipped.grads, clipped.norm]);
        });
        setMatMulPrecision('fp32');
        setTensorCoresForEveryShape(false);
        optimizer.dispose();
        model.dispose();
        tf.dispose([...Object.values(batch), labelTokenIds]);
        assert.deepEqual(errors, [], errors.join('\n'));
        assert.ok(modules.includes('FlashAttentionProgram') && modules.includes('FlashAttentionGradProgram'));
        if (precision === 'mixed') assert.ok(modules.includes('TensorCoreMatMulProgram'));
      });
    }
  }
});

it('raised no error outside the checks', () => {
  assert.deepEqual(watch.uncaptured, []);
  assert.deepEqual(
    watch.warnings.filter((w) => !w.check.startsWith('layercutBroken')),
    [],
  );
});
