/**
 * Saves a (cut, possibly fine-tuned) model as a Hugging Face directory: config.json with the new
 * layer count (and per-layer settings such as layer_types cut with the layers), model.safetensors with the layers renumbered 0..k−1 under the key prefix that
 * `save_pretrained` writes, and the tokenizer files of the source. layercut and `transformers`
 * both load it back.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { writeSafetensors, type WritableTensor } from '../weights/safetensors.js';
import { families } from './load.js';
import type { LanguageModel } from './types.js';

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
];

export interface SaveOptions {
  /** The directory the model was loaded from: its config.json and tokenizer files are carried over. */
  sourceDir: string;
  /** Extra tensors saved at the root, e.g. a classification head `score.weight`. */
  extraTensors?: Map<string, tf.Variable | tf.Tensor>;
  /** Recorded under config.json's "layercut" key (method, labels, …). */
  metadata?: Record<string, unknown>;
  /** Stored precision of the weights (default F32; F16 halves the file, values rounded to nearest). */
  dtype?: 'F32' | 'F16';
}

export async function saveModel(model: LanguageModel, dir: string, options: SaveOptions): Promise<void> {
  const family = families.find((f) => f.modelTypes.includes(model.info.config.modelType));
  if (!family) throw new LayercutError(`cannot save a model of type '${model.info.config.modelType}'`);
  const kept = model.info.keptLayers;
  const sourceConfig = JSON.parse(
    await readFile(path.join(options.sourceDir, 'config.json'), 'utf8'),
  ) as Record<string, unknown>;
  const isPrefix = kept.every((layer, i) => layer === i);
  if (!isPrefix && sourceConfig['scale_attn_by_inverse_layer_idx'] === true) {
    throw new LayercutError(
      'cannot save this cut: the model scales attention by its layer index, which renumbering would change',
      'keep the first k layers, or set scale_attn_by_inverse_layer_idx false in config.json first',
    );
  }
  const newIndex = new Map(kept.map((layer, i) => [layer, i]));
  const tensors: Record<string, WritableTensor> = {};
  const addTensor = async (key: string, value: tf.Tensor) => {
    tensors[key] = {
      dtype: options.dtype ?? 'F32',
      shape: value.shape,
      data: (await value.data()) as Float32Array,
    };
  };
  for (const [name, variable] of model.params) {
    let renamed = name;
    for (const [original, index] of newIndex) {
      const from = family.layerPrefix(original);
      if (name.startsWith(from)) renamed = family.layerPrefix(index) + name.slice(from.length);
    }
    await addTensor(renamed.startsWith('lm_head.') ? renamed : family.savePrefix + renamed, variable);
  }
  for (const [name, value] of options.extraTensors ?? []) await addTensor(name, value);

  await mkdir(dir, { recursive: true });
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const layerTypes = sourceConfig['layer_types'];
  const config = {
    ...sourceConfig,
    ...(options.dtype === 'F16' ? { torch_dtype: 'float16' } : {}),
    [family.numLayersKey]: kept.length,
    // per-layer settings follow their layers
    ...(Array.isArray(layerTypes) ? { layer_types: kept.map((layer) => layerTypes[layer] as unknown) } : {}),
    ...family.savedConfig?.(sourceConfig, model.info.config, kept),
    layercut: { kept_layers: kept, layers_before: model.info.layersBefore, ...options.metadata },
  };
  await writeFile(path.join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const file of TOKENIZER_FILES) {
    const from = path.join(options.sourceDir, file);
    if (existsSync(from)) await copyFile(from, path.join(dir, file));
  }
}
