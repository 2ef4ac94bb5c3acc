/**
 * Layer selections as experiments write them (builders, or the text of grammar/layers.peggy)
 * → the `LayerSelection` of a run plan, checked against the model's depth when it is known.
 *
 * Equal selections get equal plans (and so equal run ids): indices are sorted, and a list
 * that is exactly the bottom k layers becomes `first k` (`'0..1'`, `keep([1, 0])` and
 * `keepFirst(2)` are one run). `drop`, `first … + last …` and open ranges (`'12..'`) need the depth.
 * Computed selections (`byInfluence`, `byAngularDistance`) stay rules in the plan: their
 * counts are checked against the depth here, their layers are chosen when the run starts.
 */
import { parse, SyntaxError as PeggySyntaxError } from '../../grammar/layers.generated.js';
import type { LayerRange, TextLayerRequest } from '../../grammar/layers-ast.js';
import {
  checkComputedSelection,
  DEFAULT_CALIBRATION,
  LayerSelectionError,
  resolveLayers,
  type ComputedLayerSelection,
  type LayerSelection,
} from '../models/selection.js';
import { oneLine, type InnerPosition } from './issues.js';
import { show } from './shape.js';

/**
 * A selection as written (layer text, as grammar/layers.peggy parses it, or a DSL builder),
 * before the depth is applied. The shapes of a layer selection, from the user to the run:
 *   Layers (dsl/layers.ts)           what an experiment writes: builders or layer text
 *   LayerRequest (here)              what it asks for, before the model's depth is known
 *   LayerSelection (models/selection.ts)  the model: the plan's canonical selection, in the run id
 *   kept layers (number[])           its original indices once the depth is known
 * and layerText (models/selection.ts) is the one way any of them is printed.
 */
export type LayerRequest =
  | TextLayerRequest
  /** Chosen from calibration data at run time. */
  | { kind: 'computed'; selection: ComputedLayerSelection };

/** A layer selection that cannot be read or does not fit the model; `inner` points into layer text. */
export class LayerIssue extends Error {
  constructor(
    message: string,
    readonly inner?: InnerPosition,
  ) {
    super(message);
  }
}

/** More layers than any model has: a range naming more, with the depth unknown, is refused, not expanded. */
export const MOST_LAYERS = 10_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isIndex = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** Layer text as messages quote it: in single quotes, on one line (control characters escaped), cut when long. */
function quoteLayerText(text: string): string {
  const escaped = JSON.stringify(text.slice(0, 81)).slice(1, -1).replaceAll('\\"', '"');
  return `'${escaped.length > 80 ? `${escaped.slice(0, 77)}...` : escaped}'`;
}

/** Parses layer text (grammar/layers.peggy); syntax errors become a LayerIssue pointing into the text. */
export function parseLayerText(text: string): LayerRequest {
  try {
    const { sublayers: _sublayers, ...request } = parse(text); // the sublayer part: sublayers.ts
    return request;
  } catch (error) {
    if (error instanceof PeggySyntaxError) {
      const { line, column, offset } = error.location.start;
      throw new LayerIssue(
        `cannot read layer selection ${quoteLayerText(text)}: ${error.message.replace(/\.$/, '')}` +
          ` (write e.g. 'first 2', 'last 2', '0..1', '0, 5, 7', 'drop 24..47' or 'all')`,
        { line, column, offset },
      );
    }
    throw error;
  }
}

