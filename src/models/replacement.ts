/**
 * Replacement of the contiguous block of layers [start, end) that a cut removes, fitted on
 * calibration hidden states of the uncut model (h_l: the residual stream entering layer l; h_L the
 * last layer's output, before the final norm):
 *
 *   linear  ReplaceMe (Shopkhoev et al. 2025, "ReplaceMe: Network Simplification via Layer Pruning
 *           and Linear Transformations"): with m the MLP output of layer start−1 and r its residual
 *           after attention (h_start = r + m), the least-squares T = argmin ‖m T − (h_end − r)‖²
 *           over the calibration tokens makes r + m T stand in for h_end. T folds into that MLP's
 *           output projection (W ← W T, b ← b T for GPT-2's [in, out] weights; W ← Tᵀ W for
 *           nn.Linear), so the healed model is a plain checkpoint of the cut model: transformers
 *           loads it as it is. No training; T comes from the normal equations in float64.
 *   mlp     LLM-Streamline (Chen et al. 2024, "Compressing Large Language Models by Streamlining
 *           the Unimportant Layer"): a lightweight network ĥ = h + W₂ gelu(W₁ h + b₁) + b₂ after
 *           layer start−1, trained with AdamW on the MSE between h_start → h_end pairs (W₂ starts
 *           at zero: the plain cut). It is new code for transformers: the export is the cut model
 *           plus replacement.safetensors, which neither transformers nor layercut's loader applies.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { adamwSpec } from '../plan/options.js';
import type { ReplacementSpec } from '../plan/types.js';
import { batchOrder, disposeBatch, makeBatch, type EncodedExample } from '../train/batching.js';
import { TrainingSteps } from '../train/step.js';
import { writeSafetensors } from '../weights/safetensors.js';
import { activation } from './layers.js';
import { families, loadModel, readModelConfig } from './load.js';
import { weightLayout } from './lora-targets.js';
import { observeProjection, stopObserving } from './projection-hooks.js';
import { removedBlock } from './removed-block.js';
import { keepFirst } from './selection.js';
import { sublayerLayout, type SublayerLayout } from './sublayers.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

export const REPLACEMENT_FILE = 'replacement.safetensors';

/**
 * The normal equations of a least-squares fit Y ≈ X T, accumulated row by row in float64:
 * XᵀX [w, w] and XᵀY [w, o]. `solve` gives T by Cholesky, which equals numpy.linalg.lstsq's
 * solution wherever X has full column rank.
 */
export class NormalEquations {
  private readonly gram: Float64Array; // upper triangle used
  private readonly cross: Float64Array;
  rows = 0;

  constructor(
    readonly width: number,
    readonly outWidth: number,
  ) {
    this.gram = new Float64Array(width * width);
    this.cross = new Float64Array(width * outWidth);
  }

  /** Adds `count` rows: x [count, width] and y [count, outWidth], row-major. */
  add(x: ArrayLike<number>, y: ArrayLike<number>, count: number): void {
    const w = this.width;
    const o = this.outWidth;
    for (let r = 0; r < count; r++) {
      const xr = r * w;
      const yr = r * o;
      for (let i = 0; i < w; i++) {
        const xi = x[xr + i]!;
        if (xi === 0) continue;
        const gi = i * w;
        for (let j = i; j < w; j++) this.gram[gi + j]! += xi * x[xr + j]!;
        const ci = i * o;
        for (let k = 0; k < o; k++) this.cross[ci + k]! += xi * y[yr + k]!;
      }
    }
    this.rows += count;
  }

