/** Eight prompts of equal length for the gpt2-tiny fixture (vocabulary 99), labels alternating, and their verbalizer. */
import type { Verbalizer } from '../../src/prompts/verbalizer.js';
import type { EncodedExample } from '../../src/train/batching.js';

export const tinyPromptExamples: EncodedExample[] = Array.from({ length: 8 }, (_, i) => ({
  ids: [3 + i, 10 + i, 20 + i, 30 + i, 40 + i, 50 + i],
  scorePosition: 5,
  label: i % 2,
}));

/** Label 'a' scored by token 7, 'b' by token 42. */
export const tinyVerbalizer: Verbalizer = {
  labels: ['a', 'b'],
  scoring: 'first',
  words: [],
  scoredIds: [[[7]], [[42]]],
  issues: [],
};
