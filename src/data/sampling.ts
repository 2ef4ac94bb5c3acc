/**
 * Few-shot samples of a dataset, reproducibly from a seed.
 *
 * The paper's protocol (`paperSample`, the settings of "Label Words are Anchors"):
 *   1. shuffle the training split with the seed;
 *   2. its first 1000 examples are the validation set;
 *   3. from the rest, one demonstration per class: the first example of each class in
 *      shuffled order, listed in class order (prepended to inputs by the prompt builder);
 *   4. then 200 training examples per class (fewer when a class has fewer), in shuffled order;
 *   5. the test set is a seeded sample of min(1000, test split size) examples.
 * The seeds used are `PAPER_SEEDS`.
 *
 * `sampleFewShot` is the general form (k per class or n in total stratified, k demos per
 * class, any validation size, any test size). Both report class counts and overlaps between
 * the parts, by index and by identical text.
 */
import { promptMethods, type RunPlan } from '../plan/types.js';
import { DataError } from './errors.js';
import { randomStream, range, shuffled } from './random.js';
import type { TaskSpec } from './tasks.js';
import type { Dataset, Example } from './types.js';

/** The five seeds of the paper's runs. */
export const PAPER_SEEDS: readonly number[] = [0, 42, 421, 520, 1218];

export interface SampleOptions {
  seed: number;
  /** Validation examples carved first from the shuffled training split; default 0. */
  validation?: number;
  /** Demonstrations per class, taken next; default 0. */
  demosPerClass?: number;
  /**
   * Training examples from what is left: `{ perClass: k }` (fewer when a class has fewer),
   * `{ total: n }` stratified (class proportions of what is left), or `'all'` (default).
   */
  train?: { perClass: number } | { total: number } | 'all';
  /** Size of the seeded test subset, or `'all'` (default) for the whole test split. */
  test?: number | 'all';
}

/**
 * The sample a run draws: its seed and data protocol; demonstrations only for the prompt methods,
 * no training examples for in-context learning. The run (experiment/run.ts) and the compiler's prompt
 * checks both draw through this, so the checks see the inputs the run will.
 */
export function planSampleOptions(plan: Pick<RunPlan, 'seed' | 'data' | 'method'>): SampleOptions {
  return {
    seed: plan.seed,
    validation: plan.data.validation,
    demosPerClass: promptMethods.has(plan.method.kind) ? plan.data.demosPerClass : 0,
    train:
      plan.method.kind === 'icl'
        ? { perClass: 0 }
        : plan.data.trainPerClass === 'all'
          ? 'all'
          : { perClass: plan.data.trainPerClass },
    test: plan.data.test,
  };
}

/** The paper's protocol as `SampleOptions` (without the seed). */
export const PAPER_PROTOCOL = {
  validation: 1000,
  demosPerClass: 1,
  train: { perClass: 200 },
  test: 1000,
} as const satisfies Omit<SampleOptions, 'seed'>;

export type SamplePart = 'train' | 'validation' | 'demos' | 'test';
export type SamplePair =
  'train/validation' | 'train/demos' | 'validation/demos' | 'train/test' | 'validation/test' | 'demos/test';

export interface Overlap {
  /** Positions in the same source split shared by both parts (always 0 for a sound sampler). */
  index: number;
  /** Examples of the first part whose text also occurs in the second (duplicates in the data). */
  text: number;
}

export interface FewShotSample {
  task: TaskSpec;
  seed: number;
  train: Example[];
  validation: Example[];
  /** Demonstrations in class order (`demosPerClass` of class 0, then of class 1, …). */
  demos: Example[];
  test: Example[];
  /** Positions of each part: train/validation/demos in `dataset.train`, test in `dataset.test`. */
  indices: Record<SamplePart, number[]>;
  /** Examples per class (index = class) in each part. */
  classCounts: Record<SamplePart, number[]>;
  overlaps: Record<SamplePair, Overlap>;
}

function checkCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new DataError('too-small', `${name} must be a whole number ≥ 0, got ${value}`);
  }
}

/** Class quotas for `total` examples, proportional to `available` (largest remainders). */
function stratifiedQuotas(available: number[], total: number): number[] {
  const sum = available.reduce((a, b) => a + b, 0);
  const n = Math.min(total, sum);
  if (sum === 0) return available.map(() => 0);
  const exact = available.map((a) => (a * n) / sum);
  const quotas = exact.map(Math.floor);
  let left = n - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = range(available.length).sort(
    (a, b) => exact[b]! - quotas[b]! - (exact[a]! - quotas[a]!) || a - b,
  );
  for (const c of byRemainder) {
    if (left === 0) break;
    if (quotas[c]! < available[c]!) {
      quotas[c]!++;
      left--;
    }
  }
  return quotas;
}

function countClasses(examples: Example[], classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const e of examples) counts[e.label]!++;
  return counts;
}

