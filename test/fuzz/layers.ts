/**
 * Fuzz target: the layer-selection grammar (grammar/layers.peggy) as the compiler reads it —
 * `parseLayerText`, then `resolveLayerRequest` against several depths, and now and then the
 * whole compiler on an experiment holding the text.
 *
 * Refusals are `LayerIssue`s: the compiler turns exactly those into located compile errors
 * (a `CompileError`, a LayercutError), which the compiled sample checks. An accepted
 * selection must match an independent reading of the request (which layers it keeps, sorted,
 * distinct, inside the model), and its listing label must read back as the same selection.
 */
import { isDeepStrictEqual } from 'node:util';
import path from 'node:path';
import { builtin, experiment, tasks } from '../../dsl/index.js';
import { compileValues } from '../../src/compile/compile.js';
import {
  LayerIssue,
  MOST_LAYERS,
  parseLayerText,
  resolveLayerRequest,
  type LayerRequest,
  type ResolvedLayers,
} from '../../src/compile/layers.js';
import { ModelCatalog } from '../../src/compile/model-info.js';
import { layerText, resolveLayers, type LayerSelection } from '../../src/models/selection.js';
import { fixturesDir } from '../helpers/fixtures.js';
import { EXTREME_NUMBERS, grammarInput, mutateString } from './mutate.js';
import type { Rng } from './rng.js';
import { holds, rejection, shrinkString, showString, type FuzzTarget } from './target.js';

const CORPUS = [
  'all',
  'first 2',
  'first 0',
  'first 2 + last 1',
  ' first 0+last 3 ',
  'last 4',
  'last 0',
  '0..1',
  '0..0',
  '3..1',
  '0, 2, 5..7',
  '1,2,3',
  '12..',
  '0..\t2 , 4..',
  'drop 24..47',
  'drop 2..',
  'drop 0, 3',
  'drop 1..2, 3..',
];

const TOKENS = [
  'all',
  'first',
  'last',
  'drop',
  'first ',
  'last ',
  'drop ',
  ' + ',
  '+',
  ',',
  ', ',
  '..',
  '...',
  '.',
  ' ',
  '\t',
  '\n',
  '-',
  '0',
  '1',
  '2',
  '11',
  '47',
  '48',
  ...EXTREME_NUMBERS,
];

/** Depths resolved against: unknown (offline), none, tiny, and the paper's models. */
const DEPTHS = [undefined, 0, 1, 4, 12, 48];

/** The builtin model the compiled sample uses, and its depth. */
const COMPILED_MODEL = 'gpt2-tiny';
const COMPILED_DEPTH = 4;
/** Every how many inputs one goes through the whole compiler (about 2 ms each). */
const COMPILE_EVERY = 25;

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** `first k` when the sorted indices are exactly 0..k-1, else the indices (the plan's normal form). */
function normalForm(sorted: number[]): LayerSelection {
  return sorted.length > 0 && sorted.every((index, i) => index === i)
    ? { kind: 'first', count: sorted.length }
    : { kind: 'indices', indices: sorted };
}

/** What resolving `request` against `depth` must give, read independently of the product: null = refused. */
function expected(request: LayerRequest, depth: number | undefined): ResolvedLayers | null {
  const withKept = (selection: LayerSelection, kept: () => number[]): ResolvedLayers =>
    depth === undefined ? { selection } : { selection, kept: kept() };
  switch (request.kind) {
    case 'all':
      return withKept({ kind: 'all' }, () => range(0, depth!));
    case 'first':
      if (depth !== undefined && request.count > depth) return null;
      return withKept({ kind: 'first', count: request.count }, () => range(0, request.count));
    case 'ends': {
      const { first, last } = request;
      if (last === 0) return expected({ kind: 'first', count: first }, depth);
      if (depth === undefined || first + last > depth) return null;
      const kept = [...range(0, first), ...range(depth - last, last)];
      return { selection: normalForm(kept), kept };
    }
    case 'keep':
    case 'drop': {
      const open = request.ranges.some((r) => r.to === null);
      if (depth === undefined && (request.kind === 'drop' || open)) return null;
      const spans = request.ranges.map(({ from, to }) => [from, to ?? depth! - 1] as const);
      for (const [from, to] of spans) {
        if (to < from) return null;
        if (depth !== undefined && to >= depth) return null;
        if (depth === undefined && to - from + 1 > MOST_LAYERS) return null;
      }
      const sorted = [...spans].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < sorted.length; i++) if (sorted[i]![0] <= sorted[i - 1]![1]) return null;
      const listed = sorted.flatMap(([from, to]) => range(from, to - from + 1));
      if (request.kind === 'keep') return withKept(normalForm(listed), () => listed);
      const kept = range(0, depth!).filter((i) => !listed.includes(i));
      return { selection: normalForm(kept), kept };
    }
    case 'computed':
      throw new Error('layer text never makes a computed selection');
  }
}

