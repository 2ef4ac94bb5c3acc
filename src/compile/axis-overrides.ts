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
import { axisNames } from './expand.js';

/** Axis name → its values, as DSL values (a plain sweep's axes). */
export type AxisOverrides = Record<string, unknown[]>;

const methodNames: Record<string, string> = {
  lm: 'lm',
  'prompt-cls': 'prompt-cls',
  promptCls: 'prompt-cls',
  cls: 'cls',
  icl: 'icl',
  'linear-probe': 'linear-probe',
  linearProbe: 'linear-probe',
};

function usageError(text: string, axis?: string): LayercutError {
  return new LayercutError(
    axis ? `${axis}=…: ${text}` : text,
    `axes are written name=value,value… (the axes: ${axisNames.join(', ')})`,
  );
}

function number(axis: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw usageError(`'${text}' is not a number`, axis);
  return value;
}

function json(axis: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`'${text}' is not JSON: ${(error as Error).message}`, axis);
  }
}

/** One command-line value as the DSL value of `axis`. */
function axisValue(axis: string, text: string): unknown {
  switch (axis) {
    case 'seed':
    case 'epochs':
    case 'batchSize':
    case 'lr':
      return number(axis, text);
    case 'trainPerClass':
      return text === 'all' ? 'all' : number(axis, text);
    case 'layers':
      return /^\d+$/.test(text) ? { kind: 'first', count: Number(text) } : text;
    case 'task':
      // checked against the registry (fields and labels) by the compiler, like task('name')
      return text;
    case 'method': {
      const kind = methodNames[text];
      if (!kind)
        throw usageError(`'${text}' is not a method: lm, prompt-cls, cls, icl or linear-probe`, axis);
      return { kind };
    }
    case 'model':
      if (text.startsWith('builtin:')) return { kind: 'builtin', name: text.slice('builtin:'.length) };
      if (text.startsWith('local:')) return { kind: 'local', path: text.slice('local:'.length) };
      if (text.startsWith('.') || text.startsWith('/')) return { kind: 'local', path: text };
      return { kind: 'hub', repo: text.startsWith('hf:') ? text.slice('hf:'.length) : text };
    case 'backend':
      return text;
    case 'optimizer':
      return { kind: text };
    case 'schedule':
      return { kind: text };
    case 'prompt':
      return text.replace(/\\n/g, '\n');
    case 'data':
    case 'train':
      return json(axis, text);
    default:
      throw usageError(`axis '${axis}' takes values the command line cannot write: set it in the file`, axis);
  }
}

/** The values after `=`: `;`-separated when there is a `;` (layer text and templates may hold commas), else `,`-separated. */
function splitValues(axis: string, text: string): string[] {
  if (axis === 'prompt' || axis === 'data' || axis === 'train')
    return text.includes(';') ? text.split(';') : [text];
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
    const values = splitValues(axis, arg.slice(equals + 1));
    if (values.some((value) => value === '')) throw usageError('an empty value', axis);
    axes[axis] = values.map((value) => axisValue(axis, value));
  }
  return axes;
}
