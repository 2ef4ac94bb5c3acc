/**
 * What every `layercut <command>` shares: its options parsed by node:util parseArgs (a mistake
 * becomes a usage error pointing at --help), option values checked (counts, positive numbers,
 * one of a list, GPU lists), the experiment file it is given, how paths and compile errors are
 * shown.
 *
 *   export const planCommand = defineCommand('plan', {
 *     usage,
 *     positionals: true,
 *     options: { json: { type: 'boolean', default: false }, db: { type: 'string' } },
 *     async run({ values, positionals }) { … return ExitCode.ok; },
 *   });
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import type { Command } from '../cli.js';
import { formatIssue, type LocatedIssue } from '../compile/issues.js';
import { LayercutError } from '../errors.js';
import { backendNames } from '../runtime/backend-names.js';

/** parseArgs for `layercut <command>`: an unknown option or bad value is a LayercutError pointing at --help. */
export function parseOptions<T extends ParseArgsConfig>(
  command: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new LayercutError((error as Error).message, `see layercut ${command} --help`);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What `run` gets: the option values (typed from the declarations) and the positionals. */
export type ParsedArgs<O extends Options, P extends boolean> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: P }>
>;

/** A command: `options` (parseArgs declarations; `positionals: true` allows arguments) parsed, then `run`. */
export function defineCommand<const O extends Options, const P extends boolean = false>(
  name: string,
  spec: {
    usage: string;
    options: O;
    positionals?: P;
    run(parsed: ParsedArgs<O, P>): Promise<number>;
  },
): Command {
  return {
    usage: spec.usage,
    // async: a usage mistake rejects the promise, as every other error of the command does
    run: async (args) =>
      spec.run(
        parseOptions(name, {
          args,
          options: spec.options,
          allowPositionals: (spec.positionals ?? false) as P,
        }),
      ),
  };
}

/** The experiment files given (at least one), else a usage error showing `example`. */
export function experimentFiles(positionals: readonly string[], example: string): [string, ...string[]] {
  const [file, ...rest] = positionals;
  if (file === undefined) throw new LayercutError('no experiment file given', example);
  return [file, ...rest];
}

/** A whole number ≥ `least` from an option's text. */
export function parseCount(text: string, option: string, least: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < least) {
    throw new LayercutError(`${option} ${text}: expected a whole number ≥ ${least}`);
  }
  return value;
}

/** "0,1" → [0, 1] (`--gpus`). */
export function parseGpuList(text: string): number[] {
  const gpus = text.split(',').map((part) => parseCount(part.trim(), '--gpus', 0));
  if (new Set(gpus).size !== gpus.length) throw new LayercutError(`--gpus ${text}: a GPU is listed twice`);
  return gpus;
}

/** A finite number > 0 from an option's text (undefined when the option is not given). */
export function positiveNumber(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0) || !Number.isFinite(value))
    throw new LayercutError(`${option} must be a positive number, got '${text}'`);
  return value;
}

/** One of `allowed` (`fallback` when the option is not given). */
export function oneOf<T extends string>(
  text: string | undefined,
  option: string,
  allowed: readonly T[],
  fallback: T,
): T {
  if (text === undefined) return fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new LayercutError(`${option} must be one of ${allowed.join(', ')}; got '${text}'`);
}

/** The backends as `--backend NAME` lists them in a command's help: "auto | tensorflow | …" (`note` after auto). */
export function backendChoices(note = ''): string {
  const [auto, ...rest] = backendNames;
  return [`${auto}${note}`, ...rest].join(' | ');
}

/** A file as messages show it: relative to the working folder when inside it, else as it is. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}

/** Prints the compile errors among `issues` on stderr (file:line:col first); true when there were any. */
export function printErrors(issues: readonly LocatedIssue[]): boolean {
  const errors = issues.filter((issue) => issue.severity === 'error');
  for (const issue of errors) console.error(formatIssue(issue, shownPath));
  return errors.length > 0;
}