/** Reads any layer value an experiment may hold: text, or a builder's object. */
export function readLayers(value: unknown): LayerRequest {
  if (typeof value === 'string') return parseLayerText(value);
  if (isRecord(value)) {
    switch (value['kind']) {
      case 'all':
        return { kind: 'all' };
      case 'first':
        if (isIndex(value['count'])) return { kind: 'first', count: value['count'] };
        throw new LayerIssue(
          `keepFirst needs a whole number of layers (0 or more), got ${show(value['count'])}`,
        );
      case 'indices': {
        const indices = value['indices'];
        if (Array.isArray(indices) && indices.every(isIndex)) {
          return { kind: 'keep', ranges: indices.map((i) => ({ from: i, to: i })) };
        }
        throw new LayerIssue(`keep needs a list of layer indices (0, 1, 2, …), got ${show(indices)}`);
      }
      case 'first-last': {
        const { first, last } = value;
        if (isIndex(first) && isIndex(last)) return { kind: 'ends', first, last };
        throw new LayerIssue(
          `keepFirstAndLast needs two whole numbers of layers, got keepFirstAndLast(${show(first)}, ${show(last)})`,
        );
      }
      case 'computed':
        return { kind: 'computed', selection: readComputed(value) };
      case 'sublayers': // dropSublayers(…, base): the layers are the base's (the drops: sublayers.ts)
        return readLayers(value['base'] ?? { kind: 'all' });
      case 'drop': {
        const { from, to } = value;
        if (isIndex(from) && (to === null || to === undefined || isIndex(to))) {
          return { kind: 'drop', ranges: [{ from, to: to ?? null }] };
        }
        throw new LayerIssue(`drop needs layer indices, got drop(${show(from)}, ${show(to)})`);
      }
    }
  }
  throw new LayerIssue(`${show(value)} is not a layer selection: ${numberHint(value) ?? anySelection}`);
}

const anySelection =
  'use keepFirst(k), keep([…]), drop(from, to), keepFirstAndLast(a, b), byInfluence({ keep }), ' +
  "byAngularDistance({ drop }) or text such as 'first 2'";

/** What a number (or list of numbers) written as layers most likely meant. */
function numberHint(value: unknown): string | undefined {
  if (typeof value === 'number')
    return `keepFirst(${value}) keeps the bottom ${value}; to sweep over depths write layers: [1, 2, 4].map(keepFirst)`;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'number'))
    return `keep(${JSON.stringify(value)}) keeps those layers; to sweep over depths write sweep(base, { layers: ${JSON.stringify(value)}.map(keepFirst) })`;
  return undefined;
}

/** A computed selection's object, with the default calibration filled in; counts are checked later. */
function readComputed(value: Record<string, unknown>): ComputedLayerSelection {
  const calibration = value['calibration'] ?? DEFAULT_CALIBRATION;
  if (!isRecord(calibration) || Object.keys(calibration).some((key) => key !== 'examples')) {
    throw new LayerIssue(`calibration must be { examples: number }, got ${show(calibration)}`);
  }
  const examples = (calibration['examples'] ?? DEFAULT_CALIBRATION.examples) as number;
  const count = (key: string) => value[key] as number;
  switch (value['by']) {
    case 'influence':
      return { kind: 'computed', by: 'influence', keep: count('keep'), calibration: { examples } };
    case 'angular-distance':
      return { kind: 'computed', by: 'angular-distance', drop: count('drop'), calibration: { examples } };
    default:
      throw new LayerIssue(
        `a computed selection is chosen by 'influence' or 'angular-distance', got ${show(value['by'])}: ` +
          'use byInfluence({ keep }) or byAngularDistance({ drop })',
      );
  }
}

/** True when the selection can only be resolved with the model's depth. */
export function needsDepth(request: LayerRequest): boolean {
  return (
    request.kind === 'drop' ||
    (request.kind === 'ends' && request.last > 0) ||
    (request.kind === 'keep' && request.ranges.some((r) => r.to === null))
  );
}

/**
 * The layers the ranges name, in order. With the depth known, a range reaching past the
 * model is refused at its first missing layer (`outside` throws) before anything is
 * expanded, so `0..4777777777777` costs nothing; offline, a range of more than MOST_LAYERS
 * layers is refused.
 */
function expandRanges(
  ranges: LayerRange[],
  depth: number | undefined,
  outside: (index: number) => never,
): number[] {
  const out: number[] = [];
  for (const { from, to } of ranges) {
    if (to !== null && to < from)
      throw new LayerIssue(`layer range ${from}..${to} runs backwards: write ${to}..${from}`);
    // offline, `to` is never null: open ranges need the depth (checked before)
    const last = to ?? depth! - 1;
    if (depth !== undefined && Math.max(from, last) >= depth) outside(Math.max(from, depth));
    if (depth === undefined && last - from + 1 > MOST_LAYERS) {
      throw new LayerIssue(
        `layer range ${from}..${to} names ${last - from + 1} layers, more than any model has (${MOST_LAYERS})`,
      );
    }
    for (let i = from; i <= last; i++) out.push(i);
  }
  return out;
}

