/**
 * LoRA adapters on a loaded model ("LoRA: Low-Rank Adaptation of Large Language Models", Hu et al.
 * 2021), in PEFT's conventions, so that an adapter trained here loads in PEFT and back:
 *
 *   each targeted projection y = W x + b of a kept layer gets lora_A [r, in] and lora_B [out, r];
 *   y = W x + b + (alpha / r) · B A dropout(x); W, b and every other weight stay frozen.
 *   A starts as PEFT's (Kaiming-uniform, bound 1/√in), B at zero, so training starts from the model.
 *
 * Targets are module names matched at the end of each projection's path, as PEFT's
 * `target_modules` ('c_attn' matches h.3.attn.c_attn; 'c_proj' both of GPT-2's c_proj), or 'all'.
 * GPT-2 stores its projections as Conv1D [in, out] (PEFT's fan_in_fan_out); the adapter shapes
 * are the same either way.
 *
 *   saveLoraAdapter  adapter_config.json + adapter_model.safetensors, PEFT's keys
 *                    (base_model.model.transformer.h.0.attn.c_attn.lora_A.weight), layers renumbered
 *                    as saveModel renumbers them
 *   loadLoraWeights  reads such a file into attached adapters
 *   merge            W ← W + (alpha / r) · B A (transposed for Conv1D): a plain checkpoint again
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { LoraSpec } from '../plan/types.js';
import { openCheckpoint, writeSafetensors, type WritableTensor } from '../weights/safetensors.js';
import { families } from './load.js';
import { attachLoraPair, detachLoraPair, type LoraPair } from './projection-hooks.js';
import { layerProjections, selectProjections, weightLayout } from './lora-targets.js';
import type { LanguageModel, ModelFamily } from './types.js';

/** Families that are encoders (no causal-LM task type in PEFT's config). */
const ENCODER_FAMILIES = new Set(['bert', 'roberta']);

export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
export const ADAPTER_WEIGHTS_FILE = 'adapter_model.safetensors';

function familyOf(model: LanguageModel): ModelFamily {
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType));
  if (!family) throw new LayercutError(`no model family reads model_type '${model.info.config.modelType}'`);
  return family;
}

interface AdaptedProjection {
  /** Layer-relative path ('attn.c_attn'). */
  projection: string;
  /** Original index of its layer. */
  layer: number;
  /** The frozen weight's parameter name ('h.3.attn.c_attn.weight'). */
  weightName: string;
  weight: tf.Variable;
  pair: LoraPair;
}

/** Adapters attached to the projections of a model's kept layers. */
export class LoraAdapters {
  /** lora_A / lora_B of every adapted projection by name ('h.3.attn.c_attn.lora_A.weight'): what trains. */
  readonly params = new Map<string, tf.Variable>();
  private readonly adapted: AdaptedProjection[] = [];
  private readonly family: ModelFamily;
  private merged = false;

  /**
   * Attaches adapters to `model` (initialised from `seed`), skipping the layers in
   * `frozenLayers` (original indices) and the weights named in `frozenWeights` (dropped sublayers).
   */
  constructor(
    private readonly model: LanguageModel,
    readonly spec: LoraSpec,
    seed: number,
    frozenLayers: readonly number[] = [],
    frozenWeights: ReadonlySet<string> = new Set(),
  ) {
    this.family = familyOf(model);
    const { selected, unmatched } = selectProjections(layerProjections(this.family, model.info.config), spec.targets);
    if (unmatched.length > 0 || selected.length === 0) {
      throw new LayercutError(
        `LoRA target${unmatched.length > 1 ? 's' : ''} ${unmatched.map((t) => `'${t}'`).join(', ') || '(none)'} ${unmatched.length > 1 ? 'match' : 'matches'} no projection of ${model.info.family}`,
        `its projections are ${layerProjections(this.family, model.info.config).join(', ')}`,
      );
    }
    const scaling = spec.alpha / spec.rank;
    let dropoutCalls = 0;
    const nextSeed = () => seed * 1_000_003 + ++dropoutCalls;
    const fanInFanOut = weightLayout(model.info.config.modelType) === 'in-out';
    for (const layer of model.info.keptLayers) {
      if (frozenLayers.includes(layer)) continue;
      for (const projection of selected) {
        const module = `${this.family.layerPrefix(layer)}${projection}`;
        const weightName = `${module}.weight`;
        if (frozenWeights.has(weightName)) continue;
        const weight = model.params.get(weightName);
        if (!weight) throw new LayercutError(`internal: no parameter '${weightName}' to adapt`);
        const [inFeatures, outFeatures] = fanInFanOut ? weight.shape : [weight.shape[1]!, weight.shape[0]!];
        const index = this.adapted.length;
        const bound = 1 / Math.sqrt(inFeatures!);
        // seeds ≥ 1: tfjs takes a seed of 0 as none
        const [a, b] = tf.tidy(() => [
          tf.variable(tf.randomUniform([spec.rank, inFeatures!], -bound, bound, 'float32', seed * 7919 + index + 1)),
          tf.variable(tf.zeros([outFeatures!, spec.rank])),
        ]);
        const pair: LoraPair = { a, b, scaling, dropout: spec.dropout, nextSeed };
        attachLoraPair(weight, pair);
        this.params.set(`${module}.lora_A.weight`, a);
        this.params.set(`${module}.lora_B.weight`, b);
        this.adapted.push({ projection, layer, weightName, weight, pair });
      }
    }
  }

