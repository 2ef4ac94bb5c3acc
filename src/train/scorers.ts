/**
 * How each method turns a batch into class scores [B, C], and which parameters it trains.
 *
 *   lm, icl       the LM head scores each label's words at the answer slot: by their first
 *                 token, or (scoring 'sum' / 'mean') by the summed or mean log-probability of
 *                 all their tokens, each word appended to the prompt; a label with several
 *                 words scores the log-sum-exp of its words
 *   prompt-cls    a new linear head `score.weight` [C, D] on the hidden state at the answer slot
 *   cls           the raw text; the same new head on the last real token
 *   linear-probe  like cls, with the backbone frozen
 */
import * as tf from '@tensorflow/tfjs';
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

/** Parameter names of the embeddings (token and position; tied LM heads go with them). */
const EMBEDDING =
  /(^|\.)(wte|wpe|embed_tokens|embed_in|embed_positions|project_in|word_embeddings|position_embeddings|token_type_embeddings)\.weight$/;
/** The original layer index in a parameter name ("h.3.…", "layers.3.…", BERT's "layer.3.…"). */
const LAYER_INDEX = /(?:^|\.)(?:h|layers|layer)\.(\d+)\./;

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

/** Per label, the log-sum-exp of its words' scores: [B, W] → [B, C] (words in label order). */
export function perLabel(wordScores: tf.Tensor2D, wordsPerLabel: number[]): tf.Tensor2D {
  if (wordsPerLabel.every((n) => n === 1)) return wordScores;
  return tf.concat(
    tf.split(wordScores, wordsPerLabel, 1).map((s) => tf.logSumExp(s, 1, true)),
    1,
  ) as tf.Tensor2D;
}

/**
 * Multi-token label words: every word is appended to every prompt (one row per example and
 * word), and the word's tokens are scored by teacher forcing — log p(t_j | prompt, t_<j) read at
 * positions answer, answer+1, … — then summed ('sum') or averaged ('mean').
 */
function multiTokenScorer(
  model: LanguageModel,
  verbalizer: Verbalizer,
  trainable: Map<string, tf.Variable>,
): ClassScorer {
  const words = verbalizer.scoredIds.flat(); // W words, label-major
  const wordsPerLabel = verbalizer.scoredIds.map((list) => list.length);
  const mean = verbalizer.scoring === 'mean';
  return {
    trainable,
    head: new Map(),
    scores: (batch) =>
      tf.tidy(() => {
        const rows: number[][] = []; // one per (example, word): the prompt, then the word minus its last token
        const scored: { row: number; position: number; target: number; weight: number }[] = [];
        for (const example of batch.examples) {
          for (const word of words) {
            const row = rows.length;
            rows.push([...example.ids.slice(0, example.scorePosition + 1), ...word.slice(0, -1)]);
            const weight = mean ? 1 / word.length : 1;
            word.forEach((target, j) =>
              scored.push({ row, position: example.scorePosition + j, target, weight }),
            );
          }
        }
        const seq = Math.max(...rows.map((r) => r.length));
        const ids = new Int32Array(rows.length * seq);
        const mask = new Int32Array(rows.length * seq);
        rows.forEach((r, i) => {
          ids.set(r, i * seq);
          mask.fill(1, i * seq, i * seq + r.length);
        });
        const { lastHidden } = model.forward(
          tf.tensor2d(ids, [rows.length, seq], 'int32'),
          tf.tensor2d(mask, [rows.length, seq], 'int32'),
        ); // [R, T, D]
        const width = lastHidden.shape[2];
        const flatIndex = tf.tensor1d(
          scored.map((t) => t.row * seq + t.position),
          'int32',
        );
        const atTokens = tf.gather(lastHidden.reshape([rows.length * seq, width]), flatIndex); // [P, D]
        const logProbs = tf.logSoftmax(model.lmHead(atTokens) as tf.Tensor2D); // [P, V]
        const vocab = logProbs.shape[1];
        const targetIndex = tf.tensor1d(
          scored.map((t, p) => p * vocab + t.target),
          'int32',
        );
        const picked = tf.gather(logProbs.reshape([-1]), targetIndex).reshape([-1, 1]); // [P, 1]
        // [R, P]: token p's weight in its row's score (1 for 'sum', 1/n for 'mean')
        const weights = new Float32Array(rows.length * scored.length);
        scored.forEach((t, p) => (weights[t.row * scored.length + p] = t.weight));
        const rowScores = tf.matMul(tf.tensor2d(weights, [rows.length, scored.length]), picked); // [R, 1]
        return perLabel(rowScores.reshape([batch.size, words.length]) as tf.Tensor2D, wordsPerLabel);
      }),
    dispose: () => undefined,
  };
}

/** A new linear head on the hidden state at the scored position, as HF's `score` layer: [C, D]. */
export function newClassHead(classes: number, width: number, seed: number): tf.Variable {
  // seed + 1: tfjs treats a seed of 0 as no seed at all
  return tf.tidy(() => tf.variable(tf.randomNormal([classes, width], 0, 0.02, 'float32', seed + 1), true));
}

/**
 * Build the scorer of `method` over `model`. `seed` initialises a new head. `backbone`, when
 * given, is what trains of the model instead of its own weights (LoRA adapters).
 */
export function makeScorer(
  model: LanguageModel,
  method: MethodSpec,
  verbalizer: Verbalizer,
  seed: number,
  backbone?: ReadonlyMap<string, tf.Variable>,
): ClassScorer {
  const trainable = backbone ? new Map(backbone) : backboneTrainable(model, method);
  const classes = verbalizer.labels.length;
  if ((method.kind === 'lm' || method.kind === 'icl') && verbalizer.scoring !== 'first') {
    return multiTokenScorer(model, verbalizer, trainable);
  }
  if (method.kind === 'lm' || method.kind === 'icl') {
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
          const wordScores = model.lmHead(
            atPositions(lastHidden, batch.scorePositions),
            tokenIds,
          ) as tf.Tensor2D; // [B, W]
          return perLabel(wordScores, wordsPerLabel); // [B, C]
        }),
      dispose: () => tokenIds.dispose(),
    };
  }
  const weight = newClassHead(classes, model.headWidth, seed);
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
