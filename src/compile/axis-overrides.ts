/**
 * Sweep axes from the command line: `layercut run file.ts seed=0,1 layers=1,2,4` runs every run
 * of the file once for each combination of these values (they replace what the file sets for
 * those options; repeated runs merge). Each value is turned into the DSL value the axis takes,
 * then compiled and checked exactly like an axis written in the file.
 *
 *   seed=0,1  epochs=3  batchSize=8  lr=1e-4,3e-4       numbers
 *   trainPerClass=32,all                                 numbers or `all`
 *   layers=1,2,4                                         a number k is keepFirst(k)
 *   layers='first 2;drop 3..5'                           layer text, `;` between values when they hold commas
 *   task=sst2,agnews  method=lm,cls  backend=wasm        names
 *   model=openai-community/gpt2,builtin:tiny-english     hub repositories, builtin:NAME, local:PATH (or ./PATH)
 *   optimizer=adamw  schedule=cosine                     names (defaults of the builder)
 *   prompt='Review: {text}\nSentiment:{label}'           template text (`\n` is a newline)
 *   data='{"maxLength":64}'  train='{"epochs":2}'        JSON objects
 */
import { LayercutError } from '../errors.js';
import { backendOption, dataOptions, methodNames, seedOption, trainOptions } from '../plan/options.js';
import type { FromText } from '../plan/schema.js';
import { axisNames, shortcuts } from './expand.js';

/** Axis name → its values, as DSL values (a plain sweep's axes). */
export type AxisOverrides = Record<string, unknown[]>;

/** Each method by its name and its builder's (`prompt-cls`, `promptCls`). */
const methodByName = new Map(
  methodNames.flatMap((kind) => [
    [kind, kind],
    [kind.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase()), kind],
  ]),
);
const methodList = `${methodNames.slice(0, -1).join(', ')} or ${methodNames.at(-1)}`;

/**
 * How the command line writes the experiment options that are axes; the shortcut axes (`lr`,
 * `epochs`, …) are written as their option's declaration says (src/plan/options.ts, `fromText`).
 */
const experimentText: Readonly<Record<string, FromText | undefined>> = {
  seed: seedOption.fromText,
  layers: { read: (text) => (/^\d+$/.test(text) ? { kind: 'first', count: Number(text) } : text) },
  // checked against the registry (fields and labels) by the compiler, like task('name')
  task: { read: (text) => text },
  method: {
    read(text) {
      const kind = methodByName.get(text);
      if (!kind) throw new Error(`'${text}' is not a method: ${methodList}`);
      return { kind };
    },
  },
  model: {
    read(text) {
      if (text.startsWith('builtin:')) return { kind: 'builtin', name: text.slice('builtin:'.length) };
      if (text.startsWith('local:')) return { kind: 'local', path: text.slice('local:'.length) };
      if (text.startsWith('.') || text.startsWith('/')) return { kind: 'local', path: text };
      return { kind: 'hub', repo: text.startsWith('hf:') ? text.slice('hf:'.length) : text };
    },
  },
  backend: backendOption.fromText,
  // label words: a verbalizer(task, …), which the command line cannot write
  words: undefined,
  prompt: { commas: true, read: (text) => text.replace(/\\n/g, '\n') },
  data: dataOptions.fromText,
  train: trainOptions.fromText,
};

function textOf(axis: string): FromText | undefined {
  return Object.hasOwn(experimentText, axis)
    ? experimentText[axis]
    : shortcuts.find((shortcut) => shortcut.name === axis)?.schema.fromText;
}

function usageError(text: string, axis?: string): LayercutError {
  return new LayercutError(
    axis ? `${axis}=…: ${text}` : text,
    `axes are written name=value,value… (the axes: ${axisNames.join(', ')})`,
  );
}

/** One command-line value as the DSL value of `axis`. */
function axisValue(axis: string, reader: FromText, text: string): unknown {
  try {
    return reader.read(text);
  } catch (error) {
    throw usageError((error as Error).message, axis);
  }
}

/** The values after `=`: `;`-separated when there is a `;` (or always, for values that may hold commas), else `,`-separated. */
function splitValues(reader: FromText, text: string): string[] {
  if (reader.commas) return text.includes(';') ? text.split(';') : [text];
  return text.split(text.includes(';') ? ';' : ',').map((value) => value.trim());
}

/**
 * `name=value,value…` arguments as sweep axes; anything else is a usage error. An unknown axis
 * names the axes there are.
 */
export function parseAxisOverrides(args: readonly string[]): AxisOverrides {
  const axes: AxisOverrides = {};
  for (const arg of args) {
    const equals = arg.indexOf('=');
    if (equals <= 0) {
      throw new LayercutError(
        `one file at a time, got '${arg}' after it`,
        'axis overrides are written name=value,value… (e.g. seed=0,1)',
      );
    }
    const axis = arg.slice(0, equals);
    if (!axisNames.includes(axis)) throw usageError(`unknown axis '${axis}'`);
    if (axis in axes) throw usageError(`given twice: write its values once, separated by commas`, axis);
    const reader = textOf(axis);
    if (!reader)
      throw usageError(`axis '${axis}' takes values the command line cannot write: set it in the file`, axis);
    const values = splitValues(reader, arg.slice(equals + 1));
    if (values.some((value) => value === '')) throw usageError('an empty value', axis);
    axes[axis] = values.map((value) => axisValue(axis, reader, value));
  }
  return axes;
}
