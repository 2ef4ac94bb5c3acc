/**
 * A tiny random GPT-2 with the real GPT-2 vocabulary and tokenizer, written with layercut's own
 * safetensors writer into a temporary folder, and a synthetic task that needs the input.
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { TaskSpec } from '../../src/data/tasks.js';
import type { Dataset, Example } from '../../src/data/types.js';
import { mulberry32 } from '../../src/data/random.js';
import { bert } from '../../src/models/bert.js';
import { gpt2 } from '../../src/models/gpt2.js';
import type { PromptBatch } from '../../src/train/objectives.js';
import { writeSafetensors, type WritableTensor } from '../../src/weights/safetensors.js';
import { loadModel } from '../../src/models/load.js';
import { variableGrads } from '../../src/runtime/gradients.js';
import { promptLmLoss } from '../../src/train/objectives.js';
import { AdamW } from '../../src/train/optimizers.js';
import { fixturesDir, modelFixture } from './fixtures.js';

export async function writeTinyGpt2(
  options: { layers?: number; width?: number; seed?: number } = {},
): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-tiny-gpt2-'));
  const config = {
    model_type: 'gpt2',
    n_embd: options.width ?? 32,
    n_layer: options.layers ?? 2,
    n_head: 2,
    n_positions: 128,
    vocab_size: 50257,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
  };
  const parsed = gpt2.parseConfig(config);
  const random = mulberry32(options.seed ?? 7);
  const tensors: Record<string, WritableTensor> = {};
  const layers = Array.from({ length: parsed.numLayers }, (_, i) => i);
  for (const [name, shape] of gpt2.expectedTensors(parsed, layers)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isGain = /ln_\d\.weight$|ln_f\.weight$/.test(name);
    const isBias = name.endsWith('.bias');
    for (let i = 0; i < data.length; i++) data[i] = isGain ? 1 : isBias ? 0 : (random.next() - 0.5) * 0.04;
    tensors[name] = { dtype: 'F32', shape, data };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    await copyFile(path.join(fixturesDir, 'tokenizers', 'gpt2', file), path.join(dir, file));
  }
  return dir;
}

/** "Does the text mention a fruit?" — random filler words, the class decided by one keyword. */
export const fruitTask: TaskSpec = {
  name: 'fruit',
  fields: ['text'],
  textField: 'text',
  labels: ['no', 'yes'],
  template: 'Text: {text}\nFruit:{label}',
  labelWords: { no: [' no'], yes: [' yes'] },
  source: { kind: 'files', train: 'synthetic', test: 'synthetic' },
  description: 'synthetic: is there a fruit word in the text?',
};

const FILLER = [
  'the',
  'car',
  'blue',
  'runs',
  'house',
  'quickly',
  'table',
  'green',
  'river',
  'stone',
  'old',
  'road',
];
const FRUIT = ['apple', 'banana', 'cherry', 'grape'];

/** Word lists: class 1 texts contain one `keywords` word among `filler` words. */
export interface KeywordWords {
  filler: readonly string[];
  keywords: readonly string[];
}

function fruitExamples(
  count: number,
  seed: number,
  words: KeywordWords = { filler: FILLER, keywords: FRUIT },
): Example[] {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]) => items[random.int(items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const label = i % 2;
    const picked = Array.from({ length: 5 }, () => pick(words.filler));
    if (label === 1) picked[random.int(picked.length)] = pick(words.keywords);
    const text = picked.join(' ');
    return { text, label, fields: { text } };
  });
}

export function fruitDataset(
  trainSize = 200,
  testSize = 100,
  words?: KeywordWords,
  task: TaskSpec = fruitTask,
): Dataset {
  return { task, train: fruitExamples(trainSize, 1, words), test: fruitExamples(testSize, 2, words) };
}

/** A tiny random BERT with the small WordPiece tokenizer of the fixtures (420 ids). */
export async function writeTinyBert(seed = 11): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'layercut-tiny-bert-'));
  const config = {
    model_type: 'bert',
    vocab_size: 420,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 64,
    type_vocab_size: 2,
    hidden_act: 'gelu',
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  };
  const parsed = bert.parseConfig(config);
  const random = mulberry32(seed);
  const tensors: Record<string, WritableTensor> = {};
  for (const [name, shape] of bert.expectedTensors(parsed, [0, 1])) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isGain = /LayerNorm\.weight$/.test(name);
    const isBias = name.endsWith('bias');
    for (let i = 0; i < data.length; i++) data[i] = isGain ? 1 : isBias ? 0 : (random.next() - 0.5) * 0.04;
    tensors[name] = { dtype: 'F32', shape, data };
  }
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  for (const file of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    await copyFile(path.join(fixturesDir, 'tokenizers', 'bert-wordpiece', file), path.join(dir, file));
  }
  return dir;
}

/**
 * Two prompts for the gpt2-tiny fixture's step tests, [2, 4] tokens (the second padded after
 * 3), answers at positions 3 and 2, labels 0 and 1, scored over label tokens 7 and 42. The
 * caller disposes the tensors: `tf.dispose([...Object.values(batch), labelTokenIds])`.
 */
export function twoPromptBatch(): { batch: PromptBatch; labelTokenIds: tf.Tensor1D } {
  return {
    batch: {
      inputIds: tf.tensor2d([5, 6, 7, 8, 9, 10, 11, 1], [2, 4], 'int32'),
      attentionMask: tf.tensor2d([1, 1, 1, 1, 1, 1, 1, 0], [2, 4], 'int32'),
      answerPositions: tf.tensor1d([3, 2], 'int32'),
      labels: tf.tensor1d([0, 1], 'int32'),
    },
    labelTokenIds: tf.tensor1d([7, 42], 'int32'),
  };
}

/**
 * AdamW training steps of the gpt2-tiny fixture on `twoPromptBatch` (weight decay 0.1): `step(lr)`
 * runs one and waits for its loss; `dispose()` frees the model, the optimizer and the batch.
 */
export async function tinyGpt2AdamWSteps(): Promise<{
  step: (lr: number) => Promise<void>;
  dispose: () => void;
}> {
  const { model } = await loadModel(modelFixture('gpt2-tiny'));
  const optimizer = new AdamW(model.params, { weightDecay: 0.1 });
  const variables = [...model.params.values()];
  const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const { batch, labelTokenIds } = twoPromptBatch();
  const step = async (lr: number) => {
    const { value, grads } = variableGrads(() => promptLmLoss(model, batch, labelTokenIds), variables);
    const named: tf.NamedTensorMap = {};
    for (const [varName, g] of Object.entries(grads)) named[nameOf.get(varName)!] = g;
    optimizer.step(named, lr);
    await value.data();
    tf.dispose([value, named]);
  };
  const dispose = () => {
    optimizer.dispose();
    model.dispose();
    tf.dispose([...Object.values(batch), labelTokenIds]);
  };
  return { step, dispose };
}
