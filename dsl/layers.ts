/**
 * Which transformer layers a cut model keeps. Builders (`keepFirst(2)`, `keep([0, 5])`,
 * `drop(24, 47)`, `keepFirstAndLast(2, 1)`) or the text form of grammar/layers.peggy
 * (`"first 2"`, `"0..1"`, `"drop 24..47"`, `"first 2 + last 1"`), checked for shape by the type
 * checker and fully by the compiler. `byInfluence` and `byAngularDistance` choose the layers
 * from data when the run starts (the compiler checks their counts against the model's depth).
 */
import {
  DEFAULT_CALIBRATION,
  type ComputedLayerSelection,
  type LayerSelection,
} from '../src/models/selection.js';
import type { Model } from './models.js';

export type { CalibrationSpec, ComputedLayerSelection, LayerSelection } from '../src/models/selection.js';

/** Every layer except `from..to` (both included; `to` null: up to the last layer). Needs the model's depth. */
export interface DropLayers {
  kind: 'drop';
  from: number;
  to: number | null;
}

/** The bottom `first` and the top `last` layers. Needs the model's depth. */
export interface FirstAndLastLayers {
  kind: 'first-last';
  first: number;
  last: number;
}

/**
 * The text form (see grammar/layers.peggy): `'all'`, `'first 2'`, `'0..1'`, `'0, 2, 5..7'`,
 * `'12..'`, `'drop 24..47'`, `'first 2 + last 1'`, `'last 2'`. A lone number is not accepted
 * (layer 2, or the first 2?).
 */
export type LayerText =
  | 'all'
  | `first ${number}`
  | `first ${number} + last ${number}`
  | `last ${number}`
  | `drop ${number}${string}`
  | `${number}..${string}`
  | `${number},${string}`
  | `drop attn ${string}`
  | `drop mlp ${string}`
  | `${string}; drop attn ${string}`
  | `${string}; drop mlp ${string}`;

/**
 * `base` without the attention and/or MLP sublayers of some layers (pre-norm families: GPT-2,
 * OPT, Llama and the Llama-like, GPT-NeoX). The text form says the same: `'drop attn 10..20'`, `'first 12; drop mlp 3, 5'`.
 */
export interface SublayerSelection {
  kind: 'sublayers';
  base: Layers;
  attention: readonly number[];
  mlp: readonly number[];
}

/** A layer selection as an experiment may write it. */
export type Layers = LayerSelection | DropLayers | FirstAndLastLayers | SublayerSelection | LayerText;

/** Drops the attention and/or MLP sublayer of these layers (original indices) from `base` (default: every layer). */
export function dropSublayers(
  parts: { attention?: readonly number[]; mlp?: readonly number[] },
  base: Layers = { kind: 'all' },
): SublayerSelection {
  return { kind: 'sublayers', base, attention: [...(parts.attention ?? [])], mlp: [...(parts.mlp ?? [])] };
}

/** The bottom `count` layers (0..count-1): the paper's cut. */
export function keepFirst(count: number): LayerSelection {
  return { kind: 'first', count };
}

/** Exactly these layers, by original 0-based index. */
export function keep(indices: readonly number[]): LayerSelection {
  return { kind: 'indices', indices: [...indices] };
}

/** Every layer: the full model. */
export function keepAll(): LayerSelection {
  return { kind: 'all' };
}

/** Every layer except `from..to` (both included); `drop(24)` drops 24 and up. */
export function drop(from: number, to?: number): DropLayers {
  return { kind: 'drop', from, to: to ?? null };
}

/**
 * The bottom `first` and the top `last` layers: `keepFirstAndLast(2, 1)` keeps 0, 1 and the
 * last layer (the text `'first 2 + last 1'`).
 */
export function keepFirstAndLast(first: number, last: number): FirstAndLastLayers {
  return { kind: 'first-last', first, last };
}

/** Calibration examples, drawn with the run's seed from its task's training split (default 64). */
export interface CalibrationOptions {
  calibration?: { examples: number };
}

const calibrationOf = (options: CalibrationOptions) => ({
  examples: options.calibration?.examples ?? DEFAULT_CALIBRATION.examples,
});

/**
 * Keeps the `keep` layers of highest block influence (ShortGPT: 1 − cosine between a layer's
 * input and output, averaged over the real tokens of the calibration examples), in their order.
 */
export function byInfluence(options: { keep: number } & CalibrationOptions): ComputedLayerSelection {
  return { kind: 'computed', by: 'influence', keep: options.keep, calibration: calibrationOf(options) };
}

/**
 * Drops the block of `drop` consecutive layers whose input and output are closest in angular
 * distance at the last token of the calibration examples (Gromov et al.): d(ℓ, ℓ+drop) smallest.
 */
export function byAngularDistance(options: { drop: number } & CalibrationOptions): ComputedLayerSelection {
  return {
    kind: 'computed',
    by: 'angular-distance',
    drop: options.drop,
    calibration: calibrationOf(options),
  };
}

/** One step of a `DepthList`: a map or a filter over the values so far. */
export type DepthStep =
  | { op: 'map'; fn: (value: unknown, depth: number) => unknown }
  | { op: 'filter'; fn: (value: unknown, depth: number) => boolean };

/**
 * A list known once a model's depth is: `depth(model)` is 1, 2, …, depth;
 * `depth(model).map(keepFirst)` keeps 1, 2, …, all layers. The compiler reads config.json
 * (or its table of known configs) to resolve it; use it as a sweep axis.
 */
export interface DepthList<T> {
  readonly kind: 'depth-list';
  /** The model whose depth counts; absent: each run's own model. */
  readonly model?: Model;
  readonly steps: readonly DepthStep[];
  map<U>(fn: (value: T, depth: number) => U): DepthList<U>;
  filter(fn: (value: T, depth: number) => boolean): DepthList<T>;
}

function depthList<T>(model: Model | undefined, steps: readonly DepthStep[]): DepthList<T> {
  return {
    kind: 'depth-list',
    ...(model ? { model } : {}),
    steps,
    map: <U>(fn: (value: T, depth: number) => U) =>
      depthList<U>(model, [...steps, { op: 'map', fn: fn as (value: unknown, depth: number) => unknown }]),
    filter: (fn: (value: T, depth: number) => boolean) =>
      depthList<T>(model, [...steps, { op: 'filter', fn: fn as (value: unknown, depth: number) => boolean }]),
  };
}

/** 1, 2, …, the depth of `model` (or of each run's own model when none is given), lazily. */
export function depth(model?: Model): DepthList<number> {
  return depthList<number>(model, []);
}

/** The values of a depth list for a model with `layers` layers. */
export function resolveDepthList(list: Pick<DepthList<unknown>, 'steps'>, layers: number): unknown[] {
  let values: unknown[] = Array.from({ length: layers }, (_, i) => i + 1);
  for (const step of list.steps) {
    values =
      step.op === 'map' ? values.map((v) => step.fn(v, layers)) : values.filter((v) => step.fn(v, layers));
  }
  return values;
}
