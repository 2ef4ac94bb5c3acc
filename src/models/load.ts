/**
 * Loads a Hugging Face checkpoint directory (config.json + safetensors) as a layercut model,
 * reading from disk only the tensors of the layers kept.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import { openCheckpoint, type Checkpoint } from '../weights/safetensors.js';
import { bert } from './bert.js';
import { gemma } from './gemma.js';
import { gpt2 } from './gpt2.js';
import { gptNeox } from './gpt-neox.js';
import { llama } from './llama.js';
import { mistral } from './mistral.js';
import { opt } from './opt.js';
import { phi3 } from './phi3.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';
import { roberta } from './roberta.js';
import { keepAll, resolveLayers, type LayerSelection } from './selection.js';
import type { FamilyConfig, LanguageModel, ModelFamily } from './types.js';

/** The families layercut can load, one file each in src/models/. */
export const families: ModelFamily[] = [
  gpt2,
  opt,
  llama,
  qwen2,
  qwen3,
  mistral,
  phi3,
  gemma,
  gptNeox,
  bert,
  roberta,
] as ModelFamily[];

export class ModelLoadError extends LayercutError {
  override name = 'ModelLoadError';
}

export interface ModelConfigInfo {
  family: ModelFamily;
  config: FamilyConfig;
}

/** Reads and parses `dir/config.json` without touching any weights. */
export async function readModelConfig(dir: string): Promise<ModelConfigInfo> {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ModelLoadError(`no config.json in ${dir}`, 'point layercut at a Hugging Face model directory');
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new ModelLoadError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  return parseModelConfig(json, file);
}

/** config.json contents as family + config: its `model_type` picks the family; `where` names it in errors. */
export function parseModelConfig(json: Record<string, unknown>, where: string): ModelConfigInfo {
  const modelType = json['model_type'];
  const family = families.find((f) => typeof modelType === 'string' && f.modelTypes.includes(modelType));
  if (!family) {
    const known = families.flatMap((f) => f.modelTypes).join(', ');
    throw new ModelLoadError(
      `${where}: model_type ${JSON.stringify(modelType)} is not supported`,
      `layercut reads ${known}`,
    );
  }
  return { family, config: family.parseConfig(json) };
}

export interface LoadOptions {
  /** Which layers to keep (default: all). */
  layers?: LayerSelection;
  /** Called after each tensor is read. */
  onProgress?: (event: { tensor: string; loaded: number; total: number }) => void;
}

export interface LoadedModel {
  model: LanguageModel;
  /** Tensor bytes read from disk (headers excluded). */
  bytesRead: number;
  /** The checkpoint's key prefix ("transformer.", "model.decoder.", or ""). */
  keyPrefix: string;
}

/** Loads the model in `dir`, keeping only the selected layers. */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const { family, config } = await readModelConfig(dir);
  const keptLayers = resolveLayers(
    options.layers ?? keepAll,
    config.numLayers,
    path.basename(path.resolve(dir)),
  );
  const checkpoint = await openCheckpoint(dir);
  try {
    const keyPrefix = findPrefix(checkpoint, family, dir);
    const expected = family.expectedTensors(config, keptLayers);
    const params = new Map<string, tf.Variable>();
    let loaded = 0;
    try {
      for (const [name, shape] of expected) {
        const key = name.startsWith('lm_head.') ? name : keyPrefix + name;
        if (!checkpoint.has(key)) {
          throw new ModelLoadError(
            `${dir}: the checkpoint has no tensor '${key}', which config.json implies`,
          );
        }
        const info = checkpoint.info(key);
        if (!sameShape(info.shape, shape)) {
          throw new ModelLoadError(
            `${dir}: tensor '${key}' has shape [${info.shape}] but config.json implies [${shape}]`,
            'the config and the weights come from different models',
          );
        }
        const { data } = await checkpoint.readFloat32(key);
        const initial = tf.tensor(data, shape, 'float32');
        params.set(name, tf.variable(initial, true)); // the variable shares the data; drop the handle
        initial.dispose();
        options.onProgress?.({ tensor: key, loaded: ++loaded, total: expected.size });
      }
    } catch (error) {
      for (const variable of params.values()) variable.dispose();
      throw error;
    }
    return { model: family.build(config, keptLayers, params), bytesRead: checkpoint.bytesRead, keyPrefix };
  } finally {
    await checkpoint.close();
  }
}

function findPrefix(checkpoint: Checkpoint, family: ModelFamily, dir: string): string {
  const prefix = family.keyPrefixes.find((p) => checkpoint.has(p + family.probeTensor));
  if (prefix === undefined) {
    const tried = family.keyPrefixes.map((p) => `'${p}${family.probeTensor}'`).join(', ');
    throw new ModelLoadError(
      `${dir}: none of ${tried} is in the checkpoint`,
      'is config.json from the same model as the weights?',
    );
  }
  return prefix;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
