/**
 * Paths of the committed reference fixtures (made by test/fixtures/models/make_fixtures.py).
 *
 * Importing this module also makes the fixture models built-in models for this process and the
 * processes it starts (`builtin('gpt2-tiny')`, `builtin('opt-tiny')`, …): it puts
 * test/fixtures/models first in LAYERCUT_MODELS (src/env.ts). The package itself never looks
 * in test/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const modelFixture = (name: string): string => path.join(fixturesDir, 'models', name);

const fixtureModels = path.join(fixturesDir, 'models');
const models = (process.env['LAYERCUT_MODELS'] ?? '').split(path.delimiter).filter(Boolean);
if (!models.includes(fixtureModels)) {
  process.env['LAYERCUT_MODELS'] = [fixtureModels, ...models].join(path.delimiter);
}

/** Decoder fixtures layercut's GPT-2 and OPT code must match. */
export const decoderFixtures = ['gpt2-tiny', 'gpt2-tiny-bf16', 'opt-tiny', 'opt-tiny-postln'];

/** Fixtures of the families added for issue 19, each config exercising its options. */
export const newFamilyFixtures = [
  'qwen2-tiny',
  'qwen2-tiny-window',
  'qwen3-tiny',
  'qwen3-tiny-window',
  'mistral-tiny',
  'mistral-tiny-nowindow',
  'phi3-tiny',
  'phi3-tiny-partial',
  'phi3-tiny-longrope',
  'phi3-tiny-longrope-long',
  'gemma-tiny',
  'gemma-tiny-act',
  'gpt-neox-tiny',
  'gpt-neox-tiny-sequential',
  'llama3-tiny',
  'llama-tiny-linear',
  'llama-tiny-dynamic',
];

/** Fixtures of the other families: Llama (grouped-query attention), BERT, RoBERTa, and the new ones. */
export const familyFixtures = ['llama-tiny-gqa', 'bert-tiny', 'roberta-tiny', ...newFamilyFixtures];

/** The encoder (masked-LM) fixtures; every other fixture is a decoder. */
export const encoderFixtures = ['bert-tiny', 'roberta-tiny'];