/** `first k` when `indices` (sorted) are exactly 0..k-1, else the indices. */
function normalise(indices: number[]): LayerSelection {
  const sorted = [...indices].sort((a, b) => a - b);
  return sorted.every((index, i) => index === i) && sorted.length > 0
    ? { kind: 'first', count: sorted.length }
    : { kind: 'indices', indices: sorted };
}

export interface ResolvedLayers {
  selection: LayerSelection;
  /** The kept layers' original indices, when the depth is known. */
  kept?: number[];
}

/**
 * The run plan's selection for `request`, checked against `depth` when known (else only what
 * needs no depth is checked: the rest waits for the model's config.json at run time).
 */
export function resolveLayerRequest(
  request: LayerRequest,
  depth: number | undefined,
  modelName: string,
): ResolvedLayers {
  try {
    return resolveOrThrow(request, depth, modelName);
  } catch (error) {
    if (error instanceof LayerSelectionError) throw new LayerIssue(oneLine(error));
    throw error;
  }
}

/** resolveLayerRequest, except that the checks of src/models/selection.ts throw their LayerSelectionError. */
function resolveOrThrow(request: LayerRequest, depth: number | undefined, modelName: string): ResolvedLayers {
  let selection: LayerSelection;
  switch (request.kind) {
    case 'all':
      selection = { kind: 'all' };
      break;
    case 'first':
      selection = { kind: 'first', count: request.count };
      break;
    case 'ends': {
      const { first, last } = request;
      if (last === 0) {
        selection = { kind: 'first', count: first };
        break;
      }
      const text = first === 0 ? `last ${last}` : `first ${first} + last ${last}`;
      if (depth === undefined) {
        throw new LayerIssue(
          `'${text}' needs the depth of ${modelName}, which is not known offline: ` +
            'use keepFirst(k) or explicit indices, or put its config.json in the Hugging Face cache',
        );
      }
      if (first + last > depth) {
        throw new LayerIssue(
          `'${text}' names ${first + last} layers, but ${modelName} has ${depth}: ` +
            `first and last together may keep at most ${depth}`,
        );
      }
      const top = Array.from({ length: last }, (_, i) => depth - last + i);
      selection = normalise([...Array.from({ length: first }, (_, i) => i), ...top]);
      break;
    }
    case 'computed':
      checkComputedSelection(request.selection, depth, modelName);
      // chosen from data when the run starts: nothing is kept yet
      return { selection: request.selection };
    case 'keep':
    case 'drop': {
      if (depth === undefined && needsDepth(request)) {
        const what = request.kind === 'drop' ? 'drop' : 'an open range (n..)';
        throw new LayerIssue(
          `${what} needs the depth of ${modelName}, which is not known offline: ` +
            'use keepFirst(k) or explicit indices, or put its config.json in the Hugging Face cache',
        );
      }
      const outside = (index: number): never => {
        if (request.kind === 'drop') {
          throw new LayerIssue(
            `cannot drop layer ${index}: ${modelName} has ${depth} layers (0..${depth! - 1})`,
          );
        }
        resolveLayers({ kind: 'indices', indices: [index] }, depth!, modelName); // throws: it does not exist
        throw new Error(`layer ${index} was expected to lie outside the model`);
      };
      const listed = expandRanges(request.ranges, depth, outside);
      const seen = new Set<number>();
      for (const index of listed) {
        if (seen.has(index)) throw new LayerIssue(`layer ${index} is named twice in the selection`);
        seen.add(index);
      }
      selection =
        request.kind === 'keep'
          ? normalise(listed)
          : normalise(Array.from({ length: depth! }, (_, i) => i).filter((i) => !seen.has(i)));
      break;
    }
  }
  if (depth === undefined) return { selection };
  return { selection, kept: resolveLayers(selection, depth, modelName) };
}