  /** T [width, outWidth] row-major. */
  solve(): Float64Array {
    const w = this.width;
    const o = this.outWidth;
    if (this.rows < w) {
      throw new LayercutError(
        `the least-squares fit has ${this.rows} calibration tokens for a width of ${w}: it is underdetermined`,
        'use more calibration examples (replaceBlock({ calibration }))',
      );
    }
    const g = (i: number, j: number) => (i <= j ? this.gram[i * w + j]! : this.gram[j * w + i]!);
    const lower = new Float64Array(w * w); // Cholesky factor L: XᵀX = L Lᵀ
    for (let j = 0; j < w; j++) {
      let diagonal = g(j, j);
      for (let k = 0; k < j; k++) diagonal -= lower[j * w + k]! ** 2;
      if (!(diagonal > 0)) {
        throw new LayercutError(
          'the calibration states of the layer below the block are linearly dependent: least squares has no unique fit',
          'use more, or more varied, calibration examples',
        );
      }
      const pivot = Math.sqrt(diagonal);
      lower[j * w + j] = pivot;
      for (let i = j + 1; i < w; i++) {
        let sum = g(i, j);
        for (let k = 0; k < j; k++) sum -= lower[i * w + k]! * lower[j * w + k]!;
        lower[i * w + j] = sum / pivot;
      }
    }
    const solution = new Float64Array(w * o);
    const column = new Float64Array(w);
    for (let k = 0; k < o; k++) {
      for (let i = 0; i < w; i++) {
        // L z = c
        let sum = this.cross[i * o + k]!;
        for (let m = 0; m < i; m++) sum -= lower[i * w + m]! * column[m]!;
        column[i] = sum / lower[i * w + i]!;
      }
      for (let i = w - 1; i >= 0; i--) {
        // Lᵀ t = z
        let sum = column[i]!;
        for (let m = i + 1; m < w; m++) sum -= lower[m * w + i]! * solution[m * o + k]!;
        solution[i * o + k] = sum / lower[i * w + i]!;
      }
    }
    return solution;
  }
}

function familyFor(config: FamilyConfig): ModelFamily {
  const family = families.find((f) => f.modelTypes.includes(config.modelType));
  if (!family) throw new LayercutError(`no model family reads model_type '${config.modelType}'`);
  return family;
}

function layoutFor(config: FamilyConfig): SublayerLayout {
  const layout = sublayerLayout(config);
  if (typeof layout === 'string') throw new LayercutError(`cannot replace a block: ${layout}`);
  return layout;
}

/** Calibration rows of one batch over its real tokens: m, h_start, h_end, each [N, D] row-major. */
interface CalibrationRows {
  mlpOut: Float32Array;
  hIn: Float32Array;
  hOut: Float32Array;
  count: number;
}

/**
 * Runs the uncut model's layers 0..end−1 over the calibration examples and hands over each
 * batch's rows: the MLP output of layer start−1 (read through a projection observer), h_start
 * and h_end at every real token.
 */
async function calibrate(
  modelDir: string,
  block: { start: number; end: number },
  examples: readonly EncodedExample[],
  padId: number,
  onRows: (rows: CalibrationRows) => void,
): Promise<{ width: number; config: FamilyConfig }> {
  if (examples.length === 0) throw new LayercutError('a block replacement needs calibration examples');
  const { model } = await loadModel(modelDir, { layers: keepFirst(block.end) });
  const family = familyFor(model.info.config);
  const layout = layoutFor(model.info.config);
  const weight = model.params.get(`${family.layerPrefix(block.start - 1)}${layout.mlpOutput}.weight`)!;
  let mlpOut: tf.Tensor2D | undefined;
  observeProjection(weight, (y) => {
    mlpOut?.dispose();
    mlpOut = tf.keep(y); // [B·T, D]
  });
  try {
    for (const indices of batchOrder(examples, 8, { bucket: true })) {
      const batch = makeBatch(
        indices.map((i) => examples[i]!),
        padId,
      );
      const [m, hIn, hOut] = tf.tidy(() => {
        const states = model.forward(batch.inputIds, batch.attentionMask, { hiddenStates: true }).hiddenStates!;
        const width = states[0]!.shape[2];
        const rows = (t: tf.Tensor) => t.reshape([-1, width]) as tf.Tensor2D; // [B·T, D]
        return [rows(mlpOut!), rows(states[block.start]!), rows(states[block.end]!)];
      });
      const mask = await batch.attentionMask.data();
      const [mData, inData, outData] = await Promise.all([m.data(), hIn.data(), hOut.data()]);
      tf.dispose([m, hIn, hOut]);
      disposeBatch(batch);
      const width = hIn.shape[1];
      let count = 0;
      for (const v of mask) if (v === 1) count += 1;
      const pick = (data: ArrayLike<number>) => {
        const out = new Float32Array(count * width);
        let at = 0;
        for (let t = 0; t < mask.length; t++) {
          if (mask[t] !== 1) continue;
          for (let d = 0; d < width; d++) out[at * width + d] = data[t * width + d]!;
          at += 1;
        }
        return out;
      };
      onRows({ mlpOut: pick(mData), hIn: pick(inData), hOut: pick(outData), count });
    }
    return { width: model.info.config.hiddenSize, config: model.info.config };
  } finally {
    stopObserving(weight);
    mlpOut?.dispose();
    model.dispose();
  }
}

