/**
 * Sweeps: many runs from one base experiment.
 *
 *   sweep(base, { layers: [1, 2].map(keepFirst), seed: [0, 42] })   // grid: 2 × 2 runs, first axis outermost
 *   sweep(base, zip({ task: [tasks.sst2, tasks.agnews], prompt: [p1, p2] }))   // pairs: 2 runs
 *   sweep(base, grid({ seed: [0, 1] }, zip({ … })))                 // a grid of parts
 *   concat(table2, ablation)                                        // one list after the other
 *   sweep(base, sample(20, { lr: lrs, layers: cuts, seed: seeds }, { seed: 0 }))  // 20 points of the grid, at random
 *
 * Axis values can depend on other choices: a function of the run chosen so far
 * (`lr: ({ method }) => method.kind === 'cls' ? [1e-4, 3e-4] : [5e-5]` sees the axes before
 * it), or `depth(model).map(keepFirst)`, known once the model's config.json is read.
 */
import type { ExperimentSettings, Experiment, Override } from './experiment.js';
import type { DepthList, Layers } from './layers.js';
import type { Method } from './methods.js';
import type { Model } from './models.js';
import type { Template, Verbalizer } from './prompts.js';
import type { AnyTask } from './tasks.js';
import type { AxesOf } from '../src/plan/derived.js';
import type { dataOptions, trainOptions } from '../src/plan/options.js';
import type { Backend, DataOptions, TrainOptions } from './training.js';

/** The run as chosen so far, with the defaults of the options a function axis most often reads. */
export interface CurrentRun extends ExperimentSettings {
  model: Model;
  task: AnyTask;
  method: Method;
  seed: number;
}

/** What a function axis learns about the current run's model. */
export interface ModelFacts {
  /** Number of layers of the current run's model (read from config.json; an error when unknown). */
  readonly depth: number;
}

/** An axis's values: a list, a function of the run chosen so far, or a list known once a model's depth is. */
export type AxisValues<V> =
  readonly V[] | ((current: CurrentRun, model: ModelFacts) => readonly V[]) | DepthList<V>;

/**
 * The shortcut axes: options inside `train` and `data` that a sweep sets by name (`lr`, the
 * learning rate of whichever optimizer the run has; `optimizer`, `schedule`, `epochs`,
 * `batchSize`, `trainPerClass`), as their declarations say (src/plan/options.ts).
 */
export type ShortcutAxes = AxesOf<typeof trainOptions> & AxesOf<typeof dataOptions>;

/** The options a sweep can vary: every experiment option, plus the shortcut axes. */
export interface SweepAxes extends ShortcutAxisValues {
  model?: AxisValues<Model>;
  layers?: AxisValues<Layers>;
  task?: AxisValues<AnyTask>;
  method?: AxisValues<Method>;
  prompt?: AxisValues<Template>;
  words?: AxisValues<Verbalizer>;
  /** Merged option by option into the experiment's data options. */
  data?: AxisValues<DataOptions>;
  /** Merged option by option into the experiment's training options. */
  train?: AxisValues<TrainOptions>;
  seed?: AxisValues<number>;
  backend?: AxisValues<Backend>;
}

type ShortcutAxisValues = { [K in keyof ShortcutAxes]?: AxisValues<ShortcutAxes[K]> };

export type AxisName = keyof SweepAxes;

/** Every combination of the parts' choices (the first part outermost). */
export interface Grid {
  readonly kind: 'grid';
  readonly parts: readonly AxesPart[];
}

/** The parts' choices side by side: the i-th run takes the i-th value of every axis (equal lengths). */
export interface Zip {
  readonly kind: 'zip';
  readonly parts: readonly AxesPart[];
}

/**
 * `count` points of the grid of `axes`, drawn at random without repeats from `seed` — the same
 * points for the same seed, in grid order, each with the id it has in the full grid.
 */
export interface Sample {
  readonly kind: 'sample';
  readonly count: number;
  readonly axes: AxesPart;
  readonly seed: number;
}

/** A plain object of axes is a grid of them (a zip of them inside `zip`). */
export type AxesPart = SweepAxes | Grid | Zip | Sample;

/** A sweep's name and tags, given to each of its runs (`name` replaces the base's; tags add up). Not part of run ids. */
export interface SweepLabels {
  readonly name?: string;
  readonly tags?: readonly string[];
}

/** `base` once for each choice of the axes. */
export interface Sweep extends SweepLabels {
  readonly kind: 'sweep';
  readonly base: RunSet;
  readonly axes: AxesPart;
}

/** Several run sets, one after the other. */
export interface Concat {
  readonly kind: 'concat';
  readonly items: readonly RunSet[];
}

/** Anything that stands for runs: one experiment, an override, a sweep, a concatenation. */
export type RunSet = Experiment | Override | Sweep | Concat;

/** `base` (an experiment or another sweep) once for every choice of `axes`; `labels` name and tag its runs. */
export function sweep(base: RunSet, axes: AxesPart, labels: SweepLabels = {}): Sweep {
  return { kind: 'sweep', base, axes, ...labels };
}

/** Every combination of the parts (the first outermost). */
export function grid(...parts: AxesPart[]): Grid {
  return { kind: 'grid', parts };
}

/** The parts side by side: `zip({ task: [a, b], prompt: [p, q] })` is (a, p), (b, q). */
export function zip(...parts: AxesPart[]): Zip {
  return { kind: 'zip', parts };
}

/**
 * `count` points of the grid of `axes` at random (without repeats; all of them when the grid
 * has no more), the same for the same `seed`: for spaces too big to run whole.
 */
export function sample(count: number, axes: AxesPart, options: { seed: number }): Sample {
  return { kind: 'sample', count, axes, seed: options.seed };
}

/** The runs of each item, one list after the other. */
export function concat(...items: RunSet[]): Concat {
  return { kind: 'concat', items };
}
