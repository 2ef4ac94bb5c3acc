/** The seeded sampling protocol: determinism, the paper's sizes, class order of demos, overlaps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DataError,
  PAPER_SEEDS,
  getTask,
  mulberry32,
  paperSample,
  randomStream,
  sampleFewShot,
  shuffled,
} from '../../src/data/index.js';
import type { Dataset, Example } from '../../src/data/index.js';

function example(text: string, label: number): Example {
  return { text, label, fields: { text } };
}

/** 3000 training examples in four classes of 1350, 900, 600 and 150; a test split of `testSize`. */
function syntheticAgnews(testSize = 1500): Dataset {
  const train = Array.from({ length: 3000 }, (_, i) => {
    const r = i % 20;
    return example(`train ${i}`, r === 3 ? 3 : r < 10 ? 0 : r < 16 ? 1 : 2);
  });
  const test = Array.from({ length: testSize }, (_, i) => example(`test ${i}`, i % 4));
  return { task: getTask('agnews'), train, test };
}

test('the generator and shuffle give fixed numbers on every machine', () => {
  const random = mulberry32(42);
  assert.deepEqual(
    [random.next(), random.next(), random.next()],
    [0.6011037519201636, 0.44829055899754167, 0.8524657934904099],
  );
  assert.deepEqual(
    shuffled([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], randomStream(42, 'train')),
    [2, 3, 0, 8, 4, 5, 1, 9, 7, 6],
  );
  assert.deepEqual(PAPER_SEEDS, [0, 42, 421, 520, 1218]);
});

test('paperSample is deterministic for a seed and differs between seeds', () => {
  const data = syntheticAgnews();
  const a = paperSample(data, 42);
  const b = paperSample(data, 42);
  assert.deepEqual(a.indices, b.indices);
  assert.deepEqual(a.indices.validation.slice(0, 5), [2700, 2641, 122, 252, 2800]);
  assert.deepEqual(a.indices.demos, [1381, 735, 1119, 1443]);
  assert.deepEqual(a.classCounts.train, [200, 200, 200, 90]);
  const validations = PAPER_SEEDS.map((seed) => paperSample(data, seed).indices.validation.join(','));
  assert.equal(new Set(validations).size, PAPER_SEEDS.length, 'each seed draws another validation set');
  assert.notDeepEqual(paperSample(data, 0).indices.test, paperSample(data, 1218).indices.test);
});

test("paperSample follows the paper's sizes and order", () => {
  const data = syntheticAgnews();
  for (const seed of PAPER_SEEDS) {
    const s = paperSample(data, seed);
    assert.equal(s.validation.length, 1000);
    // One demonstration per class, in class order: the first of its class after the validation set.
    assert.deepEqual(
      s.demos.map((e) => e.label),
      [0, 1, 2, 3],
    );
    const order = shuffled(
      Array.from({ length: 3000 }, (_, i) => i),
      randomStream(seed, 'train'),
    );
    const rest = order.slice(1000);
    assert.deepEqual(
      s.indices.demos,
      [0, 1, 2, 3].map((c) => rest.find((i) => data.train[i]!.label === c)),
    );
    // 200 per class, fewer for the small class (150 minus its validation share minus its demo).
    assert.deepEqual(s.classCounts.train, [200, 200, 200, 150 - s.classCounts.validation[3]! - 1]);
    // Training examples keep the shuffled order.
    const position = new Map(rest.map((i, p) => [i, p]));
    const positions = s.indices.train.map((i) => position.get(i)!);
    assert.deepEqual(
      positions,
      [...positions].sort((x, y) => x - y),
    );
    // Test: a seeded subset of 1000 distinct positions, in split order.
    assert.equal(s.test.length, 1000);
    assert.equal(new Set(s.indices.test).size, 1000);
    assert.deepEqual(
      s.indices.test,
      [...s.indices.test].sort((x, y) => x - y),
    );
    // No example in two parts.
    const all = [...s.indices.train, ...s.indices.validation, ...s.indices.demos];
    assert.equal(new Set(all).size, all.length);
    for (const overlap of Object.values(s.overlaps)) assert.deepEqual(overlap, { index: 0, text: 0 });
  }
  // A test split smaller than 1000 is used whole.
  assert.equal(paperSample(syntheticAgnews(872), 0).test.length, 872);
});

test('general sampling: k per class, n stratified, k demos per class, whole splits', () => {
  const data = syntheticAgnews(40);
  const perClass = sampleFewShot(data, {
    seed: 7,
    train: { perClass: 8 },
    demosPerClass: 2,
    validation: 100,
  });
  assert.deepEqual(perClass.classCounts.train, [8, 8, 8, 8]);
  assert.deepEqual(
    perClass.demos.map((e) => e.label),
    [0, 0, 1, 1, 2, 2, 3, 3],
  );
  assert.equal(perClass.validation.length, 100);
  assert.equal(perClass.test.length, 40);

  // Stratified: proportional to what is left (1350:900:600:150), by largest remainders.
  const stratified = sampleFewShot(data, { seed: 7, train: { total: 100 } });
  assert.deepEqual(stratified.classCounts.train, [45, 30, 20, 5]);
  const uneven = sampleFewShot(data, { seed: 7, train: { total: 7 } });
  assert.equal(uneven.train.length, 7);
  assert.deepEqual(uneven.classCounts.train, [3, 2, 2, 0]);

  const everything = sampleFewShot(data, { seed: 7 });
  assert.equal(everything.train.length, 3000);
  assert.equal(everything.test.length, 40);
});

test('overlaps by identical text and by index are reported', () => {
  const train = [example('same', 0), example('a', 1), example('b', 0), example('c', 1)];
  const test = [example('same', 0), example('x', 1)];
  const s = sampleFewShot({ task: getTask('sst2'), train, test }, { seed: 1 });
  assert.deepEqual(s.overlaps['train/test'], { index: 0, text: 1 });
  // Train and test given as the same array: shared positions count as index overlap.
  const same = sampleFewShot(
    { task: getTask('sst2'), train, test: train },
    { seed: 1, validation: 1, test: 'all' },
  );
  assert.deepEqual(same.overlaps['train/test'], { index: 3, text: 3 });
  assert.deepEqual(same.overlaps['validation/test'], { index: 1, text: 1 });
});

test('impossible samples are errors saying what to change', () => {
  const data = syntheticAgnews();
  assert.throws(
    () => sampleFewShot(data, { seed: 0, validation: 3000, demosPerClass: 1 }),
    (e: unknown) =>
      e instanceof DataError && e.kind === 'too-small' && e.message.includes('3000 training examples'),
  );
  const tiny: Dataset = { task: getTask('sst2'), train: [example('a', 0), example('b', 0)], test: [] };
  assert.throws(
    () => sampleFewShot(tiny, { seed: 0, demosPerClass: 1 }),
    (e: unknown) => e instanceof DataError && e.message.includes("class 'positive' has 0 training examples"),
  );
  assert.throws(() => sampleFewShot(data, { seed: 0, train: { perClass: -1 } }), DataError);
});