/** A fitted replacement, ready to apply to the cut model. */
export interface FittedReplacement {
  block: { start: number; end: number };
  /** Calibration tokens it was fitted on. */
  tokens: number;
  /** Applies it to the cut model (which keeps layer start−1 and none of the block). */
  apply(model: LanguageModel): void;
  /** Writes what the export of the cut model does not hold (the MLP's weights) into `dir`. */
  save(dir: string, model: LanguageModel): Promise<void>;
  dispose(): void;
}

/** Folds T [D, D] into the output projection of `layer`'s MLP: its output y becomes y T. */
export function foldIntoMlpOutput(model: LanguageModel, layer: number, solution: Float64Array): void {
  const family = familyFor(model.info.config);
  const layout = layoutFor(model.info.config);
  const name = `${family.layerPrefix(layer)}${layout.mlpOutput}`;
  const weight = model.params.get(`${name}.weight`);
  if (!weight) throw new LayercutError(`cannot fold the replacement: the model does not keep layer ${layer}`);
  const width = model.info.config.hiddenSize;
  tf.tidy(() => {
    const t = tf.tensor2d(Float32Array.from(solution), [width, width]);
    weight.assign(
      weightLayout(model.info.config.modelType) === 'in-out'
        ? tf.matMul(weight, t) // [F, D] · [D, D]
        : tf.matMul(t, weight, true, false), // Tᵀ [D, D] · [D, F]
    );
    const bias = model.params.get(`${name}.bias`);
    if (bias) bias.assign(tf.matMul(bias.reshape([1, width]), t).reshape([width]));
  });
}

/** Least squares: T from the normal equations of m T ≈ h_end − h_start + m (= h_end − r). */
export async function fitLinear(
  modelDir: string,
  block: { start: number; end: number },
  examples: readonly EncodedExample[],
  padId: number,
): Promise<{ solution: Float64Array; tokens: number }> {
  let equations: NormalEquations | undefined;
  await calibrate(modelDir, block, examples, padId, ({ mlpOut, hIn, hOut, count }) => {
    const width = hIn.length / count;
    equations ??= new NormalEquations(width, width);
    const target = new Float32Array(hOut.length);
    for (let i = 0; i < target.length; i++) target[i] = hOut[i]! - hIn[i]! + mlpOut[i]!;
    equations.add(mlpOut, target, count);
  });
  return { solution: equations!.solve(), tokens: equations!.rows };
}

/** ĥ = h + W₂ gelu(W₁ h + b₁) + b₂: w1 [D, H], b1 [H], w2 [H, D], b2 [D]. */
class ReplacementMlp {
  readonly params: Map<string, tf.Variable>;
  private readonly act = activation('gelu_new');

  constructor(width: number, hidden: number, seed: number) {
    const variable = (make: () => tf.Tensor) => tf.tidy(() => tf.variable(make()));
    this.params = new Map([
      ['w1', variable(() => tf.randomNormal([width, hidden], 0, 1 / Math.sqrt(width), 'float32', seed + 1))],
      ['b1', variable(() => tf.zeros([hidden]))],
      ['w2', variable(() => tf.zeros([hidden, width]))],
      ['b2', variable(() => tf.zeros([width]))],
    ]);
  }

