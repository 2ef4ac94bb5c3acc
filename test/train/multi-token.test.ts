// Multi-token label words: 'sum' and 'mean' scores equal the log-probabilities of each word's
// tokens computed directly from the model's full logits (teacher forcing).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModel } from '../../src/models/load.js';
import { parseTemplate } from '../../src/prompts/template.js';
import { renderPrompt } from '../../src/prompts/render.js';
import { buildVerbalizer } from '../../src/prompts/verbalizer.js';
import { loadTokenizer } from '../../src/tokenizers/load.js';
import { disposeBatch, makeBatch } from '../../src/train/batching.js';
import { makeScorer } from '../../src/train/scorers.js';
import { PAPER_DEFAULTS } from '../../src/plan/types.js';
import { writeTinyGpt2 } from '../helpers/tiny-gpt2.js';

await tf.setBackend('cpu');

/** log p(word tokens | prompt) from the full logits, position by position, in plain JS. */
async function directLogProb(
  model: Awaited<ReturnType<typeof loadModel>>['model'],
  prompt: number[],
  word: number[],
): Promise<number> {
  const ids = [...prompt, ...word];
  const logits = model.logits(
    tf.tensor2d([ids], [1, ids.length], 'int32'),
    tf.ones([1, ids.length], 'int32') as tf.Tensor2D,
  );
  const rows = (await logits.array())[0]!;
  logits.dispose();
  let total = 0;
  word.forEach((token, j) => {
    const row = rows[prompt.length - 1 + j]!;
    const max = Math.max(...row);
    const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
    total += row[token]! - logZ;
  });
  return total;
}

for (const scoring of ['sum', 'mean'] as const) {
  it(`scoring '${scoring}' equals the words' log-probabilities by teacher forcing`, async () => {
    const dir = await writeTinyGpt2({ layers: 2 });
    const tokenizer = await loadTokenizer(dir);
    const { model } = await loadModel(dir);
    const template = parseTemplate('Question: {text}\nAnswer Type:{label}', { fields: ['text'] });
    const labelWords = { abbreviation: [' Abbreviation'], person: [' Person', ' human being'] };
    const verbalizer = buildVerbalizer({
      tokenizer,
      template,
      labels: ['abbreviation', 'person'],
      labelWords,
      scoring,
    });
    assert.equal(verbalizer.scoredIds[0]![0]!.length, 3); // ĠAb bre viation
    const texts = ['What does NASA stand for?', 'Who wrote Moby-Dick?'];
    const examples = texts.map((text, label) => {
      const rendered = renderPrompt(template, tokenizer, { fields: { text } });
      return { ids: rendered.ids, scorePosition: rendered.answerPosition, label };
    });
    const scorer = makeScorer(model, { ...PAPER_DEFAULTS.method, kind: 'lm' }, verbalizer, 0);
    const batch = makeBatch(examples, 50256);
    const scores = (await scorer.scores(batch).array()) as number[][];
    for (const [b, example] of examples.entries()) {
      for (const [c, words] of verbalizer.scoredIds.entries()) {
        const perWord: number[] = [];
        for (const word of words) {
          const logProb = await directLogProb(model, example.ids, word);
          perWord.push(scoring === 'mean' ? logProb / word.length : logProb);
        }
        const max = Math.max(...perWord);
        const expected = max + Math.log(perWord.reduce((s, v) => s + Math.exp(v - max), 0)); // log-sum-exp over words
        assert.ok(
          Math.abs(scores[b]![c]! - expected) < 1e-4,
          `example ${b}, class ${c}: ${scores[b]![c]} vs ${expected}`,
        );
      }
    }
    disposeBatch(batch);
    scorer.dispose();
    model.dispose();
  });
}
