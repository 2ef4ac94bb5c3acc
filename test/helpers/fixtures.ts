/** Paths of the committed reference fixtures (made by test/fixtures/models/make_fixtures.py). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const fixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
export const modelFixture = (name: string): string => path.join(fixturesDir, 'models', name);

/** Decoder fixtures layercut's GPT-2 and OPT code must match. */
export const decoderFixtures = ['gpt2-tiny', 'gpt2-tiny-bf16', 'opt-tiny', 'opt-tiny-postln'];

/** Fixtures of the other families: Llama (grouped-query attention), BERT, RoBERTa. */
export const familyFixtures = ['llama-tiny-gqa', 'bert-tiny', 'roberta-tiny'];
