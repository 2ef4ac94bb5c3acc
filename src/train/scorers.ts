/**
 * How each method turns a batch into class scores [B, C], and which parameters it trains.
 *
 *   lm, icl       the LM head scores each label's words at the answer slot (first token; a
 *                 label with several words scores the log-sum-exp of its words)
 *   prompt-cls    a new linear head `score.weight` [C, D] on the hidden state at the answer slot
 *   cls           the raw text; the same new head on the last real token
 *   linear-probe  like cls, with the backbone frozen
 */
import * as tf from '@tensorflow/tfjs';
import { LayercutError } from '../errors.js';
import type { LanguageModel } from '../models/types.js';
import type { MethodSpec } from '../plan/types.js';
import type { Verbalizer } from '../prompts/verbalizer.js';
import type { Batch } from './batching.js';
import { atPositions } from './objectives.js';

export interface ClassScorer {
  /** Class logits [B, C]. */
  scores(batch: Batch): tf.Tensor2D;
  /** Parameters that training updates (backbone ones and the head's). */
  readonly trainable: Map<string, tf.Variable>;
  /** Parameters the method adds to the model (the classification head), by name. */
  readonly head: Map<string, tf.Variable>;
  dispose(): void;
}

/** Method names whose input is the prompt template (with an answer slot). */
export const promptMethods: ReadonlySet<MethodSpec['kind']> = new Set(['lm', 'prompt-cls', 'icl']);

/** Parameter names of the embeddings (token and position; tied LM heads go with them). */
const EMBEDDING = /(^|\.)(wte|wpe|embed_tokens|embed_positions|project_in)\.weight$/;
/** The original layer index in a parameter name ("h.3.…", "layers.3.…"). */
const LAYER_INDEX = /(?:^|\.)(?:h|layers)\.(\d+)\./;

function backboneTrainable(model: LanguageModel, method: MethodSpec): Map<string, tf.Variable> {
  const trainable = new Map<string, tf.Variable>();
  if (method.kind === 'linear-probe' || method.kind === 'icl') return trainable;
  const frozenLayers = new Set(method.freezeLayers);
  for (const [name, variable] of model.params) {
    if (method.freezeEmbeddings && EMBEDDING.test(name)) continue;
    const layer = LAYER_INDEX.exec(name);
    if (layer && frozenLayers.has(Number(layer[1]))) continue;
    trainable.set(name, variable);
  }
  return trainable;
}

/** Build the scorer of `method` over `model`. `seed` initialises a new head. */
export function makeScorer(model: LanguageModel, method: MethodSpec, verbalizer: Verbalizer, seed: number): ClassScorer {
  const trainable = backboneTrainable(model, method);
  const classes = verbalizer.labels.length;
  if (method.kind === 'lm' || method.kind === 'icl') {
    if (verbalizer.scoring !== 'first') {
      throw new LayercutError(
        `scoring '${verbalizer.scoring}' (multi-token label words) is not supported by the trainer yet`,
        "use scoring 'first' (each label word's first token), the paper's setting",
      );
    }
    // one row per (label, word): the first token of each word
    const wordIds = verbalizer.scoredIds.flatMap((words) => words.map((ids) => ids[0]!));
    const wordsPerLabel = verbalizer.scoredIds.map((words) => words.length);
    const tokenIds = tf.tensor1d(wordIds, 'int32');
    return {
      trainable,
      head: new Map(),
      scores: (batch) =>
        tf.tidy(() => {
          const { lastHidden } = model.forward(batch.inputIds, batch.attentionMask);
          const wordScores = model.lmHead(atPositions(lastHidden, batch.scorePositions), tokenIds) as tf.Tensor2D; // [B, W]
          if (wordScores.shape[1] === classes) return wordScores;
          const perLabel = tf.split(wordScores, wordsPerLabel, 1).map((s) => tf.logSumExp(s, 1, true));
          return tf.concat(perLabel, 1) as tf.Tensor2D; // [B, C]
        }),
      dispose: () => tokenIds.dispose(),
    };
  }
  // a new linear head on the hidden state at the scored position, as HF's `score` layer: [C, D]
  const width = model.headWidth;
  const weight = tf.tidy(() => tf.variable(tf.randomNormal([classes, width], 0, 0.02, 'float32', seed), true));
  const head = new Map([['score.weight', weight]]);
  trainable.set('score.weight', weight);
  return {
    trainable,
    head,
    scores: (batch) =>
      tf.tidy(() => {
        const { lastHidden } = model.forward(batch.inputIds, batch.attentionMask);
        const atSlot = atPositions(lastHidden, batch.scorePositions); // [B, D]
        return tf.matMul(atSlot, weight, false, true) as tf.Tensor2D; // [B, C]
      }),
    dispose: () => weight.dispose(),
  };
}