const isLayerIssue = (error: unknown): error is LayerIssue => error instanceof LayerIssue;

function show(value: unknown): string {
  return JSON.stringify(value);
}

/** Every number of the request is one written in the text, exactly (no rounding past 2^53). */
function checkNumbers(text: string, request: LayerRequest): void {
  const written = new Set((text.match(/\d+/g) ?? []).map((digits) => BigInt(digits)));
  const numbers =
    request.kind === 'first'
      ? [request.count]
      : request.kind === 'ends'
        ? [request.first, request.last].filter((n, i) => i === 1 || n !== 0 || /first/.test(text))
        : request.kind === 'keep' || request.kind === 'drop'
          ? request.ranges.flatMap(({ from, to }) => (to === null ? [from] : [from, to]))
          : [];
  for (const n of numbers) {
    holds(
      Number.isSafeInteger(n) && written.has(BigInt(n)),
      'parsed a number not in the text',
      () => `${n} from ${show(text)}`,
    );
  }
}

/** Checks one resolution against the independent reading and the label round trip. */
function checkResolved(text: string, request: LayerRequest, depth: number | undefined): string {
  const want = expected(request, depth);
  const at = `depth ${depth}: ${show(request)}`;
  let got: ResolvedLayers;
  try {
    got = resolveLayerRequest(request, depth, 'the model');
  } catch (error) {
    const label = rejection(error, { accept: isLayerIssue, inputText: text });
    holds(
      want === null,
      'refused a valid selection',
      () => `${at} (${(error as Error).message}), expected ${show(want)}`,
    );
    return `resolve ${label}`;
  }
  holds(want !== null, 'accepted an invalid selection', () => `${at} as ${show(got)}`);
  holds(
    isDeepStrictEqual(got, want),
    'resolved to other layers',
    () => `${at} gave ${show(got)}, expected ${show(want)}`,
  );
  if (depth !== undefined) {
    const kept = resolveLayers(got.selection, depth);
    holds(
      isDeepStrictEqual(kept, got.kept),
      'selection and kept layers disagree',
      () => `${at}: ${show(kept)}`,
    );
  }
  // the listing label reads back as the same selection
  const label = layerText(got.selection);
  let again: ResolvedLayers;
  try {
    again = resolveLayerRequest(parseLayerText(label), depth, 'the model');
  } catch (error) {
    const none = got.selection.kind === 'indices' && got.selection.indices.length === 0;
    holds(
      none && isLayerIssue(error),
      'label does not read back',
      () => `${at}: ${show(label)}: ${String(error)}`,
    );
    return 'resolve accepted (the label of no layers, none, is not layer text)';
  }
  holds(
    isDeepStrictEqual(again, got),
    'label reads back as another selection',
    () => `${at}: ${show(label)} gave ${show(again)}`,
  );
  return 'resolve accepted';
}

let catalog: ModelCatalog | undefined;

/** Whether this input also goes through the compiler: about one in COMPILE_EVERY, fixed by the text. */
function sampled(text: string): boolean {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return (hash >>> 0) % COMPILE_EVERY === 0;
}