function indexOverlap(a: number[], b: number[]): number {
  const set = new Set(b);
  return a.filter((i) => set.has(i)).length;
}

function textOverlap(a: Example[], b: Example[]): number {
  const set = new Set(b.map((e) => e.text));
  return a.filter((e) => set.has(e.text)).length;
}

/** A seeded few-shot sample of `dataset` (see the file comment for the order of steps). */
export function sampleFewShot(dataset: Dataset, options: SampleOptions): FewShotSample {
  const { task } = dataset;
  const classes = task.labels.length;
  const validationSize = options.validation ?? 0;
  const demosPerClass = options.demosPerClass ?? 0;
  const trainRule = options.train ?? 'all';
  const testRule = options.test ?? 'all';
  checkCount(validationSize, 'validation');
  checkCount(demosPerClass, 'demosPerClass');
  if (trainRule !== 'all')
    checkCount('perClass' in trainRule ? trainRule.perClass : trainRule.total, 'train');
  if (testRule !== 'all') checkCount(testRule, 'test');

  const n = dataset.train.length;
  const order = shuffled(range(n), randomStream(options.seed, 'train'));
  if (validationSize >= n && (demosPerClass > 0 || trainRule !== 'all')) {
    throw new DataError(
      'too-small',
      `task '${task.name}' has ${n} training examples: a validation set of ${validationSize} leaves none for demonstrations and training`,
      'use a smaller validation size',
    );
  }
  const validation = order.slice(0, validationSize);
  const rest = order.slice(validationSize);

  // Demonstrations: the first `demosPerClass` of each class in shuffled order, in class order.
  const demos: number[] = [];
  for (let c = 0; c < classes; c++) {
    const ofClass = rest.filter((i) => dataset.train[i]!.label === c).slice(0, demosPerClass);
    if (ofClass.length < demosPerClass) {
      throw new DataError(
        'too-small',
        `task '${task.name}': class '${task.labels[c]}' has ${ofClass.length} training examples after the validation set, fewer than ${demosPerClass} demonstration(s)`,
        'use fewer demonstrations per class or a smaller validation set',
      );
    }
    demos.push(...ofClass);
  }
  const demoSet = new Set(demos);
  const remaining = rest.filter((i) => !demoSet.has(i));

  // Training examples, in shuffled order.
  let train: number[];
  if (trainRule === 'all') train = remaining;
  else {
    const available = countClasses(
      remaining.map((i) => dataset.train[i]!),
      classes,
    );
    const quotas =
      'perClass' in trainRule
        ? available.map((a) => Math.min(a, trainRule.perClass))
        : stratifiedQuotas(available, trainRule.total);
    const taken = new Array<number>(classes).fill(0);
    train = [];
    for (const i of remaining) {
      const label = dataset.train[i]!.label;
      if (taken[label]! < quotas[label]!) {
        taken[label]!++;
        train.push(i);
      }
    }
  }

  // Test subset: seeded, listed in the test split's order.
  const testCount = testRule === 'all' ? dataset.test.length : Math.min(testRule, dataset.test.length);
  const test = shuffled(range(dataset.test.length), randomStream(options.seed, 'test'))
    .slice(0, testCount)
    .sort((a, b) => a - b);

  const parts = {
    train: train.map((i) => dataset.train[i]!),
    validation: validation.map((i) => dataset.train[i]!),
    demos: demos.map((i) => dataset.train[i]!),
    test: test.map((i) => dataset.test[i]!),
  };
  const sameSplit = dataset.train === dataset.test;
  const crossIndex = (a: number[], b: number[]): number => (sameSplit ? indexOverlap(a, b) : 0);
  return {
    task,
    seed: options.seed,
    ...parts,
    indices: { train, validation, demos, test },
    classCounts: {
      train: countClasses(parts.train, classes),
      validation: countClasses(parts.validation, classes),
      demos: countClasses(parts.demos, classes),
      test: countClasses(parts.test, classes),
    },
    overlaps: {
      'train/validation': {
        index: indexOverlap(train, validation),
        text: textOverlap(parts.train, parts.validation),
      },
      'train/demos': { index: indexOverlap(train, demos), text: textOverlap(parts.train, parts.demos) },
      'validation/demos': {
        index: indexOverlap(validation, demos),
        text: textOverlap(parts.validation, parts.demos),
      },
      'train/test': { index: crossIndex(train, test), text: textOverlap(parts.train, parts.test) },
      'validation/test': {
        index: crossIndex(validation, test),
        text: textOverlap(parts.validation, parts.test),
      },
      'demos/test': { index: crossIndex(demos, test), text: textOverlap(parts.demos, parts.test) },
    },
  };
}

/** The paper's protocol for one seed: 1000 validation, 1 demo per class, ≤200 per class, ≤1000 test. */
export function paperSample(dataset: Dataset, seed: number): FewShotSample {
  return sampleFewShot(dataset, { seed, ...PAPER_PROTOCOL });
}
