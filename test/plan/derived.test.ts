/**
 * Sweep axes, their command-line values and result columns come from the option declarations
 * (src/plan/options.ts): the lists users see are these, and an option added to a copy of a
 * declaration brings its axis, its command-line reading and its column with it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAxisOverrides } from '../../src/compile/axis-overrides.js';
import { axisNames, shortcuts } from '../../src/compile/expand.js';
import { columnsOf, shortcutAxes, type AxesOf } from '../../src/plan/derived.js';
import { dataOptions, scheduleOptions, trainOptions } from '../../src/plan/options.js';
import { described, integer, object, optional, tag, variants, withDefault } from '../../src/plan/schema.js';
import { PAPER_DEFAULTS } from '../../src/plan/types.js';
import { settingKeys } from '../../src/results/rows.js';

test('the axes, and the settings columns, are the ones users know, in their order', () => {
  assert.deepEqual(axisNames, [
    ...['model', 'layers', 'task', 'method', 'prompt', 'words', 'data', 'train', 'seed', 'backend'],
    ...['lr', 'optimizer', 'schedule', 'epochs', 'batchSize', 'trainPerClass'],
  ]);
  assert.deepEqual(
    shortcuts.map((axis) => `${axis.name}=${axis.path.join('.')}`),
    [
      'lr=train.optimizer.lr',
      'optimizer=train.optimizer',
      'schedule=train.schedule',
      'epochs=train.epochs',
      'batchSize=train.batchSize',
      'trainPerClass=data.trainPerClass',
    ],
  );
  assert.deepEqual(settingKeys, [
    ...['model', 'layers', 'keptLayers', 'task', 'method', 'template', 'scoring', 'labelWords', 'seed'],
    ...['optimizer', 'lr', 'weightDecay', 'schedule', 'warmupSteps', 'batchSize', 'gradientAccumulation'],
    ...['epochs', 'steps', 'maxGradNorm', 'evalEvery', 'earlyStopPatience', 'precision', 'adapters'],
    ...['replace', 'sublayers', 'freezeEmbeddings', 'freezeLayers', 'validation', 'demosPerClass'],
    ...['trainPerClass', 'test', 'maxLength', 'truncate', 'backend'],
  ]);
});

test('every shortcut axis is written on the command line as its option is declared', () => {
  const samples: Record<string, string> = {
    lr: '1e-4',
    optimizer: 'sgd',
    schedule: 'cosine',
    epochs: '3',
    batchSize: '8',
    trainPerClass: 'all',
  };
  assert.deepEqual(
    Object.keys(samples),
    shortcuts.map((axis) => axis.name),
  );
  assert.deepEqual(parseAxisOverrides(Object.entries(samples).map(([axis, value]) => `${axis}=${value}`)), {
    lr: [1e-4],
    optimizer: [{ kind: 'sgd' }],
    schedule: [{ kind: 'cosine' }],
    epochs: [3],
    batchSize: [8],
    trainPerClass: ['all'],
  });
});

/** The training options with two more: `seedOffset` (an axis) inside train, `floor` inside each schedule. */
const scheduleWithFloor = (kind: 'constant' | 'linear' | 'cosine') =>
  object(
    { what: 'schedule', notOne: () => 'not a schedule' },
    {
      ...scheduleOptions.cases[kind].shape,
      floor: described(withDefault(integer(0, 'floor'), 0), { axis: 'floor' }),
    },
  );
const moreTrain = object(
  { what: 'train', notOne: () => 'not train options' },
  {
    ...trainOptions.shape,
    schedule: described(
      withDefault(
        variants(
          { key: 'kind', notOne: () => 'not a schedule' },
          {
            constant: scheduleWithFloor('constant'),
            linear: scheduleWithFloor('linear'),
            cosine: scheduleWithFloor('cosine'),
          },
        ),
        { kind: 'constant', warmupSteps: 0, floor: 0 },
      ),
      { axis: 'schedule' },
    ),
    seedOffset: described(optional(integer(0, 'train.seedOffset')), { axis: 'seedOffset' }),
  },
);

test('an option declared with an axis is a sweep axis, set where it is, read from the command line', () => {
  const axes = shortcutAxes({ train: moreTrain, data: dataOptions });
  assert.deepEqual(
    axes.map((axis) => axis.name),
    ['lr', 'optimizer', 'schedule', 'floor', 'epochs', 'batchSize', 'seedOffset', 'trainPerClass'],
  );
  const floor = axes.find((axis) => axis.name === 'floor')!;
  assert.deepEqual(floor.path, ['train', 'schedule', 'floor']);
  // a run without a schedule gets floor inside the default one, the constant schedule
  assert.deepEqual(floor.blanks, [{}, { kind: 'constant' }]);
  const seedOffset = axes.find((axis) => axis.name === 'seedOffset')!;
  assert.deepEqual(seedOffset.path, ['train', 'seedOffset']);
  assert.equal(seedOffset.schema.fromText?.read('7'), 7);
  assert.throws(() => seedOffset.schema.fromText?.read('seven'), /'seven' is not a number/);
  // the DSL's type of the axes has them too (tsc checks this line: the keys are exact)
  const typed: Required<AxesOf<typeof moreTrain>> = {
    ...{ lr: 1e-4, optimizer: { kind: 'sgd', lr: 1 }, schedule: { kind: 'linear' } },
    ...{ epochs: 1, batchSize: 1, floor: 2, seedOffset: 3 },
  };
  assert.equal(Object.keys(typed).length, 7);
});

test('an option is a column named after it unless its declaration says otherwise', () => {
  const columns = columnsOf(moreTrain);
  assert.deepEqual(
    columns.map((column) => column.name),
    [
      ...['optimizer', 'lr', 'weightDecay', 'schedule', 'warmupSteps', 'floor', 'batchSize'],
      ...['gradientAccumulation', 'epochs', 'steps', 'maxGradNorm', 'evalEvery', 'earlyStopPatience'],
      ...['precision', 'adapters', 'replace', 'seedOffset'],
    ],
  );
  const cells = (train: unknown) => Object.fromEntries(columns.map((c) => [c.name, c.cell(train)]));
  const plan = {
    ...PAPER_DEFAULTS.train,
    schedule: { kind: 'cosine', warmupSteps: 5, floor: 1 },
    seedOffset: 4,
  };
  assert.deepEqual(cells(plan), {
    ...{ optimizer: 'adamw', lr: 5e-5, weightDecay: 0, schedule: 'cosine', warmupSteps: 5, floor: 1 },
    ...{ batchSize: 1, gradientAccumulation: 1, epochs: 50, steps: null, maxGradNorm: 0 },
    ...{ evalEvery: 'epoch', earlyStopPatience: 15, precision: 'fp32', adapters: 'none', replace: 'none' },
    seedOffset: 4,
  });
  // absent, the option's cell is null; declared `column: false`, it has none
  assert.equal(cells(PAPER_DEFAULTS.train)['seedOffset'], null);
  const hidden = object(
    { what: 'x', notOne: () => 'not x' },
    {
      kind: tag('x'),
      shown: withDefault(integer(0), 1),
      hidden: described(withDefault(integer(0), 2), { column: false }),
    },
  );
  assert.deepEqual(
    columnsOf(hidden).map((column) => column.name),
    ['shown'],
  );
});