/** The whole compiler on an experiment with this layer text: never throws, and agrees with resolveLayerRequest. */
async function checkCompiled(text: string, request: LayerRequest | null): Promise<string> {
  catalog ??= new ModelCatalog({ hubCacheDir: path.join(fixturesDir, 'dsl', 'no-hub-cache') });
  const value = experiment({
    model: builtin(COMPILED_MODEL),
    task: tasks.spam,
    data: { maxLength: 32 },
    layers: text as never,
  });
  const result = await compileValues([{ name: 'run', value }], { catalog });
  const layerIssues = result.issues.filter((issue) => issue.path.at(-1) === 'layers');
  const others = result.issues.filter((issue) => issue.path.at(-1) !== 'layers');
  holds(others.length === 0, 'compile: issues outside layers', () => show(others));
  const want = request === null ? null : expected(request, COMPILED_DEPTH);
  if (want === null) {
    holds(layerIssues.length === 1 && result.runs.length === 0, 'compile: no layers error', () =>
      show(result.issues),
    );
    const message = layerIssues[0]!.message;
    holds(message.trim() !== '' && !message.includes('\n'), 'compile: layers error not on one line', () =>
      show(message),
    );
    return 'compile refused';
  }
  holds(layerIssues.length === 0 && result.runs.length === 1, 'compile: refused', () => show(result.issues));
  const run = result.runs[0]!;
  holds(isDeepStrictEqual(run.plan.layers, want.selection), 'compile: plan layers', () =>
    show(run.plan.layers),
  );
  holds(isDeepStrictEqual(run.keptLayers, want.kept), 'compile: kept layers', () => show(run.keptLayers));
  return 'compile accepted';
}

/** A layer index: mostly small, sometimes at a depth's edge, now and then extreme. */
function index(rng: Rng): string {
  if (rng.chance(0.8))
    return String(
      rng.pick([rng.below(6), rng.pick(DEPTHS.filter((d) => d !== undefined)) + rng.between(-1, 1)]),
    );
  return rng.pick(EXTREME_NUMBERS.filter((n) => /^\d+$/.test(n)));
}

/** Text the grammar should accept, of every form, spaced in every way it allows. */
function validText(rng: Rng): string {
  const gap = () => rng.pick(['', ' ', '  ', '\t']);
  const space = () => rng.pick([' ', '  ', '\t', ' \t']);
  const ranges = () =>
    Array.from({ length: 1 + rng.small(4) }, () => {
      const from = index(rng);
      return rng.pick([`${from}${gap()}..${gap()}${index(rng)}`, `${from}${gap()}..`, from]);
    }).join(`${gap()},${gap()}`);
  const form = rng.pick([
    () => 'all',
    () => `first${space()}${index(rng)}`,
    () => `first${space()}${index(rng)}${gap()}+${gap()}last${space()}${index(rng)}`,
    () => `last${space()}${index(rng)}`,
    ranges,
    () => `drop${space()}${ranges()}`,
  ]);
  return `${gap()}${form()}${gap()}`;
}

export const layersTarget: FuzzTarget<string> = {
  name: 'layers',
  async setup() {
    await checkCompiled('first 1', parseLayerText('first 1')); // loads the compiler before the clock runs
  },
  generate(rng) {
    const roll = rng.below(10);
    if (roll < 4) return validText(rng);
    if (roll < 5) return mutateString(rng, validText(rng), TOKENS, CORPUS);
    return grammarInput(rng, TOKENS, CORPUS);
  },
  async check(text) {
    const outcomes: string[] = [];
    let request: LayerRequest | null = null;
    try {
      request = parseLayerText(text);
      outcomes.push(`parsed ${request.kind}`);
    } catch (error) {
      outcomes.push(`parse ${rejection(error, { accept: isLayerIssue, inputText: text })}`);
    }
    if (request) checkNumbers(text, request);
    if (request) for (const depth of DEPTHS) outcomes.push(checkResolved(text, request, depth));
    if (sampled(text)) outcomes.push(await checkCompiled(text, request));
    return outcomes;
  },
  shrink: shrinkString,
  show: showString,
};
