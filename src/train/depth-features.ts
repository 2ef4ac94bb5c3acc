/**
 * All depths in one pass, for the methods that freeze the model (linear-probe, and icl scored by
 * each label word's first token: a zero-shot / logit-lens reading). What such a run of the model
 * cut to its first k layers reads from an example is headInput(h_k) at the scored position, h_k
 * the residual stream after layer k; one forward pass of the uncut model gives it for every k.
 *
 * So a sweep over keepFirst(1..L) of such runs computes the features once: the first run of the
 * sweep makes them for every depth and keeps them (one entry: the model and examples of the last
 * sweep, replaced by the next), and each run then trains only its head on its depth's rows (or,
 * for icl, scores them with the LM head). Each run's result is what a separate run computes.
 */
import * as tf from '@tensorflow/tfjs';
import type { LanguageModel } from '../models/types.js';
import type { RunPlan } from '../plan/types.js';
import type { Verbalizer } from '../prompts/verbalizer.js';
import { batchOrder, disposeBatch, makeBatch, type EncodedExample } from './batching.js';
import { atPositions } from './objectives.js';
import { newClassHead, perLabel, type ClassScorer } from './scorers.js';

/** Whether a run can read its features from the shared pass. */
export function usesSharedDepthPass(plan: RunPlan, scoring: Verbalizer['scoring']): boolean {
  const frozen = plan.method.kind === 'linear-probe' || (plan.method.kind === 'icl' && scoring === 'first');
  const prefix = plan.layers.kind === 'first' || plan.layers.kind === 'all';
  return frozen && prefix && !plan.sublayers && !plan.train.adapters && !plan.train.replace;
}

/** An example's identity across runs (runs encode their examples afresh). */
const exampleKey = (example: EncodedExample): string => `${example.scorePosition}:${example.ids.join(',')}`;

/** Features of every example at every depth 0..L: features[d] [N, Dhead], rows by example. */
export class DepthFeatures {
  private constructor(
    readonly key: string,
    private readonly features: tf.Tensor2D[],
    private readonly rowOf: Map<string, number>,
  ) {}

  /** One forward pass of `model` (uncut) per batch of `examples`. */
  static async compute(
    key: string,
    model: LanguageModel,
    examples: readonly EncodedExample[],
    padId: number,
  ): Promise<DepthFeatures> {
    const rowOf = new Map<string, number>();
    const unique: EncodedExample[] = [];
    for (const example of examples) {
      const k = exampleKey(example);
      if (!rowOf.has(k)) {
        rowOf.set(k, unique.length);
        unique.push(example);
      }
    }
    const depths = model.info.layersAfter + 1;
    const parts: tf.Tensor2D[][] = Array.from({ length: depths }, () => []);
    const order: number[] = [];
    for (const indices of batchOrder(unique, 8, { bucket: true })) {
      const batch = makeBatch(
        indices.map((i) => unique[i]!),
        padId,
      );
      const perDepth = tf.tidy(() => {
        const states = model.forward(batch.inputIds, batch.attentionMask, {
          hiddenStates: true,
        }).hiddenStates!;
        return states.map((state) =>
          atPositions(model.headInput(state) as tf.Tensor3D, batch.scorePositions),
        ); // [B, Dhead] each
      });
      perDepth.forEach((rows, d) => parts[d]!.push(rows));
      order.push(...indices);
      disposeBatch(batch);
    }
    // rows back in example order
    const inverse = new Int32Array(order.length);
    order.forEach((exampleIndex, row) => (inverse[exampleIndex] = row));
    const features = parts.map((list) =>
      tf.tidy(() => tf.gather(tf.concat(list), tf.tensor1d(inverse, 'int32')) as tf.Tensor2D),
    );
    tf.dispose(parts.flat());
    return new DepthFeatures(key, features, rowOf);
  }

  /** Whether every one of `examples` has its rows here. */
  covers(examples: readonly EncodedExample[]): boolean {
    return examples.every((e) => this.rowOf.has(exampleKey(e)));
  }

  /** Features of `examples` at `depth`: [B, Dhead]. */
  rows(depth: number, examples: readonly EncodedExample[]): tf.Tensor2D {
    return tf.tidy(() => {
      const index = tf.tensor1d(
        examples.map((e) => this.rowOf.get(exampleKey(e))!),
        'int32',
      );
      return tf.gather(this.features[depth]!, index) as tf.Tensor2D;
    });
  }

  dispose(): void {
    tf.dispose(this.features);
  }
}

let shared: DepthFeatures | undefined;

/** The kept features under `key`, or those `compute` makes now (replacing the ones kept before). */
export async function sharedDepthFeatures(
  key: string,
  examples: readonly EncodedExample[],
  compute: () => Promise<DepthFeatures>,
): Promise<DepthFeatures> {
  if (shared?.key === key && shared.covers(examples)) return shared;
  shared?.dispose();
  shared = undefined;
  shared = await compute();
  return shared;
}

/** Disposes the kept features (tests, and callers that know no sibling run follows). */
export function releaseSharedDepthFeatures(): void {
  shared?.dispose();
  shared = undefined;
}

/**
 * The scorer of a frozen-model run at `depth` over shared features: linear-probe's new head
 * (initialised as makeScorer does), or icl's label-word scores through the LM head.
 */
export function depthScorer(
  features: DepthFeatures,
  depth: number,
  model: LanguageModel,
  plan: RunPlan,
  verbalizer: Verbalizer,
): ClassScorer {
  if (plan.method.kind === 'icl') {
    const wordIds = verbalizer.scoredIds.flatMap((words) => words.map((ids) => ids[0]!));
    const wordsPerLabel = verbalizer.scoredIds.map((words) => words.length);
    const tokenIds = tf.tensor1d(wordIds, 'int32');
    return {
      trainable: new Map(),
      head: new Map(),
      scores: (batch) =>
        tf.tidy(() => {
          const words = model.lmHead(features.rows(depth, batch.examples), tokenIds) as tf.Tensor2D; // [B, W]
          return perLabel(words, wordsPerLabel); // [B, C]
        }),
      dispose: () => tokenIds.dispose(),
    };
  }
  const weight = newClassHead(verbalizer.labels.length, model.headWidth, plan.seed);
  return {
    trainable: new Map([['score.weight', weight]]),
    head: new Map([['score.weight', weight]]),
    scores: (batch) =>
      tf.tidy(() => tf.matMul(features.rows(depth, batch.examples), weight, false, true) as tf.Tensor2D),
    dispose: () => weight.dispose(),
  };
}