  /** Number of trainable adapter weights. */
  get size(): number {
    let total = 0;
    for (const v of this.params.values()) total += v.size;
    return total;
  }

  /** Folds every adapter into its weight (W ← W + s · B A) and detaches it: the model is plain again. */
  merge(): void {
    if (this.merged) throw new LayercutError('internal: these LoRA adapters are merged already');
    const fanInFanOut = weightLayout(this.model.info.config.modelType) === 'in-out';
    for (const { weight, pair } of this.adapted) {
      tf.tidy(() => {
        const delta = tf.mul(tf.matMul(pair.b, pair.a), pair.scaling); // [out, in]
        weight.assign(tf.add(weight, fanInFanOut ? tf.transpose(delta) : delta));
      });
      detachLoraPair(weight);
    }
    this.merged = true;
  }

  /** PEFT's name of an adapter tensor in the saved model (layers renumbered as saveModel renumbers them). */
  savedKey(name: string): string {
    const kept = this.model.info.keptLayers;
    let renamed = name;
    kept.forEach((original, index) => {
      const from = this.family.layerPrefix(original);
      if (name.startsWith(from)) renamed = this.family.layerPrefix(index) + name.slice(from.length);
    });
    return `base_model.model.${this.family.savePrefix}${renamed}`;
  }

  /** Writes adapter_config.json and adapter_model.safetensors (PEFT's layout) to `dir`. */
  async save(dir: string, options: { baseModel: string }): Promise<void> {
    const tensors: Record<string, WritableTensor> = {};
    for (const [name, variable] of this.params) {
      tensors[this.savedKey(name)] = {
        dtype: 'F32',
        shape: variable.shape,
        data: (await variable.data()) as Float32Array,
      };
    }
    const adaptedLayers = [...new Set(this.adapted.map((a) => a.layer))];
    const kept = this.model.info.keptLayers;
    const allLayers = adaptedLayers.length === kept.length;
    const spec = this.spec;
    const config = {
      peft_type: 'LORA',
      task_type: ENCODER_FAMILIES.has(this.model.info.family) ? null : 'CAUSAL_LM',
      base_model_name_or_path: options.baseModel,
      r: spec.rank,
      lora_alpha: spec.alpha,
      lora_dropout: spec.dropout,
      // sorted: PEFT keeps them as a set
      target_modules: (spec.targets === 'all'
        ? [...new Set(this.adapted.map((a) => a.projection))]
        : [...spec.targets]
      ).sort(),
      fan_in_fan_out: weightLayout(this.model.info.config.modelType) === 'in-out',
      bias: 'none',
      use_rslora: false,
      use_dora: false,
      init_lora_weights: true,
      inference_mode: true,
      modules_to_save: null,
      layers_to_transform: allLayers ? null : adaptedLayers.map((l) => kept.indexOf(l)),
      layers_pattern: null,
      rank_pattern: {},
      alpha_pattern: {},
      revision: null,
    };
    await mkdir(dir, { recursive: true });
    await writeSafetensors(path.join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: 'pt' });
    await writeFile(path.join(dir, ADAPTER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
  }

  /** Reads adapter weights saved in PEFT's layout (the same model, cut the same way) into these adapters. */
  async load(file: string): Promise<void> {
    const checkpoint = await openCheckpoint(file);
    try {
      for (const [name, variable] of this.params) {
        const key = this.savedKey(name);
        if (!checkpoint.has(key)) throw new LayercutError(`${file} has no tensor '${key}'`);
        const { data, shape } = await checkpoint.readFloat32(key);
        if (shape.join() !== variable.shape.join()) {
          throw new LayercutError(
            `${file}: '${key}' has shape [${shape}], the adapter [${variable.shape}]`,
            'load an adapter of the same rank and model',
          );
        }
        tf.tidy(() => variable.assign(tf.tensor(data, shape)));
      }
    } finally {
      await checkpoint.close();
    }
  }

  dispose(): void {
    if (!this.merged) for (const { weight } of this.adapted) detachLoraPair(weight);
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}