  apply(h: tf.Tensor): tf.Tensor {
    const p = (name: string) => this.params.get(name)!;
    const shape = h.shape;
    const rows = h.reshape([-1, shape[shape.length - 1]!]);
    const inner = this.act(tf.add(tf.matMul(rows, p('w1')), p('b1')));
    return tf.add(h, tf.add(tf.matMul(inner, p('w2')), p('b2')).reshape(shape));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** Trains the MLP on all calibration pairs (h_start → h_end) with AdamW on their mean squared error. */
async function fitMlp(
  modelDir: string,
  block: { start: number; end: number },
  spec: Extract<ReplacementSpec, { fit: 'mlp' }>,
  examples: readonly EncodedExample[],
  padId: number,
  seed: number,
): Promise<{ mlp: ReplacementMlp; tokens: number; finalMse: number }> {
  const inputs: Float32Array[] = [];
  const outputs: Float32Array[] = [];
  let tokens = 0;
  const { width } = await calibrate(modelDir, block, examples, padId, ({ hIn, hOut, count }) => {
    inputs.push(hIn);
    outputs.push(hOut);
    tokens += count;
  });
  const joined = (parts: Float32Array[]) => {
    const all = new Float32Array(tokens * width);
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    return tf.tensor2d(all, [tokens, width]);
  };
  const x = joined(inputs);
  const y = joined(outputs);
  const mlp = new ReplacementMlp(width, spec.hidden || width, seed);
  // Adam (no decay), a fixed rate, full-batch steps: the step every kind of training takes (train/step.ts)
  const steps = new TrainingSteps<null>(
    mlp.params,
    {
      optimizer: adamwSpec({ lr: spec.lr }),
      schedule: { kind: 'constant', warmupSteps: 0 },
      maxGradNorm: 0,
    },
    { totalSteps: spec.steps },
  );
  const fullBatch = [() => ({ loss: () => tf.mean(tf.square(tf.sub(mlp.apply(x), y))) as tf.Scalar })];
  let finalMse = NaN;
  try {
    for (let step = 0; step < spec.steps; step++) {
      steps.step(fullBatch, step, () => null);
      if (steps.due() || step === spec.steps - 1) finalMse = (await steps.read()).at(-1)?.loss ?? finalMse;
    }
  } finally {
    steps.dispose();
    tf.dispose([x, y]);
  }
  return { mlp, tokens, finalMse };
}

/** Fits the replacement `spec` of the block that `kept` removes from the model in `modelDir`. */
export async function fitReplacement(
  modelDir: string,
  kept: readonly number[],
  spec: ReplacementSpec,
  examples: readonly EncodedExample[],
  padId: number,
  seed: number,
): Promise<FittedReplacement> {
  const { numLayers } = (await readModelConfig(modelDir)).config;
  const block = removedBlock(kept, numLayers);
  if (typeof block === 'string') throw new LayercutError(`cannot replace a block: ${block}`);
  const below = block.start - 1;
  if (spec.fit === 'linear') {
    const { solution, tokens } = await fitLinear(modelDir, block, examples, padId);
    return {
      block,
      tokens,
      apply: (model) => foldIntoMlpOutput(model, below, solution),
      save: async () => undefined, // folded into the checkpoint itself
      dispose: () => undefined,
    };
  }
  const { mlp, tokens, finalMse } = await fitMlp(modelDir, block, spec, examples, padId, seed);
  return {
    block,
    tokens,
    apply: (model) => model.afterLayer.set(below, (h) => mlp.apply(h) as tf.Tensor3D),
    save: async (dir, model) => {
      const tensors: Parameters<typeof writeSafetensors>[1] = {};
      for (const [name, v] of mlp.params)
        tensors[`replacement.${name}`] = { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array };
      await writeSafetensors(path.join(dir, REPLACEMENT_FILE), tensors, {
        format: 'layercut',
        after_layer: String(model.info.keptLayers.indexOf(below)),
        formula: 'h + gelu_tanh(h @ w1 + b1) @ w2 + b2, applied to the output of layer after_layer',
      });
      await writeFile(
        path.join(dir, 'replacement.json'),
        `${JSON.stringify({ ...spec, block, after_layer: model.info.keptLayers.indexOf(below), tokens, final_mse: finalMse }, null, 2)}\n`,
      );
    },
    dispose: () => mlp.dispose(),
  };
}
